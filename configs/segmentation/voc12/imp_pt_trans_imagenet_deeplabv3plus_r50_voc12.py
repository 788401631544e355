# Pascal VOC 2012: IMP on the segmentation task itself, rewind type `pt_trans`: every state
# restarts from the supervised ImageNet weights (checkpoints/imagenet_weight.pt); every tensor is
# restored, the backbone to them, the decode head to its first random init. 19 states: dense, then
# 18 prunings of 20 % of the surviving weights of the backbone's 52 convs after the stem (global
# magnitude; the stem and the decode head stay dense) to 98.2 % sparsity; every state trains the
# full 30k-iteration recipe (a round is train_cfg.max_iters iterations).
#   python tools/train.py configs/segmentation/voc12/imp_pt_trans_imagenet_deeplabv3plus_r50_voc12.py
# Results: work_dirs/imp_pt_trans_imagenet_deeplabv3plus_r50_voc12/imp/summary.csv (per state:
# sparsity, best validation mIoU and its iteration, the test mIoU of those weights: VOC's val set
# again); the tickets (imp/tickets/round_XX.safetensors) transfer with the transfer_* configs.
_base_ = [
    '../_base_/deeplabv3plus_r50-d16_voc12.py',
    '../../classification/_base_/pretrain/imagenet_sup_stem.py', '../_base_/imp.py'
]

model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))

custom_hooks = [{{_base_.imp_hook}}]
