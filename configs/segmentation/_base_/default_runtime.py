# Runtime shared by the segmentation configs: MMSegmentation's default runtime with lth_mm's
# modules registered (hooks, the MappedPretrained initializer) and a fixed seed (random pruning
# and random tickets are seeded from it).
_base_ = ['mmseg::_base_/default_runtime.py']

custom_imports = dict(imports=['lth_mm'], allow_failed_imports=False)

randomness = dict(seed=0, deterministic=False)
