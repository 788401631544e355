"""CIFAR-10 with the paper's hold-out split: train 45k / val 5k (the last 5k) / official test."""
from __future__ import annotations

import io
import os
import pickle

import numpy as np
from mmpretrain.datasets import CIFAR10
from mmpretrain.datasets.utils import check_md5
from mmpretrain.registry import DATASETS

from ..core.torch_file import check_dtype_states, numpy_multiarray, plain_dtype
from ._utils import (
    HOLDOUT_SPLITS,
    check_local_source,
    check_split,
    check_val_size,
    holdout_range,
    require_files,
)

__all__ = ['CIFAR10Split', 'read_cifar_batch']


class _CifarUnpickler(pickle.Unpickler):
    """Builds what a CIFAR python batch holds (dicts, lists, strings, numbers, numpy arrays) and
    nothing else: no code runs from the file."""

    def find_class(self, module: str, name: str):
        multiarray = numpy_multiarray()
        allowed = {
            ('numpy.core.multiarray', '_reconstruct'): multiarray._reconstruct,
            ('numpy._core.multiarray', '_reconstruct'): multiarray._reconstruct,
            ('numpy.core.multiarray', 'scalar'): multiarray.scalar,
            ('numpy._core.multiarray', 'scalar'): multiarray.scalar,
            ('numpy', 'ndarray'): np.ndarray,
            ('numpy', 'dtype'): plain_dtype,  # plain data only: no object fields
            ('_codecs', 'encode'): _latin1_encode,  # bytes pickled by Python 3, protocol 2
        }
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f'it refers to {module}.{name}, which a CIFAR batch '
                                         'never holds')
        return allowed[module, name]


def _latin1_encode(text: str, encoding: str = 'latin1') -> bytes:
    """``_codecs.encode`` as protocol-2 pickles of bytes use it (latin-1 only)."""
    if encoding not in ('latin1', 'latin-1'):
        raise pickle.UnpicklingError(f'_codecs.encode with {encoding!r}')
    return text.encode('latin1')


def read_cifar_batch(path: str, dataset: str, url: str) -> dict:
    """One CIFAR python file (a batch or ``meta``), read as plain data.

    mmpretrain's loader unpickles these files in full, which would run any code a file put in
    it; this reader builds only dicts, lists, strings, numbers and numpy arrays. A truncated or
    damaged file fails with an error naming it.
    """
    try:
        with open(path, 'rb') as f:
            data = f.read()
        check_dtype_states(data)  # a dtype state may set a byte order only
        entry = _CifarUnpickler(io.BytesIO(data), encoding='latin1').load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, MemoryError) as err:
        raise ValueError(f'{dataset}: cannot read {path!r} as a CIFAR python file ({err}): it is '
                         f'truncated, damaged or not from {url}; download and extract the '
                         'archive again (check_md5=True verifies the official files)') from err
    if not isinstance(entry, dict):
        raise ValueError(f'{dataset}: {path!r} holds a {type(entry).__name__}, not the dict of a '
                         'CIFAR python file')
    return entry


@DATASETS.register_module()
class CIFAR10Split(CIFAR10):
    """CIFAR-10 (python pickles) split as in the original code, read as plain data.

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
        """Check the files, read the official set as plain data (:func:`read_cifar_batch`) and
        slice it."""
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
        images, labels = [], []
        for file_name in files:  # as mmpretrain's CIFAR10.load_data_list, read as plain data
            path = os.path.join(folder, file_name)
            entry = read_cifar_batch(path, name, self.url)
            key = 'labels' if 'labels' in entry else 'fine_labels'
            data, targets = entry.get('data'), entry.get(key)
            if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
                    or data.shape[1] != 3072 or not isinstance(targets, list) \
                    or len(targets) != len(data):
                raise ValueError(f'{name}: {path!r} is not a CIFAR batch (expected "data", uint8 '
                                 f'N x 3072, and "labels" or "fine_labels", N ints)')
            images.append(data)
            labels.extend(targets)
        images = np.vstack(images).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        num_classes = len(self.CLASSES or ())
        if labels and num_classes and (min(labels) < 0 or max(labels) >= num_classes):
            raise ValueError(f'{name}: labels in {folder!r} must be 0..{num_classes - 1}, '
                             f'got {min(labels)}..{max(labels)}')
        data_list = [{'img': img, 'gt_label': int(label), 'source_index': index}
                     for index, (img, label) in enumerate(zip(images, labels))]
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
