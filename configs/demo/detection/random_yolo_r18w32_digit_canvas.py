# Detection demo, baseline of step 3: a RANDOM ticket of a transferred ticket's sparsity on the
# same dense pre-trained backbone, trained once as the transfer. TicketHook(randomize=True) keeps
# exactly as many weights as the ticket, drawn uniformly over the weights it covers (the
# backbone's 19 convs after the stem; seeded by `seed`). Give it the ticket it is the baseline of:
#   python tools/train.py configs/demo/detection/random_yolo_r18w32_digit_canvas.py \
#       --cfg-options custom_hooks.0.ticket=work_dirs/demo_detection/imp/imp/tickets/round_02.safetensors
# Its record is the transfer's: <work_dir>/ticket/summary.json.
_base_ = ['./transfer_yolo_r18w32_digit_canvas.py']

custom_hooks = [{{_base_.random_ticket_hook}}]
