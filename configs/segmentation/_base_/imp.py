# The IMPHooks of the ticket searches on the segmentation task (../voc12/imp_*.py): the paper's
# IMP (20 % of the surviving weights per state, global L1, 18 prunings to 98.2 % sparsity) over
# the backbone's convs after the stem only (the decode head stays dense), every state rewound to
# the pre-trained weights (`pt_trans`; the decode head to its first random init), each state's
# best weights picked by mIoU. A state is the schedule's train_cfg.max_iters iterations. A config
# takes one as
#   custom_hooks = [{{_base_.imp_hook}}]
imp_hook = dict(
    type='IMPHook',
    rounds=18,
    rate=0.2,
    criterion='magnitude',
    rewind='pt_trans',
    scope=dict(prefix='backbone.'),
    metric='mIoU')
# The baseline: iterative random pruning to the same sparsities (seeded by randomness.seed).
random_pruning_hook = dict(imp_hook, criterion='random')
