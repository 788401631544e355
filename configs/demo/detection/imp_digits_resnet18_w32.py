# Detection demo, step 2: tickets of the pre-trained classifier, found by IMP on digits
# classification with every round rewound to the pre-trained weights (rewind='pt_trans', as the
# paper's ImageNet tickets). Global magnitude pruning of the 19 convs after the stem, 4 rounds of
# 50 % (50, 75, 87.5, 93.75 % sparsity); the tickets are imp/tickets/round_0k.safetensors.
#   python tools/train.py configs/demo/detection/imp_digits_resnet18_w32.py \
#       --work-dir work_dirs/demo_detection/imp
_base_ = ['./pretrain_digits_resnet18_w32.py']

load_from = 'work_dirs/demo_detection/pretrain/epoch_12.pth'
custom_hooks = [
    dict(type='IMPHook', rounds=4, rate=0.5, rewind='pt_trans', metric='accuracy/top1'),
]
