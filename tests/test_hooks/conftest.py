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


PROBE_MODULE = '''
import json, os
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from lth_mm.core import weights_hash
from lth_mm.hooks import IMPHook


@HOOKS.register_module(force=True)
class RankProbe(Hook):
    """Writes, per rank, the IMP ticket digest at each epoch start and the final weights hash."""

    priority = 'LOWEST'

    def before_train_epoch(self, runner):
        hook = next(h for h in runner.hooks if isinstance(h, IMPHook))
        self.rows = getattr(self, 'rows', [])
        self.rows.append([runner.epoch, hook.round, hook.ticket.digest()])

    def after_train(self, runner):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        out = dict(rows=self.rows, weights=weights_hash(dict(model.named_parameters())))
        with open(os.path.join(runner.work_dir, f'rank{get_rank()}.json'), 'w') as f:
            json.dump(out, f)
'''


def write_config(path: Path, cfg: Config, probe: bool = False) -> Path:
    """Dump ``cfg`` to a file for tools/train.py; ``probe`` adds the RankProbe hook module."""
    if probe:
        (path.parent / 'lth_probe.py').write_text(PROBE_MODULE)
        cfg.custom_imports = dict(imports=['lth_mm', 'lth_probe'], allow_failed_imports=False)
        cfg.custom_hooks = list(cfg.custom_hooks) + [dict(type='RankProbe')]
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg.dump(str(path))
    return path


def tool_env(extra_path: Path) -> dict:
    import os
    import sys
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(extra_path)]),
                OMP_NUM_THREADS='1', PYTHON=sys.executable)


from mmengine.hooks import Hook  # noqa: E402
from mmengine.registry import HOOKS  # noqa: E402


@HOOKS.register_module(force=True)
class CrashAtEpoch(Hook):
    """Test probe: raises at the start of ``epoch``, after the IMP round boundary ran."""

    priority = 'LOWEST'

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def before_train_epoch(self, runner) -> None:
        if runner.epoch == self.epoch:
            raise RuntimeError('simulated crash')
