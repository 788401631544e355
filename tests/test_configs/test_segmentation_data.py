"""The segmentation configs' datasets read the digit canvases written in the VOC 2012 layouts.

``write_voc_segmentation(..., aug=N)`` adds MMSegmentation's augmented set (grey PNG labels in
``SegmentationClassAug/`` and ``ImageSets/Segmentation/aug.txt``); the train, val and test
dataloaders of the paper's configs (VOC 2012 train, or train + aug through a ConcatDataset) build
from the merged configs and return exactly the canvases' pixels and class maps.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from lth_mm.datasets import write_voc_segmentation

from .segmentation_utils import CANVAS_OPTIONS, SEG, datasets, mmseg_default_scope

BASES = SEG / '_base_'


@pytest.fixture(scope='module')
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp('voc')
    splits = write_voc_segmentation(root, train=3, val=2, aug=2, seed=4, **CANVAS_OPTIONS)
    return root / 'VOCdevkit' / 'VOC2012', splits


@pytest.fixture
def mmseg_scope() -> Iterator[None]:
    yield from mmseg_default_scope()


def test_aug_files_are_in_mmsegmentations_layout(written: tuple[Path, dict]) -> None:
    folder, splits = written
    lists = folder / 'ImageSets' / 'Segmentation'
    assert (lists / 'aug.txt').read_text().split() == ['seg_000006', 'seg_000007']
    assert (lists / 'train.txt').read_text().split() == ['seg_000001', 'seg_000002',
                                                          'seg_000003']
    assert splits['aug'].ids == ['seg_000006', 'seg_000007']
    assert splits['trainval'].ids == splits['train'].ids + splits['val'].ids
    for image_id, canvas in zip(*splits['aug']):
        label = Image.open(folder / 'SegmentationClassAug' / f'{image_id}.png')
        assert label.mode == 'L'  # as MMSegmentation's voc_aug.py writes SBD's labels
        assert np.array_equal(np.asarray(label), canvas.class_map)
        assert (folder / 'JPEGImages' / f'{image_id}.jpg').is_file()
        assert not (folder / 'SegmentationClass' / f'{image_id}.png').exists()
    # The augmented canvases continue the train canvases' indices: none repeats a train canvas.
    assert not any(np.array_equal(a.image, t.image) for a in splits['aug'].canvases
                   for t in splits['train'].canvases)
    without = write_voc_segmentation(folder.parent.parent / 'plain', train=3, val=2, seed=4,
                                     **CANVAS_OPTIONS)
    assert 'aug' not in without
    assert all(np.array_equal(a.image, b.image)
               for a, b in zip(without['train'].canvases, splits['train'].canvases))


@pytest.mark.parametrize('base', ['deeplabv3plus_r50-d16_voc12.py',
                                  'deeplabv3plus_r50-d16_voc12aug.py'])
def test_config_dataloaders_read_the_canvases(base: str, written: tuple[Path, dict],
                                              mmseg_scope: None) -> None:
    from mmseg.registry import DATASETS
    folder, splits = written
    cfg = Config.fromfile(str(BASES / base))
    expected = {'train': splits['train'].canvases + (
        splits['aug'].canvases if base.endswith('aug.py') else []),
        'val': splits['val'].canvases, 'test': splits['val'].canvases}
    for split, canvases in expected.items():
        loader = copy.deepcopy(cfg[f'{split}_dataloader'])
        for part in datasets(loader):
            assert part.data_root == 'data/VOCdevkit/VOC2012'
            part.update(data_root=str(folder), pipeline=[dict(type='LoadImageFromFile'),
                                                         dict(type='LoadAnnotations')])
        dataset = DATASETS.build(loader.dataset)
        assert len(dataset) == len(canvases)
        for index, canvas in enumerate(canvases):
            item = dataset[index]
            assert np.array_equal(item['gt_seg_map'], canvas.class_map)
            assert np.abs(item['img'][..., ::-1].astype(int) - canvas.image).mean() < 6  # JPEG
