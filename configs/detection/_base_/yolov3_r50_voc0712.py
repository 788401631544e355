# One state (round) of the paper's detection experiments: the ResNet-50 YOLO detector on VOC07+12,
# tested on VOC2007 test, 416 x 416, the original's 120-epoch recipe (in iterations). The configs
# in ../voc0712/ add a pre-training base and lth_mm's hooks.
_base_ = [
    './models/yolov3_r50.py', './datasets/voc0712_416.py',
    './schedules/cosine_120e_voc0712.py', './default_runtime.py'
]

default_hooks = dict(checkpoint=dict(interval={{_base_.val_interval}}))

# Evaluation (validation and test) as close to the original's as MMDetection's YOLOV3Head allows.
# The original (eval/evaluator.py __convert_pred, utils/tools.py nms) gives each box one class, the
# argmax of its class probabilities, keeps it if objectness x that probability > 0.005, then runs
# greedy per-class NMS (suppressing at GIoU > 0.45), with no cap on boxes per image. YOLOV3Head
# keeps a (box, class) pair if objectness >= conf_thr and class score > score_thr, scores it by
# their product, keeps the nms_pre best class scores, runs per-class NMS at IoU > 0.45 and keeps
# max_per_img boxes. conf_thr = score_thr = 0.005 are the tightest thresholds that drop nothing
# the original keeps (both factors of a product above 0.005 are above 0.005). What still differs:
# pairs whose product is 0.005 or less also pass (within a class they rank below every box the
# original keeps); a box may be kept for several classes, not only its argmax; NMS uses IoU, where
# the original's GIoU (<= IoU) suppressed fewer boxes. Caps: the original has none, and keeps at
# most one box per anchor, 10,647 for a 416 x 416 input ((13^2 + 26^2 + 52^2) x 3). nms_pre =
# 212,940 (10,647 anchors x 20 classes) lets every pair into NMS; max_per_img = 10,647, the most
# the original can output, bounds the boxes kept per image (and the evaluator's memory).
# conf_thr (0.005) and NMS (IoU 0.45) are the model base's already.
model = dict(test_cfg=dict(nms_pre=212940, score_thr=0.005, max_per_img=10647))
