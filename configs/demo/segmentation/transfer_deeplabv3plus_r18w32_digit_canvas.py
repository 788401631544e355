# Segmentation demo, step 3: ticket transfer. A classification ticket of step 2 on the dense
# pre-trained backbone (work_dirs/demo_segmentation/pretrain/epoch_24.pth), the decode head fresh
# and dense, trained once on the digit canvases with deeplabv3plus_r18w32_digit_canvas.py's recipe,
# no further pruning. TicketHook maps the ticket's MMPretrain names (backbone.layer1.0.conv1.weight)
# onto the segmenter's, which are the same:
#   python tools/train.py configs/demo/segmentation/transfer_deeplabv3plus_r18w32_digit_canvas.py \
#       --cfg-options custom_hooks.0.ticket=work_dirs/demo_segmentation/imp/imp/tickets/round_02.safetensors
# The random ticket of the same sparsity (the baseline): add custom_hooks.0.randomize=True. The
# round-0 ticket (dense) gives the dense reference through the same hook.
_base_ = [
    './deeplabv3plus_r18w32_digit_canvas.py', '../../segmentation/_base_/ticket_transfer.py'
]

custom_hooks = [{{_base_.ticket_hook}}]
