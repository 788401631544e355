# The original's recipe (YOLOv4-pytorch config, "Resnet50-YOLOv4" on VOC): SGD lr 1e-4, momentum
# 0.9, weight decay 5e-4, batch 8 with gradients accumulated over 2 batches, 2 epochs of linear
# warm-up then cosine decay to 1e-6, 120 epochs. Counted in iterations, as MMDetection's
# iteration-based configs: an epoch of the 16,551 VOC07+12 trainval images at batch 8 is 2,069
# iterations. Under IMPHook this whole schedule is ONE round (warm-up included).
# MMDetection's own YOLOv3 recipe, for comparison: SGD lr 1e-3 (8 GPUs x 8 images), gradient
# clipping at 35, warm-up 2,000 iterations, lr x0.1 at epochs 218 and 246 of 273 (COCO).
iters_per_epoch = 2069
max_iters = 120 * iters_per_epoch
warmup_iters = 2 * iters_per_epoch
val_interval = 10 * iters_per_epoch

train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-4, momentum=0.9, weight_decay=5e-4),
    accumulative_counts=2)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=False,
        begin=0,
        end=warmup_iters),
    dict(
        type='CosineAnnealingLR',
        T_max=max_iters - warmup_iters,
        eta_min=1e-6,
        by_epoch=False,
        begin=warmup_iters,
        end=max_iters)
]
# base_batch_size = (1 GPU) x (8 samples per GPU) x (2 accumulated batches)
auto_scale_lr = dict(enable=False, base_batch_size=16)
