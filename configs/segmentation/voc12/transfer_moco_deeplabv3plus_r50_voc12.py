# Pascal VOC 2012: ticket transfer on the MoCo v2 weights. DeepLabv3+ (ResNet-50, output stride
# 16) starts from the DENSE pre-trained backbone of finetune_moco_deeplabv3plus_r50_voc12.py with
# a ticket's mask on its 52 convs after the stem (an lth_mm ticket of any task and pre-training,
# or a *.weight_mask file of the original code; keys mapped by key_map='auto'), trained once with
# the 30k-iteration recipe; the heads stay dense and nothing is pruned further. The ticket is
# required ('???' fails on purpose):
#   python tools/train.py configs/segmentation/voc12/transfer_moco_deeplabv3plus_r50_voc12.py \
#       --cfg-options custom_hooks.0.ticket=work_dirs/<imp config>/imp/tickets/round_10.safetensors
# Report the best validation mIoU by testing the best checkpoint under the same ticket:
#   python tools/test.py configs/segmentation/voc12/transfer_moco_deeplabv3plus_r50_voc12.py \
#       work_dirs/transfer_moco_deeplabv3plus_r50_voc12/best_mIoU_iter_<N>.pth \
#       --cfg-options custom_hooks.0.ticket=<same>
_base_ = ['./finetune_moco_deeplabv3plus_r50_voc12.py', '../_base_/ticket_transfer.py']

custom_hooks = [{{_base_.ticket_hook}}]
