# Runtime shared by the classification configs: MMPretrain's default runtime, lth_mm's modules
# registered (hooks, datasets, weight initializers), a fixed seed (random pruning and
# re-initialisation are seeded from it) and the last two epoch checkpoints kept for --resume.
_base_ = ['mmpretrain::_base_/default_runtime.py']

custom_imports = dict(imports=['lth_mm'], allow_failed_imports=False)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))

randomness = dict(seed=0, deterministic=False)
