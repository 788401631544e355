# VOC07+12 detection, ticket-transfer ablation: the REVERSED ticket (1 - mask) on the dense
# MoCo v2 weights (checkpoints/moco_v2_800ep_pretrain.pth.tar). It keeps exactly the weights the ticket pruned, so a
# ticket at sparsity s gives a reversed ticket at sparsity 1 - s (89.26 % -> 10.74 %), as the
# original's reverse mask. Fine-tuned once, no further pruning:
#   python tools/train.py configs/detection/voc0712/transfer_reversed_moco_yolov3_r50_voc0712.py \
#       --cfg-options custom_hooks.0.ticket=work_dirs/<imp config>/imp/tickets/round_10.safetensors
# Test the best checkpoint with the same ticket (custom_hooks.0.ticket=<same>), as the transfer.
_base_ = ['./transfer_moco_yolov3_r50_voc0712.py']

custom_hooks = [{{_base_.reversed_ticket_hook}}]
