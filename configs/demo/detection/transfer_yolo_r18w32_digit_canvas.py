# Detection demo, step 3: ticket transfer. A classification ticket of step 2 on the dense
# pre-trained backbone (work_dirs/demo_detection/pretrain/epoch_12.pth), neck and head fresh and dense,
# trained once on the digit canvases, no further pruning. TicketHook maps the ticket's MMPretrain
# names (backbone.layer1.0.conv1.weight) onto the detector's, which are the same:
#   python tools/train.py configs/demo/detection/transfer_yolo_r18w32_digit_canvas.py \
#       --cfg-options custom_hooks.0.ticket=work_dirs/demo_detection/imp/imp/tickets/round_02.safetensors
_base_ = ['./yolo_r18w32_digit_canvas.py']

custom_hooks = [
    dict(type='TicketHook', ticket='???', key_map='auto', reverse=False),
]
