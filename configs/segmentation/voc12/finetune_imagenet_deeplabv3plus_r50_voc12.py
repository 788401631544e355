# Pascal VOC 2012: dense fine-tuning of DeepLabv3+ (ResNet-50, output stride 16) from the
# supervised ImageNet weights (checkpoints/imagenet_weight.pt); the backbone whole (stem included,
# as the original), heads at random init. The paper's 30k-iteration recipe, once: the dense
# reference of the transfer and IMP runs.
#   python tools/train.py configs/segmentation/voc12/finetune_imagenet_deeplabv3plus_r50_voc12.py
# Report the best validation mIoU, as the paper (aAcc and mAcc beside it), by testing the best
# checkpoint:
#   python tools/test.py configs/segmentation/voc12/finetune_imagenet_deeplabv3plus_r50_voc12.py \
#       work_dirs/finetune_imagenet_deeplabv3plus_r50_voc12/best_mIoU_iter_<N>.pth
_base_ = [
    '../_base_/deeplabv3plus_r50-d16_voc12.py',
    '../../classification/_base_/pretrain/imagenet_sup_stem.py'
]

model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))

default_hooks = dict(checkpoint=dict(save_best='mIoU', rule='greater'))
