# Baseline: iterative random pruning to the same sparsities as IMP.
custom_hooks = [
    dict(type='IMPHook', rounds=18, rate=0.2, criterion='random', mode='global', rewind='lt'),
]
