# SVHN (cropped digits) with the paper's split (lth_mm's SVHN): train = the first 68,257 images of
# train_32x32.mat, val = its last 5,000, test = test_32x32.mat (26,032); extra_32x32.mat unused.
# data_root holds the two .mat files (data/svhn/{train,test}_32x32.mat).
# As in the original code (dataset.py) SVHN is trained without augmentation (digits must not be
# flipped); to add the padded random crop, put dict(type='RandomCrop', crop_size=32, padding=4)
# before PackInputs in train_pipeline.
_base_ = ['./cifar10.py']

dataset_type = 'SVHN'
data_root = 'data/svhn'
data_preprocessor = dict(
    num_classes=10,
    mean=[111.6135, 113.169, 120.564],
    std=[30.6255, 31.3905, 26.826])

train_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
