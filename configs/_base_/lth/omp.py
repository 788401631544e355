# Baseline: one-shot magnitude pruning (OMP). Round 0 trains dense; round k trains the mask that
# prunes the dense round's final weights in one shot to 1 - 0.8^k.
custom_hooks = [
    dict(type='IMPHook', rounds=18, rate=0.2, criterion='magnitude', oneshot=True, rewind='lt'),
]
