"""mmpretrain's ImageNet reads the fake train/, val/, meta/*.txt tree through real pipelines."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from mmpretrain.registry import DATASETS


@pytest.mark.parametrize('split, size', [('train', 12), ('val', 6)])
def test_imagenet_lists(imagenet: tuple[Path, dict], split: str, size: int) -> None:
    root, fake = imagenet
    ds = DATASETS.build(dict(type='ImageNet', data_root=str(root), split=split))
    assert len(ds) == size == len(fake[split].paths) and len(ds.CLASSES) == 1000
    assert [os.path.abspath(ds.get_data_info(i)['img_path']) for i in range(size)] \
        == fake[split].paths
    np.testing.assert_array_equal(ds.get_gt_labels(), fake[split].labels)


@pytest.mark.parametrize('scale, crop', [(36, 32), (256, 224)])
def test_imagenet_test_pipeline(imagenet: tuple[Path, dict], scale: int, crop: int) -> None:
    root, fake = imagenet
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='ResizeEdge', scale=scale, edge='short'),
        dict(type='CenterCrop', crop_size=crop),
        dict(type='PackInputs'),
    ]
    ds = DATASETS.build(dict(type='ImageNet', data_root=str(root), split='val', pipeline=pipeline))
    item = ds[1]
    assert item['inputs'].shape == (3, crop, crop) and item['inputs'].dtype == torch.uint8
    assert int(item['data_samples'].gt_label) == fake['val'].labels[1]
