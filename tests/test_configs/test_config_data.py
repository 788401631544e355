"""The data settings of every recipe read fake files in the real on-disk formats.

For each recipe base the three dataloaders' datasets are built from the config (only
``data_root`` and ``val_size`` changed), one sample of each goes through the config's pipeline
and the config's data preprocessor, and the result has the shape the model expects.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmpretrain.registry import DATASETS, MODELS

from lth_mm.datasets import fixtures

from .conftest import CLS_BASE, load_cfg

# recipe -> (fixture writer, expected split sizes (train, val, test), input shape)
RECIPES: dict[str, tuple[Callable[[Path], object], tuple[int, int, int], tuple[int, ...]]] = {
    'cifar10': (lambda r: fixtures.write_cifar10(r, num_train=30, num_test=10), (20, 10, 10),
                (3, 32, 32)),
    'cifar100': (lambda r: fixtures.write_cifar100(r, num_train=30, num_test=10), (20, 10, 10),
                 (3, 32, 32)),
    'svhn': (lambda r: fixtures.write_svhn(r, num_train=30, num_test=10), (20, 10, 10),
             (3, 32, 32)),
    'fmnist': (lambda r: fixtures.write_fashion_mnist(r, num_train=30, num_test=10, compress=True),
               (20, 10, 10), (1, 28, 28)),
    'in1k': (lambda r: fixtures.write_imagenet(r, num_classes=3, train_per_class=2,
                                               val_per_class=1), (6, 3, 3), (3, 224, 224)),
    'visda2017': (lambda r: fixtures.write_visda2017(r, train_per_class=1, val_per_class=1),
                  (12, 12, 12), (3, 224, 224)),
}


@pytest.mark.parametrize('recipe', list(RECIPES))
def test_recipe_reads_real_formats(recipe: str, tmp_path: Path) -> None:
    write, sizes, shape = RECIPES[recipe]
    write(tmp_path)
    cfg = load_cfg(CLS_BASE / f'resnet50_{recipe}.py')
    preprocessor = MODELS.build(dict(type='ClsDataPreprocessor', **cfg.data_preprocessor))
    for split, size in zip(('train', 'val', 'test'), sizes):
        dataset_cfg = cfg[f'{split}_dataloader'].dataset
        dataset_cfg.data_root = str(tmp_path)
        if 'val_size' in DATASETS.get(dataset_cfg.type).__init__.__code__.co_varnames:
            dataset_cfg.val_size = 10
        dataset = DATASETS.build(dataset_cfg)
        assert len(dataset) == size, split
        batch = preprocessor(pseudo_collate([dataset[0], dataset[len(dataset) - 1]]),
                             training=split == 'train')
        assert batch['inputs'].shape == (2, *shape), split
        assert batch['inputs'].dtype == torch.float32
        labels = [s.gt_label.item() for s in batch['data_samples']]
        assert all(0 <= y < cfg.model.head.num_classes for y in labels)
