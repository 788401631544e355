# CIFAR-100 (fine labels) with the paper's split (lth_mm's CIFAR100Split): train 45,000 / val the
# last 5,000 of the official training set / test the official 10,000. data_root holds the
# extracted cifar-100-python.tar.gz (data/cifar100/cifar-100-python/{train,test,meta}).
# Same augmentation as CIFAR-10; mean/std of CIFAR-100 as in the original code.
_base_ = ['./cifar10.py']

dataset_type = 'CIFAR100Split'
data_root = 'data/cifar100'
data_preprocessor = dict(
    num_classes=100,
    mean=[129.3105, 124.083, 112.4295],
    std=[51.2295, 50.592, 51.5865])

train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
