# The paper's segmenter: DeepLabv3+ on a ResNet-50 with the torchvision stem at output stride 16
# (VainF/DeepLabV3Plus-Pytorch `deeplabv3plus_resnet50`, output_stride=16, as run by the original
# Segmentation/main_*.py), built from MMSegmentation's modules (deeplabv3plus_r50-d8.py beside
# this file, whose notes apply):
# - output stride 16: layer3 strided, layer4 dilated (strides (1, 2, 2, 1), dilations
#   (1, 1, 1, 2); the first block of layer4 at dilation 1, as torchvision's
#   replace_stride_with_dilation) and ASPP rates (1, 6, 12, 18);
# - layer1 (256 channels, stride 4) as the low-level features (c1_in_channels=256 -> 48);
# - no auxiliary head (the original has none);
# - BN momentum 0.01 in the backbone (the original's set_bn_momentum(model.backbone, 0.01));
# - cross-entropy averaged over the non-ignored pixels (avg_non_ignore=True), as the original's
#   nn.CrossEntropyLoss(ignore_index=255).
# The decode head is MMSegmentation's DepthwiseSeparableASPPHead (512 channels, depthwise
# separable ASPP and decoder convs), not the original's plain 256-channel head; it stays dense.
_base_ = ['./deeplabv3plus_r50-d8.py']

model = dict(
    backbone=dict(
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        norm_cfg=dict(type='BN', requires_grad=True, momentum=0.01)),
    decode_head=dict(
        dilations=(1, 6, 12, 18),
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            avg_non_ignore=True)),
    auxiliary_head=None)
