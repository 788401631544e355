# VisDA-2017: IMP ticket search, rewind type `lt` (random init theta_0, no pre-training). 19 states:
# dense, then 18 prunings of 20 % of the surviving conv weights (global magnitude, stem excluded) to
# 98.2 % sparsity; every state trains the 20-epoch recipe (4 GPUs x 64):
#   bash tools/dist_train.sh configs/classification/visda2017/imp_lt_resnet50_visda2017.py 4
# Results: work_dirs/imp_lt_resnet50_visda2017/imp/summary.csv (validation = test set here).
_base_ = ['../_base_/resnet50_visda2017.py']

custom_hooks = [
    dict(type='IMPHook', rounds=18, rate=0.2, rewind='lt', metric='accuracy/top1'),
]
