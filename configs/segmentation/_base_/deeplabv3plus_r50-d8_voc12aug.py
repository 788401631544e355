# MMSegmentation's default DeepLabv3+ recipe for VOC (deeplabv3plus_r50-d8_4xb4-20k_voc12aug-
# 512x512.py): output stride 8 with the auxiliary head, the augmented set, 512 x 512 crops, its
# 20k-iteration schedule (SGD lr 0.01, weight decay 5e-4, poly to 1e-4) on 4 GPUs x 4 images, with
# the torchvision-stem ResNet-50 and BN (models/deeplabv3plus_r50-d8.py). For MMSegmentation's
# 40k schedule: --cfg-options train_cfg.max_iters=40000 param_scheduler.0.end=40000.
_base_ = [
    './models/deeplabv3plus_r50-d8.py', 'mmseg::_base_/datasets/pascal_voc12_aug.py',
    'mmseg::_base_/schedules/schedule_20k.py', './default_runtime.py'
]

crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
