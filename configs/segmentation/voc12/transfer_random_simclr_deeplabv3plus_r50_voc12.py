# Pascal VOC 2012, baseline of transfer_simclr_deeplabv3plus_r50_voc12.py: a RANDOM ticket at the
# given ticket's sparsity (TicketHook randomize=True: exactly as many kept weights, drawn at
# random over the same 52 backbone convs, seeded by `seed`) on the same dense SimCLR backbone,
# trained once:
#   python tools/train.py configs/segmentation/voc12/transfer_random_simclr_deeplabv3plus_r50_voc12.py \
#       --cfg-options custom_hooks.0.ticket=work_dirs/<imp config>/imp/tickets/round_10.safetensors
# Report as transfer_simclr_deeplabv3plus_r50_voc12.py.
_base_ = ['./finetune_simclr_deeplabv3plus_r50_voc12.py', '../_base_/ticket_transfer.py']

custom_hooks = [{{_base_.random_ticket_hook}}]
