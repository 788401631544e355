# Ticket transfer into MMSegmentation's DeepLabv3+ VOC recipe (output stride 8,
# finetune_imagenet_deeplabv3plus_r50-d8_voc12aug.py): a ticket's mask on the dense ImageNet
# backbone, the heads dense, trained once with the 20k schedule:
#   bash tools/dist_train.sh configs/segmentation/voc12/transfer_imagenet_deeplabv3plus_r50-d8_voc12aug.py 4 \
#       --cfg-options custom_hooks.0.ticket=work_dirs/<imp config>/imp/tickets/round_10.safetensors
# The ticket's masks fit regardless of the output stride (dilation does not change conv shapes).
_base_ = ['./finetune_imagenet_deeplabv3plus_r50-d8_voc12aug.py', '../_base_/ticket_transfer.py']

custom_hooks = [{{_base_.ticket_hook}}]
