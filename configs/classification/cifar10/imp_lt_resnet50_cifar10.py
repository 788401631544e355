# CIFAR-10: IMP ticket search, rewind type `lt`: every state restarts from the random initialisation
# theta_0 (Frankle & Carbin's lottery ticket), no pre-training. 19 states: dense, then 18 prunings
# of 20 % of the surviving conv weights (global magnitude, stem excluded) to 98.2 % sparsity; every
# state trains the full 182-epoch recipe.
#   python tools/train.py configs/classification/cifar10/imp_lt_resnet50_cifar10.py
# Results: work_dirs/imp_lt_resnet50_cifar10/imp/summary.csv (test accuracy at the best validation
# epoch).
_base_ = ['../_base_/resnet50_cifar10.py']

custom_hooks = [
    dict(type='IMPHook', rounds=18, rate=0.2, rewind='lt', metric='accuracy/top1'),
]
