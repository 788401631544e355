# Baseline for the demo: the IMP run's masks, each round from a fresh random initialisation.
_base_ = ['./imp_digits_resnet18_w32.py']

custom_hooks = [
    dict(type='IMPHook', rounds=10, rate=0.4, rewind='reinit', metric='accuracy/top1',
         masks_from='work_dirs/demo_imp/imp/imp/tickets'),
]
