"""SVHN (cropped digits, ``*_32x32.mat``) with the paper's hold-out split: 68,257 / 5,000 / test."""
from __future__ import annotations

import os
from typing import ClassVar

import numpy as np
import scipy.io
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from ._utils import HOLDOUT_SPLITS, check_split, check_val_size, holdout_range, require_files

__all__ = ['SVHN']

URL_PREFIX = 'http://ufldl.stanford.edu/housenumbers/'


@DATASETS.register_module()
class SVHN(BaseDataset):
    """SVHN format-2 (cropped 32x32 digits) read from the official MATLAB files.

    'train' is the first ``73257 - val_size`` images of ``train_32x32.mat`` (68,257 by default),
    'val' the last ``val_size`` ones and 'test' ``test_32x32.mat`` (26,032). ``extra_32x32.mat``
    is not used. The files' ``X`` (32x32x3xN uint8) becomes ``img`` (32x32x3 uint8, RGB, like
    mmpretrain's CIFAR) and ``y`` (Nx1, 1..10 where 10 is the digit 0) becomes ``gt_label``
    0..9 (10 -> 0); each data info also holds ``source_index`` (index in the official file).

    Args:
        data_root (str): Folder holding ``train_32x32.mat`` and ``test_32x32.mat``.
        split (str): 'train', 'val' or 'test'. Defaults to 'train'.
        val_size (int): Images held out from the end of the official training set for 'val'.
            Ignored by 'test'. Defaults to 5000.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset`` (pipeline, test_mode, ...).
    """

    METAINFO: ClassVar[dict] = {'classes': tuple(str(digit) for digit in range(10))}
    FILES: ClassVar[dict] = {'train': 'train_32x32.mat', 'test': 'test_32x32.mat'}

    def __init__(self, data_root: str = '', split: str = 'train', val_size: int = 5000,
                 **kwargs) -> None:
        name = type(self).__name__
        self.split = check_split(split, HOLDOUT_SPLITS, name)
        self.val_size = check_val_size(val_size, split, name)
        if not data_root:
            raise ValueError(f'{name}: set data_root to the folder holding '
                             f'{" and ".join(self.FILES.values())}')
        super().__init__(ann_file='', data_root=data_root, **kwargs)

    @property
    def mat_file(self) -> str:
        """Path of the official file the split reads."""
        return os.path.join(self.data_root, self.FILES['test' if self.split == 'test' else 'train'])

    def load_data_list(self) -> list[dict]:
        """Read the ``.mat`` file, map label 10 to 0 and slice the set."""
        name = type(self).__name__
        file_name = os.path.basename(self.mat_file)
        require_files(self.data_root, [file_name], name,
                      f'Download {URL_PREFIX}{file_name} by hand into data_root.')
        try:
            mat = scipy.io.loadmat(self.mat_file, variable_names=('X', 'y'))
        except (OSError, ValueError, TypeError, EOFError) as err:
            raise ValueError(f'{name}: cannot read {self.mat_file!r} as a MATLAB file ({err}): it '
                             f'is truncated, damaged or not {URL_PREFIX}{file_name}; download it '
                             'again') from err
        images, labels = mat.get('X'), mat.get('y')
        if images is None or labels is None or images.ndim != 4 or images.shape[2] != 3 \
                or labels.size != images.shape[3]:
            raise ValueError(f'{name}: {self.mat_file!r} is not an SVHN 32x32 file (expected X of '
                             'shape HxWx3xN and y with N labels)')
        if images.dtype != np.uint8:
            raise ValueError(f'{name}: X in {self.mat_file!r} is {images.dtype}, not the uint8 '
                             'pixels of the SVHN files')
        labels = labels.reshape(-1).astype(np.int64)
        if labels.size and (labels.min() < 1 or labels.max() > 10):  # the files' own labels
            raise ValueError(f'{name}: labels in {self.mat_file!r} must be 1..10 (10 is the digit '
                             f'0), got {labels.min()}..{labels.max()}')
        labels[labels == 10] = 0
        images = np.ascontiguousarray(images.transpose(3, 0, 1, 2))
        if self.split == 'test':
            keep = range(len(labels))
        else:
            keep = holdout_range(len(labels), self.val_size, self.split, name)
        return [{'img': images[i], 'gt_label': int(labels[i]), 'source_index': i} for i in keep]

    def extra_repr(self) -> list[str]:
        """Extra lines of ``repr``."""
        return [f'File: \t{self.mat_file}', f'Split: \t{self.split} (val_size={self.val_size})']
