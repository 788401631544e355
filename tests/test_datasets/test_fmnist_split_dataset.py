"""FashionMNISTSplit: 55k/5k/test split of the idx files, extracted or gzipped."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from mmpretrain.datasets import FashionMNIST
from mmpretrain.registry import DATASETS

from lth_mm.datasets import FashionMNISTSplit
from lth_mm.datasets.fixtures import write_fashion_mnist


def test_split_sizes_and_contents(fashion_mnist: tuple[Path, dict]) -> None:
    root, fake = fashion_mnist
    sizes = {}
    for split, src, offset in (('train', 'train', 0), ('val', 'train', 500), ('test', 'test', 0)):
        ds = FashionMNISTSplit(data_root=str(root), split=split, val_size=100)
        sizes[split] = len(ds)
        images = np.stack([ds.get_data_info(i)['img'] for i in range(len(ds))])
        np.testing.assert_array_equal(images, fake[src].images[offset:offset + len(ds)])
        np.testing.assert_array_equal(ds.get_gt_labels(),
                                      fake[src].labels[offset:offset + len(ds)])
        assert ds.get_data_info(0)['source_index'] == offset
    assert sizes == {'train': 500, 'val': 100, 'test': 100}


def test_test_split_ignores_test_mode(fashion_mnist: tuple[Path, dict]) -> None:
    root, fake = fashion_mnist
    for test_mode in (False, True):
        ds = FashionMNISTSplit(data_root=str(root), split='test', test_mode=test_mode)
        np.testing.assert_array_equal(ds.get_gt_labels(), fake['test'].labels)


@pytest.mark.filterwarnings('ignore:The given NumPy array is not writable')
def test_mmpretrain_fashion_mnist_picks_files_by_test_mode(tmp_path: Path) -> None:
    """The quirk FashionMNISTSplit avoids: mmpretrain 1.2.0 reads the training files for
    split='test' unless test_mode=True."""
    write_fashion_mnist(tmp_path, num_train=30, num_test=10)
    assert len(FashionMNIST(data_root=str(tmp_path), split='test', download=False)) == 30
    assert len(FashionMNISTSplit(data_root=str(tmp_path), split='test')) == 10


def test_pack_gives_one_channel(fashion_mnist: tuple[Path, dict]) -> None:
    root, fake = fashion_mnist
    ds = DATASETS.build(dict(type='FashionMNISTSplit', data_root=str(root), split='train',
                             val_size=100, pipeline=[dict(type='PackInputs')]))
    item = ds[3]
    assert item['inputs'].shape == (1, 28, 28) and item['inputs'].dtype == torch.uint8
    assert int(item['data_samples'].gt_label) == fake['train'].labels[3]
    assert ds.get_data_info(0)['img'].flags.writeable


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        FashionMNISTSplit(data_root=str(tmp_path), split='val', val_size=10)
    message = str(info.value)
    assert 'train-images-idx3-ubyte' in message and 'train-labels-idx1-ubyte' in message
    assert str(tmp_path) in message and 'fashion-mnist' in message
    with pytest.raises(FileNotFoundError, match='t10k-images-idx3-ubyte'):
        FashionMNISTSplit(data_root=str(tmp_path), split='test')


def test_val_size_too_large(fashion_mnist: tuple[Path, dict]) -> None:
    root, _ = fashion_mnist
    with pytest.raises(ValueError, match='val_size=600 must be smaller'):
        FashionMNISTSplit(data_root=str(root), split='train', val_size=600)


@pytest.mark.parametrize('compress', [False, True])
def test_a_truncated_file_is_named(tmp_path: Path, compress: bool) -> None:
    write_fashion_mnist(tmp_path, num_train=50, num_test=10, compress=compress)
    path = tmp_path / ('train-images-idx3-ubyte' + ('.gz' if compress else ''))
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    with pytest.raises(ValueError, match=r"FashionMNISTSplit: cannot read .*train-images-idx3-"
                                         r"ubyte(.gz)?' as an idx file .*truncated, damaged"):
        FashionMNISTSplit(data_root=str(tmp_path), split='train', val_size=10)
