# One state (round) of the paper's segmentation experiments: DeepLabv3+ on a ResNet-50 (torchvision
# stem, output stride 16) on Pascal VOC 2012 (train: the 1,464 images of ImageSets/Segmentation/
# train.txt; val: the 1,449 of val.txt, also the test set, as the paper reports it), 512 x 512
# crops (the original's 513), batch 4, 30k iterations. The experiment configs add a pre-training
# base and lth_mm's hooks. Data: data/VOCdevkit/VOC2012/{JPEGImages, SegmentationClass,
# ImageSets/Segmentation} (docs/segmentation.md).
_base_ = [
    './models/deeplabv3plus_r50-d16.py', 'mmseg::_base_/datasets/pascal_voc12.py',
    './schedules/voc12_bs4_30k.py', './default_runtime.py'
]

crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
