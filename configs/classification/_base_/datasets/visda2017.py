# VisDA-2017 classification (lth_mm's VisDA2017, 12 classes): train on the synthetic renderings of
# train/, validate on the real images of validation/ (data/visda2017/{train,validation}/ with their
# image_list.txt). The original code has no other test set, so test = validation.
# Pipelines of the original main_imp_visda.py / main_eval_visda.py: RandomResizedCrop 224 with
# area 0.75-1.33 + flip for training, a plain 224x224 resize for evaluation, ImageNet mean/std.
# 4 GPUs x 64 images = the batch of 256 of the original commands.
# Metrics: overall top-1 (the original's) and mean per-class accuracy (VisDA's usual metric,
# the macro mean of per-class recall): 'accuracy/top1' and 'single-label/recall'.
dataset_type = 'VisDA2017'
data_root = 'data/visda2017'
data_preprocessor = dict(
    num_classes=12,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.75, 1.33), backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(224, 224), backend='pillow'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=5,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=64,
    num_workers=5,
    dataset=dict(
        type=dataset_type, data_root=data_root, split='validation', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='SingleLabelMetric', items=('recall', ), average='macro'),
]
test_evaluator = val_evaluator
