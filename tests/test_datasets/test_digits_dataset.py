"""Digits: seeded stratified split of sklearn's load_digits, classes subset, resize, channels."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DATASETS as ROOT_DATASETS
from mmpretrain.models import ClsDataPreprocessor
from mmpretrain.registry import DATASETS
from sklearn.datasets import load_digits

from lth_mm.datasets import Digits

LABELS = load_digits().target


def source(ds: Digits) -> np.ndarray:
    """The load_digits indices a dataset holds."""
    return np.array([ds.get_data_info(i)['source_index'] for i in range(len(ds))])


def test_splits_partition_the_data_and_are_stratified() -> None:
    parts = {split: source(Digits(split=split)) for split in ('train', 'val', 'test')}
    everything = np.concatenate(list(parts.values()))
    assert len(everything) == len(set(everything)) == 1797
    counts = np.bincount(LABELS)
    for split, ratio in (('val', 0.2), ('test', 0.2)):
        expected = [round(n * ratio) for n in counts]
        assert np.bincount(LABELS[parts[split]], minlength=10).tolist() == expected
    assert len(parts['train']) == 1797 - len(parts['val']) - len(parts['test'])


def test_split_is_deterministic_in_seed() -> None:
    first, again = Digits(split='test', seed=3), Digits(split='test', seed=3)
    np.testing.assert_array_equal(source(first), source(again))
    np.testing.assert_array_equal(first.get_data_info(7)['img'], again.get_data_info(7)['img'])
    assert not np.array_equal(source(first), source(Digits(split='test', seed=4)))


def test_ratios() -> None:
    sizes = [len(Digits(split=s, val_ratio=0.1, test_ratio=0.3)) for s in ('train', 'val', 'test')]
    assert sum(sizes) == 1797 and sizes[1] == pytest.approx(180, abs=5)
    assert sizes[2] == pytest.approx(539, abs=5)


@pytest.mark.parametrize('digits', [(0, 1, 2, 3, 4), (5, 6, 7, 8, 9), (9, 3)])
def test_classes_subset_is_relabelled_in_given_order(digits: tuple[int, ...]) -> None:
    full = source(Digits(split='train'))
    ds = Digits(split='train', classes=digits)
    idx = source(ds)
    assert set(idx) <= set(full) and set(LABELS[idx]) == set(digits)
    assert len(idx) == np.isin(LABELS[full], digits).sum()  # the split ignores `classes`
    assert ds.CLASSES == tuple(str(d) for d in digits)
    np.testing.assert_array_equal(ds.get_gt_labels(), [digits.index(d) for d in LABELS[idx]])


def test_image_scaling_resize_and_channels() -> None:
    raw = load_digits().images
    small = Digits(split='val').get_data_info(0)
    assert small['img'].shape == (8, 8, 1) and small['img'].dtype == np.uint8
    np.testing.assert_array_equal(small['img'][..., 0],
                                  np.round(raw[small['source_index']] * 255 / 16))
    big = Digits(split='val', img_size=32, channels=3).get_data_info(0)
    assert big['img'].shape == (32, 32, 3) and big['img'].dtype == np.uint8
    upsampled = np.kron(small['img'][..., 0], np.ones((4, 4), np.uint8))
    for channel in range(3):
        np.testing.assert_array_equal(big['img'][..., channel], upsampled)
    smooth = Digits(split='val', img_size=32, interpolation='bilinear').get_data_info(0)
    assert smooth['img'].shape == (32, 32, 1) and not np.array_equal(smooth['img'][..., 0],
                                                                     upsampled)
    assert Digits(split='train').get_data_info(0)['img'].max() <= 255


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(split='all'), ValueError, "split='all'"),
    (dict(channels=2), ValueError, 'channels must be 1 or 3'),
    (dict(img_size=0), ValueError, 'img_size'),
    (dict(interpolation='cubic'), ValueError, 'interpolation'),
    (dict(val_ratio=0.5, test_ratio=0.5), ValueError, 'sum to less than 1'),
    (dict(classes=(10, )), ValueError, 'distinct ints in 0..9'),
    (dict(classes=(1, 1)), ValueError, 'distinct ints in 0..9'),
    (dict(classes=()), ValueError, 'distinct ints in 0..9'),
    (dict(classes='01'), TypeError, 'sequence of digits'),
])
def test_bad_arguments(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        Digits(**kwargs)


def test_build_from_registries_and_preprocess() -> None:
    cfg = dict(type='Digits', split='train', img_size=32, pipeline=[dict(type='PackInputs')])
    ds = DATASETS.build(cfg)
    item = ds[0]
    assert item['inputs'].shape == (1, 32, 32) and item['inputs'].dtype == torch.uint8
    assert int(item['data_samples'].gt_label) == ds.get_data_info(0)['gt_label']
    # A Runner builds through mmengine's root registry under the default scope 'mmpretrain'.
    assert len(ROOT_DATASETS.build(cfg)) == len(ds)
    batch = pseudo_collate([ds[i] for i in range(4)])
    out = ClsDataPreprocessor(mean=[127.5], std=[127.5])(batch)
    assert out['inputs'].shape == (4, 1, 32, 32) and out['inputs'].dtype == torch.float32
    assert [int(s.gt_label) for s in out['data_samples']] == ds.get_gt_labels()[:4].tolist()
