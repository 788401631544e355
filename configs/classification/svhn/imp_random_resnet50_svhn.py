# SVHN: baseline, iterative RANDOM pruning to the same sparsities as IMP (20 % of the surviving conv
# weights per state, chosen at random, seeded), rewinding to the random init. 19 states of the
# 182-epoch recipe.
#   python tools/train.py configs/classification/svhn/imp_random_resnet50_svhn.py
# Results: work_dirs/imp_random_resnet50_svhn/imp/summary.csv (test accuracy at the best validation
# epoch).
_base_ = ['../_base_/resnet50_svhn.py']

custom_hooks = [
    dict(type='IMPHook', rounds=18, rate=0.2, criterion='random', rewind='lt',
         metric='accuracy/top1'),
]
