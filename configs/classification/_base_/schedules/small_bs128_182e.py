# The paper's recipe for the small datasets (main_imp_downstream.py): SGD lr 0.1, momentum 0.9,
# weight decay 2e-4, 182 epochs, lr x0.1 at epochs 91 and 136, a linear warm-up over the first
# epoch (per iteration, from ~0), batch 128 on one GPU. Under IMPHook this is ONE state (round):
# every round restarts the optimizer and this whole schedule, warm-up included.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=2e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[91, 136], gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=182, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
