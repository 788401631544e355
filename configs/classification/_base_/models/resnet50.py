# torchvision's ResNet-50 (7x7 stride-2 stem and max-pool, stride in the 3x3 conv of each
# bottleneck: MMPretrain's ResNet with style='pytorch'), for 224x224 inputs (ImageNet, VisDA-2017).
# zero_init_residual=False as in torchvision (see resnet50_cifar.py).
_base_ = ['mmpretrain::_base_/models/resnet50.py']

model = dict(backbone=dict(zero_init_residual=False))
