"""The classification configs train end to end on fake files in the real on-disk formats.

A handful of CPU iterations of the full-size ResNet-50 on batches of 2: the IMP config runs
two rounds of one iteration each, the transfer config one iteration from MoCo v2 weights written in
the paper's file layout with a ticket saved by lth_mm. Only the dataset sizes, the batch size, the
number of epochs / rounds and the file paths are overridden.
"""
from __future__ import annotations

import copy
import csv
from pathlib import Path
from typing import Callable, Dict

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.runner import Runner

from lth_mm.core import Ticket
from lth_mm.datasets.fixtures import write_cifar10

from .conftest import CLS, load_cfg

pytestmark = pytest.mark.slow


def shrink(cfg: Config, data_root: Path, work_dir: Path) -> Config:
    """Tiny data (2 training images = one batch, 2 val, 2 test), one epoch per round."""
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(batch_size=2, num_workers=0, persistent_workers=False)
        loader.dataset.update(data_root=str(data_root), indices=2)
        if split != 'test':
            loader.dataset.val_size = 8
    cfg.train_cfg.max_epochs = 1
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'test_configs_{work_dir.parent.name}_{work_dir.name}'
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.update(save_optimizer=False, save_param_scheduler=False)
    cfg.randomness = dict(seed=0, deterministic=False)
    return cfg


@pytest.fixture(scope='module')
def cifar10_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp('data') / 'cifar10'
    write_cifar10(root, num_train=20, num_test=8)
    return root


def test_imp_config_runs(cifar10_root: Path, tmp_path: Path) -> None:
    cfg = shrink(load_cfg(CLS / 'cifar10' / 'imp_lt_resnet50_cifar10.py'), cifar10_root,
                 tmp_path / 'imp')
    cfg.custom_hooks[0].rounds = 1
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()

    out = tmp_path / 'imp' / 'imp'
    with open(out / 'summary.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert [int(r['round']) for r in rows] == [0, 1]
    assert float(rows[1]['sparsity']) == pytest.approx(0.2, abs=1e-3)
    assert all(r['test_metric'] not in ('', None) for r in rows)
    assert (out / 'round_01_best.pth').is_file()
    assert (tmp_path / 'imp' / 'epoch_2.pth').is_file()
    ticket = Ticket.load(out / 'tickets' / 'round_01.safetensors')
    assert len(ticket) == 52 and 'backbone.conv1.weight' not in ticket
    params = dict(runner.model.named_parameters())
    for name, mask in ticket.items():
        assert torch.count_nonzero(params[name].detach()[~mask]) == 0, name


def test_transfer_config_runs(cifar10_root: Path, tmp_path: Path,
                              checkpoint_files: Callable[[str], Path],
                              tv_state: Dict[str, torch.Tensor]) -> None:
    # A ticket of a torchvision ResNet-50 (bare names, as from an ImageNet IMP run), 50 % sparse.
    tv = torchvision.models.resnet50()
    tv.load_state_dict(tv_state)
    ticket = Ticket.dense(tv).prune(tv, 0.5)
    ticket_path = tmp_path / 'round_03.safetensors'
    ticket.save(ticket_path)

    cfg = shrink(load_cfg(CLS / 'cifar10' / 'transfer_moco_resnet50_cifar10.py'), cifar10_root,
                 tmp_path / 'transfer')
    cfg.merge_from_dict({
        'model.backbone.init_cfg.2.checkpoint': str(checkpoint_files('moco_v2')),
        'custom_hooks.0.ticket': str(ticket_path)})
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()

    assert list((tmp_path / 'transfer').glob('best_accuracy_top1_epoch_1.pth'))
    params = dict(runner.model.named_parameters())
    for name, mask in ticket.items():
        weight = params[f'backbone.{name}'].detach()
        assert torch.count_nonzero(weight[~mask]) == 0, name
        # One warm-up step (lr 1e-4) from the MoCo query encoder: kept weights barely moved.
        assert torch.allclose(weight[mask], tv_state[name][mask], atol=1e-2), name
    metrics = runner.test()
    assert 'accuracy/top1' in metrics
