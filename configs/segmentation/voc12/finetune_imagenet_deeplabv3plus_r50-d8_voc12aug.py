# MMSegmentation's DeepLabv3+ VOC recipe (output stride 8, auxiliary head, voc12aug, 20k
# iterations, 4 GPUs x 4 images) on the torchvision-stem ResNet-50 with the supervised ImageNet
# weights (checkpoints/imagenet_weight.pt, stem included): dense fine-tuning.
#   bash tools/dist_train.sh configs/segmentation/voc12/finetune_imagenet_deeplabv3plus_r50-d8_voc12aug.py 4
_base_ = [
    '../_base_/deeplabv3plus_r50-d8_voc12aug.py',
    '../../classification/_base_/pretrain/imagenet_sup_stem.py'
]

model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))

default_hooks = dict(checkpoint=dict(save_best='mIoU', rule='greater'))
