# Supervised ImageNet pre-training: the paper's imagenet_weight.pt, a plain torchvision ResNet-50
# state dict, read from checkpoints/ in the repository root (relative to where training starts).
# MappedPretrained (lth_mm.engine) maps its torchvision names onto the backbone and logs what
# did not match. As in the paper's transfer, the stem conv1 (3x3 here, 7x7 in the file) and the
# classifier fc stay at their random initialisation (Kaiming / Constant below); bn1 is loaded.
# Equivalent OpenMMLab file: imagenet_sup_zoo.py.
#
# A config uses it as the backbone's init_cfg (the model bases set zero_init_residual=False,
# which loading needs: ResNet.init_weights would zero every block's last BN afterwards):
#   _base_ = ['../_base_/resnet50_cifar10.py', '../_base_/pretrain/imagenet_sup.py']
#   model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))
pretrained_init = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
    dict(type='MappedPretrained', skip=('conv1', 'fc'),
         checkpoint='checkpoints/imagenet_weight.pt'),
]
