# IMP on digits: 10 pruning rounds of 40 % (to 99.4 % sparsity), rewinding to the random init.
_base_ = ['../_base_/digits_resnet18_w32.py']

custom_hooks = [
    dict(type='IMPHook', rounds=10, rate=0.4, rewind='lt', metric='accuracy/top1'),
]
