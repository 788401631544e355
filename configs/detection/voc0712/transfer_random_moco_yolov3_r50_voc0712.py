# VOC07+12 detection, ticket-transfer baseline: a RANDOM ticket of the transferred ticket's
# sparsity on the dense MoCo v2 weights (checkpoints/moco_v2_800ep_pretrain.pth.tar),
# fine-tuned once with the 120-epoch recipe, no further pruning. TicketHook(randomize=True) keeps
# exactly as many weights as the ticket, drawn uniformly over the weights the ticket covers (the
# backbone's 52 convs after the stem; global, seeded by `seed`, 0 here); neck and head stay
# dense. Give it the ticket it is the baseline of:
#   python tools/train.py configs/detection/voc0712/transfer_random_moco_yolov3_r50_voc0712.py \
#       --cfg-options custom_hooks.0.ticket=work_dirs/<imp config>/imp/tickets/round_10.safetensors
# Another draw: custom_hooks.0.seed=1. The record is the transfer's (<work_dir>/ticket/
# summary.json: sparsity, best validation AP, test AP of those weights); test the best checkpoint
# with the same ticket and seed (custom_hooks.0.ticket=<same>), as the transfer.
_base_ = ['./transfer_moco_yolov3_r50_voc0712.py']

custom_hooks = [{{_base_.random_ticket_hook}}]
