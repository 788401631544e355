# Detection demo: the detector of configs/detection, shrunk to fit a 2-core machine, on digit
# canvases (lth_mm.datasets.digit_canvas: scikit-learn's handwritten digits, 1-4 per 128 x 128
# image, 20-56 px high), written in the Pascal VOC layout under data/digit_canvas/ by
#   python -c "from lth_mm.datasets.digit_canvas import write_voc_detection; \
#              write_voc_detection('data/digit_canvas', trainval=800, test=400)"
# (`make demo-detection` writes them into its work dir and points data_root there) and read by
# MMDetection's own VOCDataset and VOCMetric (AP over IoU 0.50:0.95, AP50, AP75).
# Train on VOC2007 'train', pick the best checkpoint on 'val', report 'test' (unseen digits).
#
# Dense fine-tuning: the backbone is the demo's ResNet-18 of width 32 (configs/_base_/
# digits_resnet18_w32.py), pre-trained on digits classification (8 x 8 digits): step 1's
# MMEngine checkpoint, work_dirs/demo_detection/pretrain/epoch_12.pth, read by MappedPretrained
# (its stem, a 3x3 grey conv, is replaced by the detector's 7x7 RGB stem with its BN:
# skip=('conv1', 'bn1', 'fc')). allow_pickle: an MMEngine checkpoint holds its message hub's
# HistoryBuffer objects besides plain data, so reading it unpickles it in full, as load_from
# does; this file is the demo's own. The 4x downsampling of the stem shows layer1 a 32-px digit
# at 8 x 8, the size the classifier saw.
#   python tools/train.py configs/demo/detection/yolo_r18w32_digit_canvas.py
_base_ = [
    '../../detection/_base_/models/yolov3_r50.py',
    '../../detection/_base_/schedules/cosine_120e_voc0712.py',
    '../../detection/_base_/default_runtime.py'
]

pretrained = 'work_dirs/demo_detection/pretrain/epoch_12.pth'
# Anchors: 9 IoU k-means clusters of the canvases' boxes (width, height), small to large.
model = dict(
    data_preprocessor=dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5]),
    backbone=dict(
        depth=18,
        stem_channels=32,
        base_channels=32,
        init_cfg=[
            dict(type='Kaiming', layer=['Conv2d']),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
            # step 1's mmengine checkpoint, read as plain data (its message hub included)
            dict(type='MappedPretrained', checkpoint=pretrained, skip=('conv1', 'bn1', 'fc'))
        ]),
    neck=dict(in_channels=[256, 128, 64], out_channels=[128, 64, 32]),
    bbox_head=dict(
        num_classes=10,
        in_channels=[128, 64, 32],
        out_channels=[256, 128, 64],
        anchor_generator=dict(base_sizes=[[(29, 42), (27, 50), (35, 52)],
                                          [(19, 37), (24, 36), (22, 44)],
                                          [(13, 22), (16, 28), (20, 31)]])))

# Data: no flips (a mirrored digit is another shape); the generator gives the variety. MMDet's
# XMLDataset reads VOC's layout as VOCDataset does; VOCDataset would mark the set 'VOC2007', and
# VOCMetric would then print VOC's class names (aeroplane, bicycle, ...) for the digits.
dataset_type = 'XMLDataset'
data_root = 'data/digit_canvas/VOCdevkit/'
img_scale = (128, 128)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
voc2007 = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=dict(sub_data_root='VOC2007/'),
    metainfo=dict(classes=('0', '1', '2', '3', '4', '5', '6', '7', '8', '9')))
evaluation = dict(
    batch_size=32,
    num_workers=0,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False))
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        **voc2007,
        ann_file='VOC2007/ImageSets/Main/train.txt',
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    **evaluation,
    dataset=dict(
        **voc2007,
        ann_file='VOC2007/ImageSets/Main/val.txt',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    **evaluation,
    dataset=dict(
        **voc2007,
        ann_file='VOC2007/ImageSets/Main/test.txt',
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(
    type='VOCMetric',
    metric='mAP',
    eval_mode='11points',
    iou_thrs=[0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
test_evaluator = val_evaluator

# Schedule: the full configs' (linear warm-up, then cosine decay), shortened, with a larger lr
# than the original's 1e-4 (which needs 120 epochs), no accumulation and gradient clipping.
max_iters = 600
warmup_iters = 50
val_interval = 200
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
optim_wrapper = dict(
    optimizer=dict(lr=0.01),
    accumulative_counts=1,
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=False,
        begin=0,
        end=warmup_iters),
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters - warmup_iters,
        eta_min=1e-4,
        by_epoch=False,
        begin=warmup_iters,
        end=max_iters)
]
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(
        interval=val_interval,
        max_keep_ckpts=2,  # with 1, a kill while the next is written leaves none to resume
        save_best='pascal_voc/mAP',
        rule='greater'),
    visualization=dict(draw=False))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
