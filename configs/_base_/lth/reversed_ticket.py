# Ablation: the reversed ticket (1 - mask) on the same pre-trained weights.
custom_hooks = [
    dict(type='TicketHook', ticket='???', key_map='auto', reverse=True),
]
