# The detector: MMDetection's YOLOv3 neck and head on a torchvision-layout ResNet-50, in place of
# the original's "Resnet50-YOLOv4" (torchvision ResNet-50 stages 2-4 -> SPP -> PANet -> YOLO heads;
# MMDetection registers no SPP module, so its YOLOv3 neck stands in for SPP + PANet).
# - Backbone: MMDetection's ResNet-50, whose keys equal torchvision's (`backbone.layer1.0.conv1`):
#   ImageNet / SimCLR / MoCo weights and tickets map by name. Stages 2-4 (`out_indices=(1, 2, 3)`,
#   512 / 1024 / 2048 channels at strides 8 / 16 / 32) feed the neck, as the original.
#   BatchNorm trains as the original's (norm_eval=False, nothing frozen; MMDetection's own ResNet
#   detectors freeze the stem and stage 1 and keep BN statistics fixed): a sparse ticket changes
#   the activations, so the dense pre-trained BN statistics must be re-estimated.
#   zero_init_residual=False, as loading pre-trained weights needs (see _base_/pretrain in
#   configs/classification). No init_cfg here: the experiment configs add the pre-training.
# - Neck / head: mmdet::yolo/yolov3_d53_8xb8-ms-608-273e_coco.py's, for ResNet channels, with the
#   anchors the original uses and 20 VOC classes. They are never pruned. The original's
#   config/yolov4_config.py gives its anchors in grid units of each level's stride (8 / 16 / 32),
#   and model/head/yolo_head.py multiplies them by the stride (pred_wh = exp(t_wh) * anchor *
#   stride): (1.25, 1.625) x 8 = (10, 13) ... (11.65625, 10.1875) x 32 = (373, 326) pixels, the
#   YOLOv3 COCO anchors (the same as MMDetection's YOLOv3). The pixel values in that file's
#   comments, (12, 16) ... (459, 401), are YOLOv4's and are not what it computes with.
# - test_cfg: MMDetection's YOLOv3 test settings; the VOC configs (../yolov3_r50_voc0712.py) replace
#   them with the original's evaluation thresholds.
# - Inputs: RGB normalised with ImageNet mean / std, as the pre-trained weights expect.
data_preprocessor = dict(
    type='DetDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_size_divisor=32)
model = dict(
    type='YOLOV3',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        zero_init_residual=False),
    neck=dict(
        type='YOLOV3Neck',
        num_scales=3,
        in_channels=[2048, 1024, 512],
        out_channels=[512, 256, 128]),
    bbox_head=dict(
        type='YOLOV3Head',
        num_classes=20,
        in_channels=[512, 256, 128],
        out_channels=[1024, 512, 256],
        anchor_generator=dict(
            type='YOLOAnchorGenerator',
            base_sizes=[[(116, 90), (156, 198), (373, 326)],
                        [(30, 61), (62, 45), (59, 119)],
                        [(10, 13), (16, 30), (33, 23)]],
            strides=[32, 16, 8]),
        bbox_coder=dict(type='YOLOBBoxCoder'),
        featmap_strides=[32, 16, 8],
        loss_cls=dict(
            type='CrossEntropyLoss',
            use_sigmoid=True,
            loss_weight=1.0,
            reduction='sum'),
        loss_conf=dict(
            type='CrossEntropyLoss',
            use_sigmoid=True,
            loss_weight=1.0,
            reduction='sum'),
        loss_xy=dict(
            type='CrossEntropyLoss',
            use_sigmoid=True,
            loss_weight=2.0,
            reduction='sum'),
        loss_wh=dict(type='MSELoss', loss_weight=2.0, reduction='sum')),
    # training and testing settings; test_cfg is MMDetection's YOLOv3's (the VOC configs replace
    # it with the original's thresholds, see ../yolov3_r50_voc0712.py)
    train_cfg=dict(
        assigner=dict(
            type='GridAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.5,
            min_pos_iou=0)),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        conf_thr=0.005,
        nms=dict(type='nms', iou_threshold=0.45),
        max_per_img=100))
