# One state (round) of the paper's CIFAR-10 experiments: 32x32 ResNet-50, the 45k/5k/10k split,
# the 182-epoch recipe. The configs above add a pre-training base and lth_mm's hooks.
_base_ = [
    './models/resnet50_cifar.py', './datasets/cifar10.py', './schedules/small_bs128_182e.py',
    './default_runtime.py'
]
