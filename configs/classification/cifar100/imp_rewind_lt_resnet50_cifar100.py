# CIFAR-100: IMP ticket search, rewind type `rewind_lt`: every state restarts from the weights after
# 9 of the 182 epochs of the dense state (the original --rewind_epoch 9, ~5 %). 19 states: dense,
# then 18 prunings of 20 % of the surviving conv weights (global magnitude, stem excluded) to 98.2 %
# sparsity; every state trains the full 182-epoch recipe.
#   python tools/train.py configs/classification/cifar100/imp_rewind_lt_resnet50_cifar100.py
# Results: work_dirs/imp_rewind_lt_resnet50_cifar100/imp/summary.csv (test accuracy at the best
# validation epoch).
_base_ = ['../_base_/resnet50_cifar100.py']

custom_hooks = [
    dict(type='IMPHook', rounds=18, rate=0.2, rewind='rewind_lt', rewind_at=9,
         metric='accuracy/top1'),
]
