"""Datasets lth_mm registers in MMPretrain's ``DATASETS`` registry.

Importing this package registers ``Digits``, ``CIFAR10Split``, ``CIFAR100Split``,
``FashionMNISTSplit``, ``SVHN`` and ``VisDA2017``. ImageNet needs nothing new: mmpretrain's
``ImageNet`` reads the ``train/``, ``val/``, ``meta/{train,val}.txt`` layout. Fake datasets in
the real on-disk formats, for tests and demos, are written by :mod:`lth_mm.datasets.fixtures`;
digit canvases for detection and segmentation (real handwriting in the Pascal VOC layouts that
MMDetection and MMSegmentation read) by :mod:`lth_mm.datasets.digit_canvas`.
"""
from .cifar10 import CIFAR10Split
from .cifar100 import CIFAR100Split
from .digit_canvas import (
    DigitCanvas,
    make_digit_canvases,
    write_voc_detection,
    write_voc_segmentation,
)
from .digits import Digits, digits_split_indices
from .fashion_mnist import FashionMNISTSplit
from .svhn import SVHN
from .visda import VisDA2017

__all__ = [
    'SVHN',
    'CIFAR10Split',
    'CIFAR100Split',
    'DigitCanvas',
    'Digits',
    'FashionMNISTSplit',
    'VisDA2017',
    'digits_split_indices',
    'make_digit_canvases',
    'write_voc_detection',
    'write_voc_segmentation'
]
