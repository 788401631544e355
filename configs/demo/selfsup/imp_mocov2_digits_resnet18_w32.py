# Self-supervised demo, step 2: IMP on the MoCo task itself, as the paper's MoCo tickets
# (configs/selfsup/mocov2/): the pre-trained weights of step 1 are pruned before any training,
# then a prune + rewind every round (4 rounds of 50 %, to 93.75 %), both encoders rewound to the
# pre-trained weights, the queue kept; backbone convs only (stem excluded); a constant lr.
# No validation: each round records its MoCo loss and keeps its last weights.
#   python tools/train.py configs/demo/selfsup/imp_mocov2_digits_resnet18_w32.py
_base_ = ['./mocov2_digits_resnet18_w32.py']

load_from = 'work_dirs/demo_selfsup/pretrain/epoch_30.pth'
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = []
train_cfg = dict(max_epochs=5)
custom_hooks = [
    dict(type='IMPHook', rounds=4, rate=0.5, rewind='pt_trans', train_dense_round=False,
         scope=dict(prefix='backbone.'), keep_prefixes=('queue', )),
]
