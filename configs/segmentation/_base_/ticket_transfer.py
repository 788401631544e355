# The TicketHooks of the ticket-transfer experiments (../voc12/transfer*.py and the demo's
# configs/demo/segmentation/transfer_*.py): a ticket's mask held on the dense pre-trained backbone
# (key_map='auto' reads lth_mm, MMPretrain, torchvision and original-code names; the ticket covers
# the backbone's convs after the stem, so the stem and the decode head stay dense), nothing pruned
# further. A config takes one as
#   custom_hooks = [{{_base_.ticket_hook}}]
# and the ticket comes from the command line ('???' fails on purpose until it is set):
#   --cfg-options custom_hooks.0.ticket=PATH
ticket_hook = dict(type='TicketHook', ticket='???', key_map='auto', reverse=False, seed=0,
                   metric='mIoU', rule='greater')
# The ablation: the complementary mask (1 - mask), sparsity 1 - s.
reversed_ticket_hook = dict(ticket_hook, reverse=True)
# The baseline: a random ticket over the same weights keeping exactly as many (global, uniform),
# drawn with `seed` (custom_hooks.0.seed=1 draws another).
random_ticket_hook = dict(ticket_hook, randomize=True)
