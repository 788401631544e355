# Ticket transfer: a ticket file (any task, any pre-training) on the dense pre-trained weights
# (load_from / init_cfg), fine-tuned once with the config's recipe, no further pruning.
custom_hooks = [
    dict(type='TicketHook', ticket='???', key_map='auto', reverse=False),
]
