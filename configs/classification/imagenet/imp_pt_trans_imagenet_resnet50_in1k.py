# ImageNet-1k: IMP on the supervised pre-trained ResNet-50 itself (main_imp_imagenet.py): every state
# restarts from the pre-trained weights (checkpoints/imagenet_weight.pt, torchvision names, ALL of
# them: stem and 1000-way classifier included) and trains 10 epochs at a constant lr 1e-4 (8 GPUs x
# 32); 18 prunings of 20 % of the surviving conv weights (stem excluded) to 98.2 % sparsity.
#   bash tools/dist_train.sh configs/classification/imagenet/imp_pt_trans_imagenet_resnet50_in1k.py 8
# Results: work_dirs/imp_pt_trans_imagenet_resnet50_in1k/imp/summary.csv (val = test here).
#
# As in the original, state 0 does not train: the first mask prunes the pre-trained weights
# themselves (train_dense_round=False), then 18 sparse rounds train from the pre-trained weights.
_base_ = ['../_base_/resnet50_in1k.py']

# The backbone and the classifier both load the file: MappedPretrained maps torchvision names onto
# the backbone (dst auto-detected) and `fc.*` onto the head's `fc` (dst='torchvision').
model = dict(
    backbone=dict(
        init_cfg=[
            dict(type='Kaiming', layer=['Conv2d']),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
            dict(type='MappedPretrained', checkpoint='checkpoints/imagenet_weight.pt'),
        ]),
    head=dict(
        init_cfg=[
            dict(type='Normal', layer='Linear', std=0.01),
            dict(type='MappedPretrained', checkpoint='checkpoints/imagenet_weight.pt',
                 dst='torchvision'),
        ]))

custom_hooks = [
    dict(type='IMPHook', rounds=18, rate=0.2, rewind='pt_trans', train_dense_round=False,
         metric='accuracy/top1'),
]
