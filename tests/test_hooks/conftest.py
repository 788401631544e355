"""Tiny, fast IMP runs: the demo's digits config with a width-8 ResNet-18 and 2-epoch rounds."""
from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import lth_mm  # noqa: F401  (registers lth_mm's modules, applies compat)
from lth_mm.core import Ticket

ROOT = Path(__file__).resolve().parents[2]
BASE_CONFIG = ROOT / 'configs' / '_base_' / 'digits_resnet18_w32.py'
_names = itertools.count()


def tiny_cfg(work_dir: Path, hooks: list, epochs: int = 2, optimizer: Optional[dict] = None,
             train_size: int = 128, **overrides: Any) -> Config:
    """The demo config, shrunk: width 8, ``train_size`` training images, ``epochs`` per round."""
    cfg = Config.fromfile(str(BASE_CONFIG))
    cfg.model.backbone.update(stem_channels=8, base_channels=8)
    cfg.model.head.in_channels = 64
    cfg.train_dataloader.batch_size = 32
    cfg.train_dataloader.dataset.indices = train_size
    cfg.val_dataloader.dataset.indices = 64
    cfg.test_dataloader.dataset.indices = 64
    cfg.train_cfg.max_epochs = epochs
    cfg.param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[epochs - 1],
                                gamma=0.1)]
    if optimizer is not None:
        cfg.optim_wrapper = dict(optimizer=optimizer)
    cfg.custom_hooks = hooks
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'test_{next(_names)}_{work_dir.name}'
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1000)
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.merge_from_dict(overrides)
    return cfg


def build_runner(cfg: Config) -> Runner:
    return Runner.from_cfg(copy.deepcopy(cfg))


def imp_hook(runner: Runner):
    from lth_mm.hooks import IMPHook
    return next(h for h in runner.hooks if isinstance(h, IMPHook))


def conv_params(model: torch.nn.Module) -> Dict[str, torch.Tensor]:
    return {k: v for k, v in model.named_parameters()
            if v.dim() == 4 and not k.endswith('backbone.conv1.weight')}


def assert_masked(model: torch.nn.Module, ticket: Ticket) -> None:
    params = dict(model.named_parameters())
    for name, mask in ticket.items():
        assert torch.count_nonzero(params[name].detach()[~mask]) == 0, name


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    return tmp_path / 'work'
