# One state (round) of the paper's detection experiments: the ResNet-50 YOLO detector on VOC07+12,
# tested on VOC2007 test, 416 x 416, the original's 120-epoch recipe (in iterations). The configs
# in ../voc0712/ add a pre-training base and lth_mm's hooks.
_base_ = [
    './models/yolov3_r50.py', './datasets/voc0712_416.py',
    './schedules/cosine_120e_voc0712.py', './default_runtime.py'
]

default_hooks = dict(checkpoint=dict(interval={{_base_.val_interval}}))
