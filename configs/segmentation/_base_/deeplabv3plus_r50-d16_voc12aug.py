# deeplabv3plus_r50-d16_voc12.py trained on the augmented set (MMSegmentation's voc12aug: the
# VOC 2012 train images plus the SBD annotations, 10,582 images: ImageSets/Segmentation/train.txt
# with SegmentationClass/ and aug.txt with SegmentationClassAug/, as written by MMSegmentation's
# tools/dataset_converters/voc_aug.py). Same model, recipe and validation set.
_base_ = [
    './models/deeplabv3plus_r50-d16.py', 'mmseg::_base_/datasets/pascal_voc12_aug.py',
    './schedules/voc12_bs4_30k.py', './default_runtime.py'
]

crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
