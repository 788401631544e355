# ResNet-50 for 32x32 inputs (the paper's CIFAR-10/100, SVHN and Fashion-MNIST model): MMPretrain's
# ResNet_CIFAR, i.e. a 3x3 stride-1 stem conv and no max-pool, then torchvision's four bottleneck
# stages. zero_init_residual=False as in torchvision (and required when pre-trained weights are
# loaded by MappedPretrained: ResNet.init_weights would otherwise zero every block's last BN after
# loading). The classifier is a single Linear layer (canonical name `fc`, here `head.fc`).
_base_ = ['mmpretrain::_base_/models/resnet50_cifar.py']

model = dict(
    backbone=dict(zero_init_residual=False),
    head=dict(num_classes=10))
