# Alternative to simclr.py: MMPretrain's SimCLR ResNet-50 (800 epochs, an MMPretrain self-supervised
# checkpoint: backbone.* is loaded, neck/head are reported and ignored). Not the paper's weights.
# A URL: mmengine DOWNLOADS it when the model is initialised; fetch it by hand to stay offline.
pretrained_init = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
    dict(type='MappedPretrained', skip=('conv1', 'fc'),
         checkpoint='https://download.openmmlab.com/mmselfsup/1.x/simclr/simclr_resnet50_16xb256-coslr-800e_in1k/simclr_resnet50_16xb256-coslr-800e_in1k_20220825-85fcc4de.pth'),
]
