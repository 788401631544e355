# A small MMPretrain ResNet-18 (CIFAR stem, width 32) on scikit-learn's digits, all offline.
# This is the one-round schedule; configs/demo/*.py add lth_mm's hooks on top.
_base_ = ['mmpretrain::_base_/default_runtime.py']

custom_imports = dict(imports=['lth_mm'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, in_channels=1, stem_channels=32,
                  base_channels=32, num_stages=4, out_indices=(3, ), style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=256,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

data_preprocessor = dict(num_classes=10, mean=[127.5], std=[127.5], to_rgb=False)

dataset_type = 'Digits'
digits = dict(type=dataset_type, img_size=8, channels=1, seed=0)
train_pipeline = [dict(type='PackInputs')]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=64, num_workers=0,
    dataset=dict(**digits, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=256, num_workers=0,
    dataset=dict(**digits, split='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = dict(
    batch_size=256, num_workers=0,
    dataset=dict(**digits, split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

# The paper's small-dataset recipe, shortened: SGD 0.1 / 0.9 / 2e-4, one warm-up epoch,
# x0.1 at 50 % and 75 % of the round.
max_epochs = 12
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=2e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[6, 9], gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# Two checkpoints: mmengine deletes the oldest before it writes the next, so with one a kill
# during that write would leave nothing to resume from.
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
randomness = dict(seed=0, deterministic=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
