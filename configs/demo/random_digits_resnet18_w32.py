# Baseline for the demo: iterative random pruning to the same sparsities as the IMP run.
_base_ = ['./imp_digits_resnet18_w32.py']

custom_hooks = [
    dict(type='IMPHook', rounds=10, rate=0.4, criterion='random', rewind='lt',
         metric='accuracy/top1'),
]
