# imagenet_sup.py for 224x224 inputs (VisDA-2017): the pre-trained 7x7 stem fits and is loaded, as
# main_imp_visda.py and main_eval_visda.py do; only the classifier fc stays at random init.
pretrained_init = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
    dict(type='MappedPretrained', skip=('fc', ),
         checkpoint='checkpoints/imagenet_weight.pt'),
]
