# VOC07+12 detection: ticket transfer onto MoCo v2 weights. The dense pre-trained backbone
# (checkpoints/moco_v2_800ep_pretrain.pth.tar) with a ticket's mask (found by IMP on any task and pre-training: an
# lth_mm ticket file or a *.weight_mask file of the original code), neck and head fresh and
# dense, fine-tuned once with the 120-epoch recipe, no further pruning. The ticket is required
# ('???' fails on purpose):
#   python tools/train.py configs/detection/voc0712/transfer_moco_yolov3_r50_voc0712.py \
#       --cfg-options custom_hooks.0.ticket=work_dirs/<imp config>/imp/tickets/round_10.safetensors
# TicketHook keeps the best weights by AP (pascal_voc/mAP) and records their test AP in
# <work_dir>/ticket/summary.json; that test's AP50 and AP75 are in the run's test log
# (<work_dir>/<timestamp>/<timestamp>.json). Or test the best checkpoint with the same ticket:
#   python tools/test.py configs/detection/voc0712/transfer_moco_yolov3_r50_voc0712.py \
#       work_dirs/transfer_moco_yolov3_r50_voc0712/best_pascal_voc_mAP_iter_<N>.pth \
#       --cfg-options custom_hooks.0.ticket=<same>
_base_ = ['./finetune_moco_yolov3_r50_voc0712.py', '../_base_/ticket_transfer.py']

custom_hooks = [{{_base_.ticket_hook}}]
