# Runtime shared by the detection configs: MMDetection's default runtime, lth_mm's modules
# registered (hooks, weight initializers), a fixed seed (random pruning is seeded from it),
# iteration-based logging and checkpoints every validation, the last two kept for --resume.
_base_ = 'mmdet::_base_/default_runtime.py'

custom_imports = dict(imports=['lth_mm'], allow_failed_imports=False)

default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)

randomness = dict(seed=0, deterministic=False)
