# SVHN: IMP ticket search, rewind type `pt_trans`: every state restarts from the MoCo v2
# (checkpoints/moco_v2_800ep_pretrain.pth.tar) pre-trained weights; stem conv1 and fc at their
# random init. 19 states: dense, then 18 prunings of 20 % of the surviving conv weights (global
# magnitude, stem excluded) to 98.2 % sparsity; every state trains the full 182-epoch recipe.
#   python tools/train.py configs/classification/svhn/imp_pt_trans_moco_resnet50_svhn.py
# Results: work_dirs/imp_pt_trans_moco_resnet50_svhn/imp/summary.csv (test accuracy at the best
# validation epoch).
_base_ = ['../_base_/resnet50_svhn.py', '../_base_/pretrain/moco_v2.py']

model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))

custom_hooks = [
    dict(type='IMPHook', rounds=18, rate=0.2, rewind='pt_trans', metric='accuracy/top1'),
]
