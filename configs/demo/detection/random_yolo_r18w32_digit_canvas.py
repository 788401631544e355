# Detection demo, baseline of step 3: a RANDOM ticket at a transferred ticket's sparsity on the
# same dense pre-trained backbone, trained once as the transfer (../../detection/_base_/
# random_ticket.py: the backbone's 19 convs after the stem pruned at random before training).
# Set `rate` to the ticket's sparsity (0.75 for round 2 of step 2, 0.9375 for round 4):
#   python tools/train.py configs/demo/detection/random_yolo_r18w32_digit_canvas.py \
#       --cfg-options custom_hooks.0.rate=0.9375
# The AP at its best validation and on the test split: <work_dir>/imp/summary.csv (round 1).
_base_ = [
    './yolo_r18w32_digit_canvas.py', '../../detection/_base_/random_ticket.py'
]
