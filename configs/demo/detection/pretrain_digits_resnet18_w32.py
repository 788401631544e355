# Detection demo, step 1: dense "pre-training" on digits classification (all ten digits, 8 x 8
# grey images): the demo's ResNet-18 of width 32 with its one-round schedule, unchanged. Its last
# checkpoint, work_dirs/demo_detection/pretrain/epoch_12.pth, holds the demo's pre-trained
# weights, which the IMP search rewinds to and the detectors load.
#   python tools/train.py configs/demo/detection/pretrain_digits_resnet18_w32.py \
#       --work-dir work_dirs/demo_detection/pretrain
_base_ = ['../../_base_/digits_resnet18_w32.py']
