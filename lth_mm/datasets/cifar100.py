"""CIFAR-100 with the paper's hold-out split: train 45k / val 5k (the last 5k) / official test."""
from __future__ import annotations

from mmpretrain.datasets import CIFAR100
from mmpretrain.registry import DATASETS

from .cifar10 import CIFAR10Split

__all__ = ['CIFAR100Split']


@DATASETS.register_module()
class CIFAR100Split(CIFAR10Split, CIFAR100):
    """CIFAR-100 (python pickles ``train``, ``test``, ``meta``) split as in the original code.

    Same arguments and behaviour as :class:`CIFAR10Split` (fine labels, 100 classes); the files
    are read from ``data_root/cifar-100-python/`` (the extracted ``cifar-100-python.tar.gz``).
    """
