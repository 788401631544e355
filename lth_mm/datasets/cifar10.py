"""CIFAR-10 with the paper's hold-out split: train 45k / val 5k (the last 5k) / official test."""
from __future__ import annotations

import os

from mmpretrain.datasets import CIFAR10
from mmpretrain.datasets.utils import check_md5
from mmpretrain.registry import DATASETS

from ._utils import (
    HOLDOUT_SPLITS,
    check_local_source,
    check_split,
    check_val_size,
    holdout_range,
    require_files,
)

__all__ = ['CIFAR10Split']


@DATASETS.register_module()
class CIFAR10Split(CIFAR10):
    """CIFAR-10 (python pickles) split as in the original code, read by mmpretrain's loader.

    'train' is the first ``50000 - val_size`` images of ``data_batch_1..5`` (in file order),
    'val' the last ``val_size`` ones and 'test' the official ``test_batch``. Each data info holds
    ``img`` (32x32x3 uint8, RGB), ``gt_label`` (int) and ``source_index`` (the index in the
    official train or test set). Nothing is downloaded: put the extracted
    ``cifar-10-python.tar.gz`` under ``data_root`` (``data_root/cifar-10-batches-py/...``).

    Args:
        data_root (str): Folder holding ``cifar-10-batches-py/``. Defaults to ''.
        split (str): 'train', 'val' or 'test'. Defaults to 'train'.
        val_size (int): Images held out from the end of the official training set for 'val'.
            Ignored by 'test'. Defaults to 5000.
        check_md5 (bool): Verify the official MD5 sums of the files read (real data only; the
            fake files of :mod:`lth_mm.datasets.fixtures` do not match). Defaults to False.
        download (bool): Must stay False (kept for config compatibility). Defaults to False.
        data_prefix (str): Sub-folder of ``data_root``, as in mmpretrain. Defaults to ''.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset`` (pipeline, test_mode, ...).
    """

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 val_size: int = 5000,
                 check_md5: bool = False,
                 download: bool = False,
                 data_prefix: str = '',
                 **kwargs) -> None:
        name = type(self).__name__
        self.split = check_split(split, HOLDOUT_SPLITS, name)
        self.val_size = check_val_size(val_size, split, name)
        check_local_source(name, download, data_root, data_prefix,
                           f'fetch {self.url} by hand, extract it into data_root and set '
                           'download=False', f'the folder holding {self.base_folder}/')
        self.download = False
        self.check_md5 = check_md5
        # Skip CIFAR10.__init__ (it only accepts 'train'/'test'); its loader is reused below.
        super(CIFAR10, self).__init__(
            ann_file='', data_root=data_root, data_prefix={'root': data_prefix}, **kwargs)

    @property
    def official_split(self) -> str:
        """The official file set the split reads: 'test' for 'test', else 'train'."""
        return 'test' if self.split == 'test' else 'train'

    def load_data_list(self) -> list[dict]:
        """Check the files, load the official set with mmpretrain's loader and slice it."""
        name = type(self).__name__
        folder = os.path.join(self.data_prefix['root'], self.base_folder)
        entries = self.test_list if self.official_split == 'test' else self.train_list
        files = [file_name for file_name, _ in entries]
        require_files(folder, files, name,
                      f'Download {self.url} and extract it into {self.data_prefix["root"]!r}.')
        if self.check_md5:
            bad = [f for f, md5 in entries if not check_md5(os.path.join(folder, f), md5)]
            if bad:
                raise ValueError(f'{name}: MD5 mismatch for {bad} in {folder!r}: the files are '
                                 f'corrupt or not the official ones; download {self.url} again')
        requested, self.split = self.split, self.official_split
        try:
            data_list = super().load_data_list()
        finally:
            self.split = requested
        for index, info in enumerate(data_list):
            info['source_index'] = index
        if self.split == 'test':
            return data_list
        keep = holdout_range(len(data_list), self.val_size, self.split, name)
        return data_list[keep.start:keep.stop]

    def _check_integrity(self) -> bool:
        """Files are checked in :meth:`load_data_list` with clear errors; never download."""
        return True

    def extra_repr(self) -> list[str]:
        """Extra lines of ``repr``."""
        return super().extra_repr() + [f'Split: \t{self.split} (val_size={self.val_size})']
