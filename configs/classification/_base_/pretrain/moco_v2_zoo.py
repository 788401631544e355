# Alternative to moco_v2.py: MMPretrain's MoCo v2 ResNet-50 (200 epochs, not the paper's 800; an
# MMPretrain self-supervised checkpoint: backbone.* is loaded, the momentum encoder, queue, neck and
# head are ignored). A URL: mmengine DOWNLOADS it when the model is initialised; fetch it by hand
# to stay offline.
pretrained_init = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
    dict(type='MappedPretrained', skip=('conv1', 'fc'),
         checkpoint='https://download.openmmlab.com/mmselfsup/1.x/mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k/mocov2_resnet50_8xb32-coslr-200e_in1k_20220825-b6d23c86.pth'),
]
