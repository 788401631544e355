# One state (round) of the paper's CIFAR-100 experiments: 32x32 ResNet-50 with a 100-way
# classifier, the 45k/5k/10k split, the 182-epoch recipe.
_base_ = [
    './models/resnet50_cifar.py', './datasets/cifar100.py', './schedules/small_bs128_182e.py',
    './default_runtime.py'
]

model = dict(head=dict(num_classes=100))
