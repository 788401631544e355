# Ticket-transfer demo, step 2: IMP on the source task (digits 0-4), every round rewound to the
# pre-trained weights (rewind='pt_trans', as the paper's ImageNet tickets). The head is trained on
# the same task, so it is rewound with the rest. 5 rounds of 50 % end at 96.9 % sparsity.
_base_ = ['./pretrain_digits04_resnet18_w32.py']

load_from = 'work_dirs/demo_transfer/pretrain/epoch_12.pth'
custom_hooks = [
    dict(type='IMPHook', rounds=5, rate=0.5, rewind='pt_trans', metric='accuracy/top1'),
]
