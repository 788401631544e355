# CIFAR-100: IMP ticket search, rewind type `pt`: every state restarts from the best weights (by
# validation accuracy) of the dense state 0, trained on CIFAR-100 from random init. 19 states:
# dense, then 18 prunings of 20 % of the surviving conv weights (global magnitude, stem excluded) to
# 98.2 % sparsity; every state trains the full 182-epoch recipe.
#   python tools/train.py configs/classification/cifar100/imp_pt_resnet50_cifar100.py
# Results: work_dirs/imp_pt_resnet50_cifar100/imp/summary.csv (test accuracy at the best validation
# epoch).
_base_ = ['../_base_/resnet50_cifar100.py']

custom_hooks = [
    dict(type='IMPHook', rounds=18, rate=0.2, rewind='pt', metric='accuracy/top1'),
]
