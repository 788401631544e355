# The paper's segmentation recipe (the original Segmentation/main_*.py on VainF's code): SGD lr
# 0.01, momentum 0.9, weight decay 1e-4, the backbone at 0.1x (lr 0.001), poly decay (power 0.9,
# floor 1e-6) over 30k iterations of batch 4 (one GPU). Under IMPHook this is ONE state (round):
# every round restarts the optimizer and the poly decay.
# Validation every 1000 iterations (the original validated every 100 and kept the best mIoU:
# --cfg-options train_cfg.val_interval=100 to select among as many checkpoints).
# MMSegmentation's own VOC schedules, mmseg::_base_/schedules/schedule_{20k,40k}.py (lr 0.01,
# weight decay 5e-4, no backbone multiplier, poly to 1e-4, 4 GPUs x 4 images), are used by the
# *-d8_voc12aug configs.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-6, power=0.9, begin=0, end=30000, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=30000, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# The batch is 4 in all: on N GPUs set train_dataloader.batch_size=4/N, or keep 4 per GPU and
# add --auto-scale-lr (linear scaling from 4 images).
auto_scale_lr = dict(enable=False, base_batch_size=4)
