# The TicketHooks of the ticket-transfer experiments (../voc0712/transfer*.py and the demo's
# configs/demo/detection/*_yolo_*.py): a ticket's mask held on the dense pre-trained backbone
# (key_map='auto' reads lth_mm, MMPretrain and original-code names; the ticket covers the
# backbone, so neck and head stay dense), the best weights picked by AP and tested, the run
# recorded in <work_dir>/ticket/summary.json. A config takes one as
#   custom_hooks = [{{_base_.ticket_hook}}]
# and the ticket comes from the command line ('???' fails on purpose until it is set):
#   --cfg-options custom_hooks.0.ticket=PATH
ticket_hook = dict(
    type='TicketHook',
    ticket='???',
    key_map='auto',
    reverse=False,
    randomize=False,
    seed=0,
    metric='pascal_voc/mAP',
    rule='greater')
# The ablation: the complementary mask (1 - mask), sparsity 1 - s.
reversed_ticket_hook = dict(ticket_hook, reverse=True)
# The baseline: a random ticket over the same weights keeping exactly as many (global, uniform),
# drawn with `seed` (custom_hooks.0.seed=1 draws another).
random_ticket_hook = dict(ticket_hook, randomize=True)
