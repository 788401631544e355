# IMP on the MoCo v2 pre-training task itself (the original MoCo/main_moco_imp.py): MMPretrain's
# MoCo v2 (ResNet-50, MLP neck, queue of 65,536 keys, 8 GPUs x 32) starts from the paper's
# checkpoints/moco_v2_800ep_pretrain.pth.tar: its encoder_q backbone and MLP head (fc.0 / fc.2)
# load into the online backbone and neck; the momentum encoder copies them at its first update
# (MoCo's `steps` is 0). The pre-trained weights are pruned before any training, then every 10
# epochs (18 prunings of 20 % of the surviving backbone convs, stem excluded, to 98.20 %), each
# round rewound to the pre-trained weights, at the original's constant lr 3e-4.
#   bash tools/dist_train.sh configs/selfsup/mocov2/imp_mocov2_resnet50_8xb32_in1k.py 8
# Tickets: work_dirs/imp_mocov2_resnet50_8xb32_in1k/imp/tickets/round_XX.safetensors (`backbone.`
# keys): transfer them with the classification, detection and segmentation transfer configs.
#
# The mask is computed on the online backbone and applied to the momentum encoder too
# (encoder_k.module.0.*): it holds exact zeros at pruned positions at every iteration. At a rewind
# both encoders restart from the pre-trained weights; the queue of negative keys is not rewound
# (keep_prefixes), as in the original: it refills with keys of the rewound encoder within
# queue_len / batch = 256 iterations. The optimizer state and the schedule restart each round.
# Other pre-trainings: checkpoints/moco.pt (encoder_q only, torchvision names: set it as the
# backbone's checkpoint and model.neck.init_cfg=None, the neck then starts at random), or the OpenMMLab zoo checkpoint of this config (set load_from=FILE and drop
# the init_cfg below: its keys are the model's own, momentum encoder and queue included).
_base_ = ['mmpretrain::mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py']

custom_imports = dict(imports=['lth_mm'], allow_failed_imports=False)

# mmengine tags every dict of an `mmpretrain::` base with `_scope_`; a collate function takes no
# such argument, so the base's collate_fn is set again here.
train_dataloader = dict(collate_fn=dict(_delete_=True, type='default_collate'))

pretrained = 'checkpoints/moco_v2_800ep_pretrain.pth.tar'
model = dict(
    backbone=dict(init_cfg=dict(type='MappedPretrained', checkpoint=pretrained)),
    neck=dict(init_cfg=dict(type='MappedPretrained', checkpoint=pretrained, dst='mocov2_neck')))

# The original's IMP recipe: SGD at a constant lr 3e-4 (momentum 0.9, weight decay 1e-4), 10
# epochs a round. MMPretrain's own schedule (lr 0.03, cosine over 200 epochs) also works as one
# round: drop the three lines below and round_length from the hook.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=3e-4, momentum=0.9, weight_decay=1e-4))
param_scheduler = []
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10)

custom_hooks = [
    dict(type='IMPHook', rounds=18, rate=0.2, rewind='pt_trans', train_dense_round=False,
         round_length=10, scope=dict(prefix='backbone.'), keep_prefixes=('queue', )),
]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
