# simclr.py for 224x224 inputs (VisDA-2017): the stem is loaded too; only fc stays at random init.
pretrained_init = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
    dict(type='MappedPretrained', skip=('fc', ),
         checkpoint='checkpoints/simclr_weight.pt'),
]
