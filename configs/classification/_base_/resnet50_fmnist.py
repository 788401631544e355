# One state (round) of the paper's Fashion-MNIST experiments: the 32x32 ResNet-50 with a
# 1-channel 3x3 stem (as the original replaces conv1), native 28x28 inputs, the 55k/5k/10k split,
# the 182-epoch recipe. A pre-trained RGB stem cannot be loaded here: the pre-training bases skip
# conv1 anyway.
_base_ = [
    './models/resnet50_cifar.py', './datasets/fmnist.py', './schedules/small_bs128_182e.py',
    './default_runtime.py'
]

model = dict(backbone=dict(in_channels=1))
