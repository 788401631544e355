# VOC07+12 detection, ticket-transfer baseline: a RANDOM ticket at the transferred ticket's
# sparsity on the dense supervised ImageNet weights (checkpoints/imagenet_weight.pt), fine-tuned once with
# the 120-epoch recipe (../_base_/random_ticket.py: the backbone's 52 convs after the stem pruned
# at random before training; neck and head dense). The default sparsity is round 10's, 89.26 %;
# for a ticket of round k:
#   python tools/train.py configs/detection/voc0712/transfer_random_imagenet_yolov3_r50_voc0712.py \
#       --cfg-options custom_hooks.0.rate=<1 - 0.8^k, or the ticket's sparsity>
# Results: work_dirs/transfer_random_imagenet_yolov3_r50_voc0712/imp/summary.csv (round 1).
_base_ = [
    './finetune_imagenet_yolov3_r50_voc0712.py', '../_base_/random_ticket.py'
]
