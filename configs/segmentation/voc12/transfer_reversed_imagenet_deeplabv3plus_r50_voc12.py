# Pascal VOC 2012, baseline of transfer_imagenet_deeplabv3plus_r50_voc12.py: the REVERSED ticket
# (1 - mask: only the weights the ticket pruned are kept) on the same dense ImageNet backbone,
# trained once:
#   python tools/train.py configs/segmentation/voc12/transfer_reversed_imagenet_deeplabv3plus_r50_voc12.py \
#       --cfg-options custom_hooks.0.ticket=work_dirs/<imp config>/imp/tickets/round_10.safetensors
# A 89.26 %-sparse ticket (round 10) becomes 10.74 % sparse. Report as
# transfer_imagenet_deeplabv3plus_r50_voc12.py.
_base_ = ['./finetune_imagenet_deeplabv3plus_r50_voc12.py', '../_base_/ticket_transfer.py']

custom_hooks = [{{_base_.reversed_ticket_hook}}]
