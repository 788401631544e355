"""Fashion-MNIST with the paper's hold-out split: train 55k / val 5k (the last 5k) / test 10k."""
from __future__ import annotations

import os
import warnings

import torch
from mmpretrain.datasets import MNIST, FashionMNIST
from mmpretrain.datasets.mnist import read_sn3_pascalvincent_tensor
from mmpretrain.datasets.utils import rm_suffix
from mmpretrain.registry import DATASETS

from ._utils import (
    HOLDOUT_SPLITS,
    check_local_source,
    check_split,
    check_val_size,
    holdout_range,
    require_files,
)

__all__ = ['FashionMNISTSplit']


def _read_idx(path: str, dataset: str, url_prefix: str) -> torch.Tensor:
    """One idx file by mmpretrain's reader; a truncated or damaged one fails naming it."""
    try:
        return read_sn3_pascalvincent_tensor(path, strict=False)
    except (RuntimeError, ValueError, OSError, EOFError, KeyError, IndexError) as err:
        raise ValueError(f'{dataset}: cannot read {path!r} as an idx file ({err}): it is '
                         f'truncated, damaged or not from {url_prefix}; download it again'
                         ) from err


@DATASETS.register_module()
class FashionMNISTSplit(FashionMNIST):
    """Fashion-MNIST (idx files) split as in the original code.

    'train' is the first ``60000 - val_size`` images of ``train-images-idx3-ubyte``, 'val' the
    last ``val_size`` ones and 'test' the official ``t10k`` set. The files lie directly in
    ``data_root``, either extracted (as mmpretrain's ``FashionMNIST`` wants them) or as the
    downloaded ``.gz`` files. Each data info holds ``img`` (28x28 uint8, 2-D like mmpretrain's;
    ``PackInputs`` makes it 1x28x28), ``gt_label`` (int) and ``source_index``.

    Note:
        Unlike mmpretrain's ``FashionMNIST`` (which picks the files from ``test_mode`` and ignores
        ``split``), the files read here depend on ``split`` only.

    Args:
        data_root (str): Folder holding the four idx files. Defaults to ''.
        split (str): 'train', 'val' or 'test'. Defaults to 'train'.
        val_size (int): Images held out from the end of the official training set for 'val'.
            Ignored by 'test'. Defaults to 5000.
        download (bool): Must stay False (kept for config compatibility). Defaults to False.
        data_prefix (str): Sub-folder of ``data_root``, as in mmpretrain. Defaults to ''.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset`` (pipeline, test_mode, ...).
    """

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 val_size: int = 5000,
                 download: bool = False,
                 data_prefix: str = '',
                 **kwargs) -> None:
        name = type(self).__name__
        self.split = check_split(split, HOLDOUT_SPLITS, name)
        self.val_size = check_val_size(val_size, split, name)
        check_local_source(name, download, data_root, data_prefix,
                           f'fetch the files from {self.url_prefix} by hand into data_root',
                           'the folder holding the idx files')
        self.download = False
        # Skip MNIST.__init__ (it only accepts 'train'/'test'); the idx reader is reused below.
        super(MNIST, self).__init__(
            ann_file='', data_root=data_root, data_prefix={'root': data_prefix}, **kwargs)

    def _find(self, file_name: str) -> str:
        """Path of an idx file: extracted if present, else the ``.gz`` one (may be missing)."""
        root = self.data_prefix['root']
        plain = os.path.join(root, rm_suffix(file_name))
        return plain if os.path.isfile(plain) else os.path.join(root, file_name)

    def load_data_list(self) -> list[dict]:
        """Check the files, read them with mmpretrain's idx reader and slice the set."""
        name = type(self).__name__
        entries = self.test_list if self.split == 'test' else self.train_list
        paths = [self._find(file_name) for file_name, _ in entries]
        if not all(os.path.isfile(p) for p in paths):
            plain = [rm_suffix(file_name) for file_name, _ in entries]
            require_files(self.data_prefix['root'], plain, name,
                          f'Download {", ".join(f for f, _ in entries)} from {self.url_prefix} '
                          'into data_root (extracted or still gzipped).')
        with warnings.catch_warnings():  # the reader wraps a read-only buffer; copied below
            warnings.filterwarnings('ignore', message='The given NumPy array is not writable')
            images = _read_idx(paths[0], name, self.url_prefix)
            labels = _read_idx(paths[1], name, self.url_prefix)
        if images.dtype != torch.uint8 or images.ndim != 3 or labels.ndim != 1 \
                or len(images) != len(labels):
            raise ValueError(f'{name}: {paths} are not matching idx image (N x H x W uint8) and '
                             f'label (N) files; got shapes {tuple(images.shape)} and '
                             f'{tuple(labels.shape)}')
        if len(labels) and int(labels.max()) >= len(self.CLASSES):
            raise ValueError(f'{name}: label {int(labels.max())} in {paths[1]!r} is out of range '
                             f'for {len(self.CLASSES)} classes')
        pairs = zip(images.numpy().copy(), labels.tolist(), strict=True)
        data_list = [{'img': img, 'gt_label': int(label), 'source_index': index}
                     for index, (img, label) in enumerate(pairs)]
        if self.split == 'test':
            return data_list
        keep = holdout_range(len(data_list), self.val_size, self.split, name)
        return data_list[keep.start:keep.stop]

    def extra_repr(self) -> list[str]:
        """Extra lines of ``repr``."""
        return super().extra_repr() + [f'Split: \t{self.split} (val_size={self.val_size})']
