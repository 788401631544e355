# IMP on the SimCLR pre-training task itself (the original SimCLR/main.py): MMPretrain's SimCLR
# (ResNet-50, 2-layer MLP neck, NT-Xent, LARS, 8 GPUs x 32) starts from the paper's
# checkpoints/simclr_weight.pt (torchvision names; its classifier fc is not used). The pre-trained
# weights are pruned before any training, then every 10 epochs (18 prunings of 20 % of the
# surviving backbone convs, stem excluded, to 98.20 %), each round rewound to the SimCLR weights.
#   bash tools/dist_train.sh configs/selfsup/simclr/imp_simclr_resnet50_8xb32_in1k.py 8
# Tickets: work_dirs/imp_simclr_resnet50_8xb32_in1k/imp/tickets/round_XX.safetensors.
#
# LARS and pruning: LARS scales each layer's step by ||w|| / (||g|| + wd ||w||). Pruned weights
# are zero, so ||w|| ignores them, but their gradients are not: mask_grads=True zeroes them during
# backward, so the trust ratio, the momentum and the update are those of the same model with the
# pruned weights removed (tested). The projection head (neck) is not rewound (keep_prefixes): the
# checkpoint has none, and the original keeps training it across rounds.
_base_ = ['mmpretrain::simclr/simclr_resnet50_8xb32-coslr-200e_in1k.py']

custom_imports = dict(imports=['lth_mm'], allow_failed_imports=False)

# Inputs: unnormalised, as the original (SimCLR/args.py dataloader_setup defines `normalize` but
# its tfs_train ends at ToTensor(): RGB in [0, 1]) trained on, and as checkpoints/simclr_weight.pt
# was pre-trained (configs/classification/_base_/pretrain/simclr.py). MMPretrain's SimCLR base
# normalises with ImageNet's mean / std; mean 0 and std 255 on its 0-255 pixels give the original's
# x / 255 (to_rgb=True, kept from the base: the images are read BGR, torchvision reads RGB).
data_preprocessor = dict(mean=[0., 0., 0.], std=[255., 255., 255.], to_rgb=True)

# mmengine tags every dict of an `mmpretrain::` base with `_scope_`; a collate function takes no
# such argument, so the base's collate_fn is set again here.
train_dataloader = dict(collate_fn=dict(_delete_=True, type='default_collate'))

model = dict(
    # zero_init_residual would zero the last BN of every block after the weights are loaded.
    backbone=dict(
        zero_init_residual=False,
        init_cfg=dict(type='MappedPretrained', checkpoint='checkpoints/simclr_weight.pt')),
    head=dict(temperature=0.5))  # the original's NT-Xent temperature (MMPretrain's: 0.1)

# The original's IMP recipe: LARS at a constant lr 1e-4, weight decay 1e-6, 10 epochs a round
# (MMPretrain's LARS keeps BN and biases out of the trust ratio, the original's did not).
# MMPretrain's own schedule (lr 0.3, warm-up and cosine over 200 epochs) also works as one
# round: drop the three lines below and round_length from the hook.
optim_wrapper = dict(optimizer=dict(lr=1e-4, weight_decay=1e-6))
param_scheduler = []
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10)

custom_hooks = [
    dict(type='IMPHook', rounds=18, rate=0.2, rewind='pt_trans', train_dense_round=False,
         round_length=10, scope=dict(prefix='backbone.'), keep_prefixes=('neck.', ),
         mask_grads=True),
]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
