# VOC07+12 detection: baseline of the IMP search, RANDOM pruning to the same sparsities. As the
# original's detection baseline, each state prunes the supervised ImageNet weights
# (checkpoints/imagenet_weight.pt) at random in one shot (global over the 52 backbone convs, stem
# excluded; seeded) to 1 - 0.8^k and trains the 120-epoch recipe once; neck and head stay dense.
# The dense state is not repeated (train_dense_round=False): it is state 0 of the IMP config.
# Iterative random pruning instead: --cfg-options custom_hooks.0.oneshot=False.
#   python tools/train.py configs/detection/voc0712/imp_random_imagenet_yolov3_r50_voc0712.py
# Results: work_dirs/imp_random_imagenet_yolov3_r50_voc0712/imp/summary.csv (states 1-18).
_base_ = ['./imp_pt_trans_imagenet_yolov3_r50_voc0712.py']

custom_hooks = [
    dict(
        type='IMPHook',
        rounds=18,
        rate=0.2,
        criterion='random',
        oneshot=True,
        rewind='pt_trans',
        train_dense_round=False,
        scope=dict(prefix='backbone.'),
        round_length={{_base_.max_iters}},
        metric='pascal_voc/mAP',
        rule='greater'),
]
