# Iterative magnitude pruning (the paper): 20 % of the surviving conv weights per round, global L1,
# stem excluded. Set `rewind` for the ticket type: 'lt', 'rewind_lt', 'pt_trans', 'pt' or 'lr'.
custom_hooks = [
    dict(type='IMPHook', rounds=18, rate=0.2, criterion='magnitude', mode='global', rewind='lt'),
]
