# Segmentation demo, step 1: dense "pre-training" on digits classification. The demo's ResNet-18 of
# width 32 with the torchvision stem (MMPretrain's ResNet: 7x7 stride-2 conv1, max-pool), the
# architecture of the segmenter's backbone, on all ten digits: each 8 x 8 digit enlarged to 32 x 32
# (RGB, bilinear) and placed at a random spot of a black 64 x 64 frame (RandomCrop of the digit
# padded by 32; validation and test: centred, padding 16), so that the features find a digit
# anywhere in a larger image, as the segmenter must on the canvases. 24 epochs of the digits
# recipe (SGD 0.1, x0.1 at epochs 12 and 18); its last checkpoint,
# work_dirs/demo_segmentation/pretrain/epoch_24.pth, holds the demo's pre-trained weights: the
# ticket search rewinds to them and the segmenters load them.
#   python tools/train.py configs/demo/segmentation/pretrain_digits_resnet18_w32.py \
#       --work-dir work_dirs/demo_segmentation/pretrain
_base_ = ['../../_base_/digits_resnet18_w32.py']

model = dict(
    backbone=dict(
        type='ResNet',
        depth=18,
        in_channels=3,
        stem_channels=32,
        base_channels=32,
        out_indices=(3, ),
        style='pytorch'))
data_preprocessor = dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5])

digits = dict(img_size=32, channels=3, interpolation='bilinear')
train_pipeline = [dict(type='RandomCrop', crop_size=64, padding=32), dict(type='PackInputs')]
test_pipeline = [dict(type='RandomCrop', crop_size=64, padding=16), dict(type='PackInputs')]
train_dataloader = dict(dataset=dict(**digits, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(**digits, pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(**digits, pipeline=test_pipeline))

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[12, 18], gamma=0.1),
]
train_cfg = dict(max_epochs=24)
