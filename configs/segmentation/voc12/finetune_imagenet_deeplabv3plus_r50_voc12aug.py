# The paper's segmenter and recipe (finetune_imagenet_deeplabv3plus_r50_voc12.py) on the augmented
# set: VOC 2012 train + SBD, 10,582 images (MMSegmentation's voc12aug; docs/segmentation.md),
# validated on the same 1,449 val images. Swap `imagenet_sup_stem.py` for `simclr_stem.py` or
# `moco_v2_stem.py` (and add a hook of the transfer / IMP configs) for the other experiments.
#   python tools/train.py configs/segmentation/voc12/finetune_imagenet_deeplabv3plus_r50_voc12aug.py
_base_ = [
    '../_base_/deeplabv3plus_r50-d16_voc12aug.py',
    '../../classification/_base_/pretrain/imagenet_sup_stem.py'
]

model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))

default_hooks = dict(checkpoint=dict(save_best='mIoU', rule='greater'))
