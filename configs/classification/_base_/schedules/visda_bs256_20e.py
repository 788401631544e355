# The paper's VisDA-2017 recipe (main_imp_visda.py / main_eval_visda.py): SGD lr 1e-3, x0.1 after
# epoch 10, momentum 0.9, weight decay 5e-4, 20 epochs per state, batch 256 (4 GPUs x 64).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[10], gamma=0.1)]
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
