# The paper's ImageNet IMP state (main_imp_imagenet.py): 10 epochs of SGD at a constant lr 1e-4,
# momentum 0.9, weight decay 1e-4, batch 256 (8 GPUs x 32). No scheduler: the lr never changes.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1e-4, momentum=0.9, weight_decay=1e-4))
param_scheduler = []
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
