# Pascal VOC as the paper: VOC2007 + VOC2012 trainval (16,551 images) for training, VOC2007 test
# (4,952 images) for validation and test, 416 x 416 inputs. MMDetection's voc0712 base
# (data/VOCdevkit/VOC{2007,2012}) with iteration-based sampling and the paper's metric.
_base_ = 'mmdet::_base_/datasets/voc0712.py'

img_scale = (416, 416)
# The original's augmentation (YOLOv4-pytorch utils/data_augment.py), in MMDetection transforms:
# horizontal flip, a random crop and a random translation (each half the time), then a letterbox
# to 416 x 416 (aspect kept, grey padding). Not reproduced: the original's MixUp of two images
# and its label smoothing (docs/detection.md, differences).
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        prob=0.5,
        transforms=[
            dict(
                type='MinIoURandomCrop',
                min_ious=(0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
                min_crop_size=0.3)
        ]),
    dict(
        type='RandomApply',
        prob=0.5,
        transforms=[
            dict(
                type='RandomAffine',
                max_rotate_degree=0.0,
                max_translate_ratio=0.1,
                scaling_ratio_range=(1.0, 1.0),
                max_shear_degree=0.0,
                border_val=(128, 128, 128))
        ]),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(128, 128, 128))),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(128, 128, 128))),
    # avoid bboxes being resized
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]

# Iteration-based training reads both trainval sets once per "epoch" (no RepeatDataset); boxes
# smaller than 32 px are kept, as the original trains on every non-difficult box.
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        ignore_keys=['dataset_type'],
        datasets=[
            dict(
                type={{_base_.dataset_type}},
                data_root={{_base_.data_root}},
                ann_file='VOC2007/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2007/'),
                filter_cfg=dict(filter_empty_gt=True, min_size=32),
                pipeline=train_pipeline,
                backend_args={{_base_.backend_args}}),
            dict(
                type={{_base_.dataset_type}},
                data_root={{_base_.data_root}},
                ann_file='VOC2012/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2012/'),
                filter_cfg=dict(filter_empty_gt=True, min_size=32),
                pipeline=train_pipeline,
                backend_args={{_base_.backend_args}})
        ]))
val_dataloader = dict(batch_size=8, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# The paper's numbers: AP averaged over IoU 0.50:0.05:0.95 (`pascal_voc/mAP`), AP50 and AP75
# (`pascal_voc/AP50`, `pascal_voc/AP75`), VOC2007's 11-point AP at each threshold. The
# thresholds are written out: np.linspace gives 0.8999... and a key AP89.
val_evaluator = dict(
    type='VOCMetric',
    metric='mAP',
    eval_mode='11points',
    iou_thrs=[0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
test_evaluator = val_evaluator
