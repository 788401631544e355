# VOC07+12 detection: IMP on the detection task itself, rewind type `pt_trans`: every state
# restarts from the supervised ImageNet weights (checkpoints/imagenet_weight.pt; neck and head
# at the same random init each state). Only the backbone is pruned (scope prefix `backbone.`:
# its 52 convs, the stem excluded, as the paper); neck and head stay dense. 19 states: dense,
# then 18 prunings of 20 % of the surviving backbone conv weights (global magnitude) to 98.2 %
# sparsity, each state the full 120-epoch recipe (round_length in iterations). The paper's best
# point, 40.96 % remaining, is round 4 (custom_hooks.0.rounds=4 stops there):
#   python tools/train.py configs/detection/voc0712/imp_pt_trans_imagenet_yolov3_r50_voc0712.py
# Results: work_dirs/imp_pt_trans_imagenet_yolov3_r50_voc0712/imp/summary.csv (per state, the test
# AP of the weights of the best validation; validation and test both read VOC2007 test).
# Deviations from the original's Detection/train_imp.py: (1) the rewind. lth_mm rewinds every
# tensor (backbone convs and BN, stem, neck, head) to its state-0 value, as the original's
# classification IMP does; the original's detection IMP loaded the previous state's TRAINED
# weights for every tensor without a mask (BN, stem, neck, head), and only the 52 masked backbone
# convs restarted from the pre-trained weights (its full rewind is commented out). (2) Selection:
# the original evaluated once, the final weights of each state; here validation runs every 10
# epochs and the test AP is that of the best validation (docs/detection.md).
_base_ = [
    '../_base_/yolov3_r50_voc0712.py',
    '../../classification/_base_/pretrain/imagenet_sup_stem.py'
]

model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))

custom_hooks = [
    dict(
        type='IMPHook',
        rounds=18,
        rate=0.2,
        rewind='pt_trans',
        scope=dict(prefix='backbone.'),
        round_length={{_base_.max_iters}},
        metric='pascal_voc/mAP',
        rule='greater'),
]
