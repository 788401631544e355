# Baseline of a ticket transfer, for the config it is added to: a RANDOM ticket at the transferred
# ticket's sparsity on the same dense pre-trained weights. IMPHook with train_dense_round=False
# and one round prunes the backbone at random (global over its convs, stem excluded, seeded by
# randomness.seed) to `rate` before any training, then trains the config's schedule once; nothing
# is pruned afterwards. `rate` is the sparsity: 1 - 0.8^10 = 0.8926258176, an IMP ticket of round
# 10 (--cfg-options custom_hooks.0.rate=<the ticket's sparsity>). The AP at the best validation
# and the test AP of those weights are in <work_dir>/imp/summary.csv (round 1), the random ticket
# in <work_dir>/imp/tickets/round_01.safetensors.
custom_hooks = [
    dict(
        type='IMPHook',
        rounds=1,
        rate=0.8926258176,
        criterion='random',
        rewind='pt_trans',
        train_dense_round=False,
        scope=dict(prefix='backbone.'),
        metric='pascal_voc/mAP',
        rule='greater'),
]
