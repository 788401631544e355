# SimCLR pre-training: the paper's simclr_weight.pt ({'state_dict': torchvision names + a 1000-way
# fc}), read from checkpoints/. Stem conv1 and fc stay at random init as in the paper's transfer.
# (SimCLR was trained on unnormalised inputs; the original code still normalises downstream
# inputs, and so do these configs.) Zoo alternative: simclr_zoo.py.
pretrained_init = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
    dict(type='MappedPretrained', skip=('conv1', 'fc'),
         checkpoint='checkpoints/simclr_weight.pt'),
]
