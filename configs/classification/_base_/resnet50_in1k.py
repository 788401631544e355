# One state (round) of the paper's ImageNet IMP: torchvision's ResNet-50 with a 1000-way
# classifier, ImageNet-1k, 10 epochs at a constant lr 1e-4 (8 GPUs x 32).
_base_ = [
    './models/resnet50.py', './datasets/imagenet.py', './schedules/imagenet_bs256_10e.py',
    './default_runtime.py'
]
