# SVHN: ticket transfer on MoCo v2 weights. The dense pre-trained weights
# (checkpoints/moco_v2_800ep_pretrain.pth.tar; stem conv1 and fc at random init) with a ticket's
# mask (found by IMP on any task and pre-training: an lth_mm ticket file or a *.weight_mask file of
# the original code), fine-tuned once with the 182-epoch recipe, no further pruning. The ticket is
# required ('???' fails on purpose); reverse=True gives the reversed-mask ablation:
#   python tools/train.py configs/classification/svhn/transfer_moco_resnet50_svhn.py \
#       --cfg-options custom_hooks.0.ticket=work_dirs/<imp config>/imp/tickets/round_10.safetensors
# Report: test accuracy of the best-validation checkpoint (docs/classification.md):
#   python tools/test.py configs/classification/svhn/transfer_moco_resnet50_svhn.py \
#       work_dirs/transfer_moco_resnet50_svhn/best_accuracy_top1_epoch_<N>.pth \
#       --cfg-options custom_hooks.0.ticket=<same>
_base_ = ['../_base_/resnet50_svhn.py', '../_base_/pretrain/moco_v2.py']

model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))

default_hooks = dict(checkpoint=dict(save_best='accuracy/top1', rule='greater'))

custom_hooks = [
    dict(type='TicketHook', ticket='???', key_map='auto', reverse=False),
]
