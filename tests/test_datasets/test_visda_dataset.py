"""VisDA2017: image_list.txt of train/ and validation/, LoadImageFromFile pipelines, metrics."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from mmpretrain.registry import DATASETS, METRICS

from lth_mm.datasets import VisDA2017
from lth_mm.datasets.fixtures import write_visda2017

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=36, edge='short'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]
CLASSES = ('aeroplane', 'bicycle', 'bus', 'car', 'horse', 'knife', 'motorcycle', 'person', 'plant',
           'skateboard', 'train', 'truck')


@pytest.mark.parametrize('split, folder', [('train', 'train'), ('validation', 'validation'),
                                           ('val', 'validation')])
def test_reads_list_of_split_folder(visda: tuple[Path, dict], split: str, folder: str) -> None:
    root, fake = visda
    ds = VisDA2017(data_root=str(root), split=split)
    assert ds.CLASSES == CLASSES and ds.split_folder == os.path.join(str(root), folder)
    assert len(ds) == len(fake[folder].paths)
    assert [os.path.abspath(ds.get_data_info(i)['img_path']) for i in range(len(ds))] \
        == fake[folder].paths
    np.testing.assert_array_equal(ds.get_gt_labels(), fake[folder].labels)
    assert set(ds.get_gt_labels()) == set(range(12))


def test_pipeline_loads_images(visda: tuple[Path, dict]) -> None:
    root, fake = visda
    ds = DATASETS.build(dict(type='VisDA2017', data_root=str(root), split='train',
                             pipeline=PIPELINE))
    item = ds[len(ds) - 1]
    assert item['inputs'].shape == (3, 32, 32) and item['inputs'].dtype == torch.uint8
    assert int(item['data_samples'].gt_label) == 11
    assert item['data_samples'].img_path == fake['train'].paths[-1]


def test_missing_and_bad_lists(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r'validation.*image_list\.txt'):
        VisDA2017(data_root=str(tmp_path), split='val')
    write_visda2017(tmp_path, train_per_class=1, val_per_class=1)
    list_file = tmp_path / 'train' / 'image_list.txt'
    list_file.write_text(list_file.read_text() + '\naeroplane/x.png 12\n')
    with pytest.raises(ValueError, match=r'image_list\.txt:14: expected .*label 0\.\.11'):
        VisDA2017(data_root=str(tmp_path), split='train')
    list_file.write_text('aeroplane/x.png\n')
    with pytest.raises(ValueError, match=r':1: expected'):
        VisDA2017(data_root=str(tmp_path), split='train')
    list_file.write_text('\n')
    with pytest.raises(ValueError, match='lists no images'):
        VisDA2017(data_root=str(tmp_path), split='train')
    with pytest.raises(ValueError, match="split='test'"):
        VisDA2017(data_root=str(tmp_path), split='test')


def test_single_label_metric_macro_recall_is_mean_class_accuracy() -> None:
    """The config in VisDA2017's docstring reports mean per-class accuracy."""
    rng = np.random.default_rng(0)
    gt = np.repeat(np.arange(12), rng.integers(1, 9, size=12))  # unbalanced, every class present
    pred = np.where(rng.random(len(gt)) < 0.6, gt, rng.integers(0, 12, len(gt)))
    scores = torch.nn.functional.one_hot(torch.as_tensor(pred), 12).float() * 0.9 + 0.1 / 12
    samples = [dict(pred_score=s, gt_label=torch.tensor([g]))
               for s, g in zip(scores, gt, strict=True)]
    results = {}
    for cfg in (dict(type='Accuracy', topk=(1, )),
                dict(type='SingleLabelMetric', items=('recall', ), average='macro'),
                dict(type='SingleLabelMetric', items=('recall', ), average=None)):
        metric = METRICS.build(cfg)
        metric.process({}, samples)
        results.update(metric.evaluate(len(samples)))
    per_class = [np.mean(pred[gt == c] == c) * 100 for c in range(12)]
    assert results['accuracy/top1'] == pytest.approx(np.mean(pred == gt) * 100, abs=1e-4)
    assert results['single-label/recall'] == pytest.approx(np.mean(per_class), abs=1e-4)
    assert results['single-label/recall_classwise'] == pytest.approx(per_class, abs=1e-4)
