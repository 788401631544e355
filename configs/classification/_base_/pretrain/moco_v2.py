# MoCo v2 pre-training (800 epochs): the paper's moco_v2_800ep_pretrain.pth.tar, the official MoCo
# checkpoint {'state_dict': {'module.encoder_q.*', 'module.encoder_k.*', 'module.queue', ...}},
# read from checkpoints/. Only the query encoder is loaded (the key encoder, queue and the MLP head
# fc.0/fc.2 are reported and ignored). checkpoints/moco.pt (encoder_q only, torchvision names)
# loads the same way: set checkpoint='checkpoints/moco.pt'. Stem conv1 and fc stay at random init.
# Zoo alternative: moco_v2_zoo.py.
pretrained_init = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
    dict(type='MappedPretrained', skip=('conv1', 'fc'),
         checkpoint='checkpoints/moco_v2_800ep_pretrain.pth.tar'),
]
