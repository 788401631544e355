# Segmentation demo: the paper's segmenter (configs/segmentation: DeepLabv3+, output stride 16,
# layer1 as low-level features, the original recipe with the backbone at 0.1x the lr) shrunk to fit
# a 2-core machine, on digit canvases (lth_mm.datasets.digit_canvas: scikit-learn's handwritten
# digits, 1-2 per 64 x 64 image, 20-40 px high, random colours on a shaded, noisy background; 11
# classes: background and the ten digits) written in the Pascal VOC 2012 layout by
#   python -c "from lth_mm.datasets import write_voc_segmentation; \
#              write_voc_segmentation('data/digit_canvas_seg', train=800, val=200, \
#              canvas_size=(64, 64), digit_size=(20, 40), digits_per_image=(1, 2))"
# and read by MMSegmentation's own PascalVOCDataset (the digits under VOC's first 11 class names:
# it accepts only VOC's names) and IoUMetric (mIoU, aAcc, mAcc). Train on 'train', pick the best
# checkpoint on 'val' (unseen handwriting), as VOC.
#
# Dense fine-tuning: the backbone is the demo's ResNet-18 of width 32 with the torchvision stem
# (MMSegmentation's ResNet, deep_stem=False), pre-trained on digits classification by
# pretrain_digits_resnet18_w32.py and loaded whole (stem included) by MappedPretrained from
# work_dirs/demo_segmentation/pretrain/epoch_24.pth. The head is the paper's at the original's
# widths (ASPP 256 channels, low-level 48; a narrower head learns the digits' identities far more
# slowly), ASPP rates (1, 2, 3, 4) for the 4 x 4 features of a 64-px canvas at output stride 16.
# Normalisation: mean 120, std 65 put the canvases' dark background and bright digits near the -1
# and +1 the classifier saw for its black background and white ink (with mean 127.5, std 127.5 the
# pre-trained features do not recognise a digit on a canvas). Recipe: SGD lr 0.05 (backbone 0.005),
# poly over 500 iterations of 16 canvases, validation every 100.
#   python tools/train.py configs/demo/segmentation/deeplabv3plus_r18w32_digit_canvas.py
_base_ = [
    '../../segmentation/_base_/models/deeplabv3plus_r50-d16.py',
    '../../segmentation/_base_/schedules/voc12_bs4_30k.py',
    '../../segmentation/_base_/default_runtime.py'
]

pretrained = 'work_dirs/demo_segmentation/pretrain/epoch_24.pth'
crop_size = (64, 64)
data_preprocessor = dict(mean=[120, 120, 120], std=[65, 65, 65], size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        depth=18,
        stem_channels=32,
        base_channels=32,
        init_cfg=[
            dict(type='Kaiming', layer=['Conv2d']),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
            # step 1's mmengine checkpoint, read as plain data (its message hub included)
            dict(type='MappedPretrained', checkpoint=pretrained, skip=('fc', ))
        ]),
    decode_head=dict(
        in_channels=256,
        channels=256,
        c1_in_channels=32,
        c1_channels=48,
        dilations=(1, 2, 3, 4),
        num_classes=11))

# Data: no resizing, cropping or flipping (a mirrored digit is another shape); the generator
# gives the variety.
dataset_type = 'PascalVOCDataset'
data_root = 'data/digit_canvas_seg/VOCdevkit/VOC2012'
canvas = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    metainfo=dict(classes=('background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus',
                           'car', 'cat', 'chair', 'cow')))
pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(**canvas, ann_file='ImageSets/Segmentation/train.txt', pipeline=pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**canvas, ann_file='ImageSets/Segmentation/val.txt', pipeline=pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

max_iters = 500
optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-6, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=100)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=-1, save_last=False, save_best='mIoU', rule='greater'),
    visualization=dict(draw=False))
