# Baseline: the IMP masks of an earlier search with a fresh random initialisation every round.
# Set masks_from to that search's tickets folder, e.g. work_dirs/<imp config>/imp/tickets.
custom_hooks = [
    dict(type='IMPHook', rounds=18, rate=0.2, rewind='reinit', masks_from='???'),
]
