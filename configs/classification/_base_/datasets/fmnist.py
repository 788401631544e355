# Fashion-MNIST with the paper's split (lth_mm's FashionMNISTSplit): train = the first 55,000
# training images, val = the last 5,000, test = the official 10,000 (t10k). data_root holds the
# four idx files, extracted or still gzipped (data/fmnist/train-images-idx3-ubyte[.gz], ...).
# As in the original code: native 28x28 grey images (the 1-channel ResNet-50 stem of
# resnet50_fmnist.py), no augmentation, normalised with mean 0.1436 / std 0.1609 (x 255).
_base_ = ['./cifar10.py']

dataset_type = 'FashionMNISTSplit'
data_root = 'data/fmnist'
data_preprocessor = dict(num_classes=10, mean=[36.618], std=[41.0295], to_rgb=False)

train_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
