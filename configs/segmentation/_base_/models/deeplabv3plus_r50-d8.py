# DeepLabv3+ on a ResNet-50 with the torchvision stem, output stride 8: MMSegmentation's
# deeplabv3plus_r50-d8 (the model of its voc12aug configs) with three changes, so that the paper's
# pre-trained weights and tickets fit it:
# - backbone `ResNet` with deep_stem=False (7x7 conv1, bn1, max-pool, the stride in each
#   bottleneck's 3x3 conv) instead of `ResNetV1c`, whose deep stem (stem.*) has no counterpart in
#   torchvision, SimCLR or MoCo files: its keys are torchvision's under `backbone.`
#   (backbone.layer1.0.conv1.weight ...), as in MMSegmentation's *_r50b-d8_* Cityscapes configs.
#   The weights come from a pre-training base (MappedPretrained in the backbone's init_cfg);
#   MMSegmentation's `pretrained='open-mmlab://resnet50_v1c'` (a download) is removed;
# - BN instead of SyncBN, which only runs distributed on GPUs (lth_mm.compat reverts it to BN in
#   CPU DDP runs). On several GPUs: --cfg-options model.backbone.norm_cfg.type=SyncBN
#   model.decode_head.norm_cfg.type=SyncBN (and model.auxiliary_head.norm_cfg.type=SyncBN);
# - 21 classes (Pascal VOC: background + 20).
# Unchanged: strides (1, 2, 1, 1) and dilations (1, 1, 2, 4) with contract_dilation (output
# stride 8), the depthwise-separable ASPP head on layer4 with rates (1, 12, 24, 36) and layer1
# (256 channels -> 48) as low-level features, the FCN auxiliary head on layer3 (loss weight 0.4).
# zero_init_residual=False, torchvision's default. Neither head is ever pruned: the experiments
# prune `backbone.` only.
_base_ = ['mmseg::_base_/models/deeplabv3plus_r50-d8.py']

norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        type='ResNet', deep_stem=False, zero_init_residual=False, norm_cfg=norm_cfg),
    decode_head=dict(num_classes=21, norm_cfg=norm_cfg),
    auxiliary_head=dict(num_classes=21, norm_cfg=norm_cfg))
