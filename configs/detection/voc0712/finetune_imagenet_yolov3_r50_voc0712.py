# VOC07+12 detection: dense fine-tuning of the ResNet-50 YOLO detector from supervised ImageNet weights
# (checkpoints/imagenet_weight.pt, read by MappedPretrained into the backbone, 7x7 stem included; neck and
# head at their random initialisation), one run of the 120-epoch recipe:
#   python tools/train.py configs/detection/voc0712/finetune_imagenet_yolov3_r50_voc0712.py
# Keeps the best checkpoint by AP (IoU 0.50:0.95); report AP / AP50 / AP75 of VOC2007 test with
#   python tools/test.py configs/detection/voc0712/finetune_imagenet_yolov3_r50_voc0712.py \
#       work_dirs/finetune_imagenet_yolov3_r50_voc0712/best_pascal_voc_mAP_iter_<N>.pth
_base_ = [
    '../_base_/yolov3_r50_voc0712.py',
    '../../classification/_base_/pretrain/imagenet_sup_stem.py'
]

model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))

default_hooks = dict(checkpoint=dict(save_best='pascal_voc/mAP', rule='greater'))
