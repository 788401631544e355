# Segmentation demo, step 2: tickets of the pre-trained classifier, found by IMP on digits
# classification (step 1's task) with every round rewound to the pre-trained weights
# (rewind='pt_trans', as the paper's ImageNet tickets): global magnitude pruning of the 19 convs
# after the stem, 4 rounds of 50 % (50, 75, 87.5, 93.75 % sparsity), 12 epochs per round. The
# tickets are work_dirs/demo_segmentation/imp/imp/tickets/round_0k.safetensors.
#   python tools/train.py configs/demo/segmentation/imp_digits_resnet18_w32.py \
#       --work-dir work_dirs/demo_segmentation/imp
_base_ = ['./pretrain_digits_resnet18_w32.py']

load_from = 'work_dirs/demo_segmentation/pretrain/epoch_24.pth'
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[6, 9], gamma=0.1),
]
train_cfg = dict(max_epochs=12)
custom_hooks = [
    dict(type='IMPHook', rounds=4, rate=0.5, rewind='pt_trans', metric='accuracy/top1'),
]
