# Detection demo, step 3: ticket transfer. A classification ticket of step 2 on the dense
# pre-trained backbone (work_dirs/demo_detection/pretrain/epoch_12.pth), neck and head fresh and
# dense, trained once on the digit canvases, no further pruning. TicketHook maps the ticket's
# MMPretrain names (backbone.layer1.0.conv1.weight) onto the detector's, which are the same:
#   python tools/train.py configs/demo/detection/transfer_yolo_r18w32_digit_canvas.py \
#       --cfg-options custom_hooks.0.ticket=work_dirs/demo_detection/imp/imp/tickets/round_02.safetensors
# The round-0 ticket (round_00.safetensors, dense) gives the dense detector with the same record:
# <work_dir>/ticket/summary.json holds the best validation AP and the test AP of those weights;
# the run's test log (<work_dir>/<timestamp>/<timestamp>.json) has that test's AP50 and AP75.
_base_ = ['./yolo_r18w32_digit_canvas.py', '../../detection/_base_/ticket_transfer.py']

custom_hooks = [{{_base_.ticket_hook}}]
