"""SVHN: the official .mat files, label 10 -> 0, 68,257/5,000/test split."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from mmpretrain.registry import DATASETS

from lth_mm.datasets import SVHN


def test_split_sizes_images_and_labels(svhn: tuple[Path, dict]) -> None:
    root, fake = svhn
    mat = scipy.io.loadmat(str(root / 'train_32x32.mat'))
    assert mat['X'].shape == (32, 32, 3, 600) and mat['y'].shape == (600, 1)
    assert 10 in mat['y'] and 0 not in mat['y']
    for split, src, offset, size in (('train', 'train', 0, 500), ('val', 'train', 500, 100),
                                     ('test', 'test', 0, 100)):
        ds = SVHN(data_root=str(root), split=split, val_size=100)
        assert len(ds) == size
        labels = ds.get_gt_labels()
        np.testing.assert_array_equal(labels, fake[src].labels[offset:offset + size])
        assert labels.min() == 0 and labels.max() == 9
        first = ds.get_data_info(0)
        assert first['source_index'] == offset
        np.testing.assert_array_equal(first['img'], fake[src].images[offset])
    np.testing.assert_array_equal(first['img'], scipy.io.loadmat(
        str(root / 'test_32x32.mat'))['X'][:, :, :, 0])


def test_label_10_is_digit_zero(tmp_path: Path) -> None:
    x = np.zeros((32, 32, 3, 3), np.uint8)
    scipy.io.savemat(str(tmp_path / 'test_32x32.mat'), {'X': x, 'y': np.array([[10], [1], [9]])})
    assert SVHN(data_root=str(tmp_path), split='test').get_gt_labels().tolist() == [0, 1, 9]


def test_build_and_pack(svhn: tuple[Path, dict]) -> None:
    root, fake = svhn
    ds = DATASETS.build(dict(type='SVHN', data_root=str(root), split='test',
                             pipeline=[dict(type='PackInputs')]))
    item = ds[5]
    assert item['inputs'].shape == (3, 32, 32) and item['inputs'].dtype == torch.uint8
    assert int(item['data_samples'].gt_label) == fake['test'].labels[5]


def test_missing_file_says_where_and_url(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        SVHN(data_root=str(tmp_path), split='val')
    message = str(info.value)
    assert 'train_32x32.mat' in message and str(tmp_path) in message
    assert 'http://ufldl.stanford.edu/housenumbers/train_32x32.mat' in message
    with pytest.raises(FileNotFoundError, match='test_32x32.mat'):
        SVHN(data_root=str(tmp_path), split='test')


def test_bad_arguments(svhn: tuple[Path, dict], tmp_path: Path) -> None:
    root, _ = svhn
    assert SVHN(data_root=str(root), lazy_init=True).val_size == 5000
    with pytest.raises(ValueError, match='val_size=5000 must be smaller than the 600'):
        SVHN(data_root=str(root))
    with pytest.raises(ValueError, match="split='extra'"):
        SVHN(data_root=str(root), split='extra')
    with pytest.raises(ValueError, match='data_root'):
        SVHN(split='test')
    scipy.io.savemat(str(tmp_path / 'test_32x32.mat'), {'X': np.zeros((3, 3), np.uint8)})
    with pytest.raises(ValueError, match='not an SVHN 32x32 file'):
        SVHN(data_root=str(tmp_path), split='test')


@pytest.mark.parametrize('x, y, message', [
    (np.zeros((32, 32, 3, 4), np.uint8), [[0], [1], [10], [5]], r'must be 1..10 \(10 is the digit '
     r'0\), got 0..10'),  # a raw 0 is no SVHN label (it was read as the digit 0)
    (np.zeros((32, 32, 3, 2), np.uint8), [[11], [1]], r'must be 1..10 .*got 1..11'),
    (np.full((32, 32, 3, 2), 300.0), [[1], [2]], r'X in .* is float64, not the uint8'),
])
def test_invalid_files_are_refused(tmp_path: Path, x, y, message) -> None:
    scipy.io.savemat(str(tmp_path / 'test_32x32.mat'), {'X': x, 'y': np.array(y)})
    with pytest.raises(ValueError, match=message):
        SVHN(data_root=str(tmp_path), split='test')


def test_a_truncated_file_is_named(svhn: tuple[Path, dict]) -> None:
    root, _ = svhn
    path = root / 'train_32x32.mat'
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    with pytest.raises(ValueError, match=r"SVHN: cannot read .*train_32x32.mat' as a MATLAB file "
                                         r'.*truncated, damaged'):
        SVHN(data_root=str(root), split='train', val_size=10)
