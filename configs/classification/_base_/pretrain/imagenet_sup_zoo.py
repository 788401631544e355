# Alternative to imagenet_sup.py: MMPretrain's ResNet-50 (resnet50_8xb32_in1k, 76.55 % top-1; not
# the torchvision weights of the paper). It is a URL: mmengine DOWNLOADS it (into
# ~/.cache/torch/hub/checkpoints) when the model is initialised; nothing else in these configs
# downloads. To stay offline, fetch it by hand and set checkpoint= to the local file.
# Use it by replacing imagenet_sup.py with this file in a config's _base_ list.
pretrained_init = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
    dict(type='MappedPretrained', skip=('conv1', 'fc'),
         checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth'),
]
