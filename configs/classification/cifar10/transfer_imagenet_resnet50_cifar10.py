# CIFAR-10: ticket transfer on supervised ImageNet weights. The dense pre-trained weights
# (checkpoints/imagenet_weight.pt; stem conv1 and fc at random init) with a ticket's mask (found by
# IMP on any task and pre-training: an lth_mm ticket file or a *.weight_mask file of the original
# code), fine-tuned once with the 182-epoch recipe, no further pruning. The ticket is required
# ('???' fails on purpose); reverse=True gives the reversed-mask ablation:
#   python tools/train.py configs/classification/cifar10/transfer_imagenet_resnet50_cifar10.py \
#       --cfg-options custom_hooks.0.ticket=work_dirs/<imp config>/imp/tickets/round_10.safetensors
# Report: test accuracy of the best-validation checkpoint (docs/classification.md):
#   python tools/test.py configs/classification/cifar10/transfer_imagenet_resnet50_cifar10.py \
#       work_dirs/transfer_imagenet_resnet50_cifar10/best_accuracy_top1_epoch_<N>.pth \
#       --cfg-options custom_hooks.0.ticket=<same>
_base_ = ['../_base_/resnet50_cifar10.py', '../_base_/pretrain/imagenet_sup.py']

model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))

default_hooks = dict(checkpoint=dict(save_best='accuracy/top1', rule='greater'))

custom_hooks = [
    dict(type='TicketHook', ticket='???', key_map='auto', reverse=False),
]
