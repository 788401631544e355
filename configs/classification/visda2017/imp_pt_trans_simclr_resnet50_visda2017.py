# VisDA-2017: IMP ticket search, rewind type `pt_trans`: every state restarts from the SimCLR
# (checkpoints/simclr_weight.pt) weights, stem included (224x224 inputs); fc at random init. 19
# states: dense, then 18 prunings of 20 % of the surviving conv weights (global magnitude, stem
# excluded) to 98.2 % sparsity; every state trains the 20-epoch recipe (4 GPUs x 64):
#   bash tools/dist_train.sh configs/classification/visda2017/imp_pt_trans_simclr_resnet50_visda2017.py 4
# Results: work_dirs/imp_pt_trans_simclr_resnet50_visda2017/imp/summary.csv (validation = test set).
_base_ = ['../_base_/resnet50_visda2017.py', '../_base_/pretrain/simclr_stem.py']

model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))

custom_hooks = [
    dict(type='IMPHook', rounds=18, rate=0.2, rewind='pt_trans', metric='accuracy/top1'),
]
