# Self-supervised demo, step 1: dense MoCo v2 "pre-training" on scikit-learn's digits, labels
# unused: MMPretrain's MoCo (momentum encoder, queue, ContrastiveHead) on the demo's ResNet-18 of
# width 32 (CIFAR stem), the digits as 8 x 8 grey images repeated to RGB, and MoCo v2's own view
# pipeline shrunk to them (random resized crops and brightness / contrast jitter; no blur, flip or
# grey-scaling, which mean nothing or change the digit at 8 x 8). Its last checkpoint holds the
# pre-trained weights the search (step 2) and every fine-tuning (step 3) start from.
#   python tools/train.py configs/demo/selfsup/mocov2_digits_resnet18_w32.py
_base_ = ['mmpretrain::_base_/default_runtime.py']

custom_imports = dict(imports=['lth_mm'], allow_failed_imports=False)

model = dict(
    type='MoCo',
    queue_len=1024,
    feat_dim=64,
    momentum=0.01,
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3, to_rgb=False),
    backbone=dict(type='ResNet_CIFAR', depth=18, in_channels=3, stem_channels=32,
                  base_channels=32, num_stages=4, out_indices=(3, ), style='pytorch',
                  norm_cfg=dict(type='BN'), zero_init_residual=False),
    neck=dict(type='MoCoV2Neck', in_channels=256, hid_channels=256, out_channels=64,
              with_avg_pool=True),
    head=dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'), temperature=0.2))

view_pipeline = [
    dict(type='RandomResizedCrop', scale=8, crop_ratio_range=(0.3, 1.0)),
    dict(type='RandomApply', transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4)],
         prob=0.8),
]
train_pipeline = [
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64, num_workers=0, drop_last=True,  # the queue takes whole batches
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='Digits', split='train', channels=3, seed=0, pipeline=train_pipeline))

max_epochs = 30
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.06, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

# Two checkpoints: with one, a kill while mmengine writes the next leaves none to resume.
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
randomness = dict(seed=0, deterministic=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
