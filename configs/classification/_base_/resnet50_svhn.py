# One state (round) of the paper's SVHN experiments: 32x32 ResNet-50, the 68,257/5,000/26,032
# split, the 182-epoch recipe.
_base_ = [
    './models/resnet50_cifar.py', './datasets/svhn.py', './schedules/small_bs128_182e.py',
    './default_runtime.py'
]
