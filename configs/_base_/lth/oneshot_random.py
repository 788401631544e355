# Baseline: one-shot random pruning to each round's sparsity 1 - 0.8^k.
custom_hooks = [
    dict(type='IMPHook', rounds=18, rate=0.2, criterion='random', oneshot=True, rewind='lt'),
]
