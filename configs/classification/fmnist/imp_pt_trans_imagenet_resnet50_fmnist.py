# Fashion-MNIST: IMP ticket search, rewind type `pt_trans`: every state restarts from the supervised
# ImageNet (checkpoints/imagenet_weight.pt) pre-trained weights; stem conv1 and fc at their random
# init. 19 states: dense, then 18 prunings of 20 % of the surviving conv weights (global magnitude,
# stem excluded) to 98.2 % sparsity; every state trains the full 182-epoch recipe.
#   python tools/train.py configs/classification/fmnist/imp_pt_trans_imagenet_resnet50_fmnist.py
# Results: work_dirs/imp_pt_trans_imagenet_resnet50_fmnist/imp/summary.csv (test accuracy at the
# best validation epoch).
_base_ = ['../_base_/resnet50_fmnist.py', '../_base_/pretrain/imagenet_sup.py']

model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))

custom_hooks = [
    dict(type='IMPHook', rounds=18, rate=0.2, rewind='pt_trans', metric='accuracy/top1'),
]
