"""tools/train.py and tools/test.py: command-line arguments to config, in-process (no training)."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import torch
from mmengine.config import Config

from .conftest import REPO


def load_tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f'lth_mm_tools_{name}', REPO / 'tools' / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def train_tool() -> ModuleType:
    return load_tool('train.py')


@pytest.fixture(scope='module')
def eval_tool() -> ModuleType:
    return load_tool('test.py')


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / 'my_config.py'
    path.write_text("optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n"
                    "env_cfg = dict(dist_cfg=dict(backend='nccl'))\ntest_cfg = dict()\n")
    return path


def merged(tool: ModuleType, argv: list) -> Config:
    args = tool.parse_args([str(a) for a in argv])
    return tool.merge_args(Config.fromfile(args.config), args)


def test_train_defaults(train_tool: ModuleType, config: Path) -> None:
    cfg = merged(train_tool, [config])
    assert cfg.work_dir == './work_dirs/my_config'
    assert cfg.launcher == 'none'
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'resume' not in cfg and cfg.optim_wrapper.get('type') is None


def test_train_resume_work_dir_and_options(train_tool: ModuleType, config: Path) -> None:
    # Nothing to resume in w yet: a new run, as configured.
    cfg = merged(train_tool, [config, '--resume', '--work-dir', 'w',
                              '--cfg-options', 'optim_wrapper.optimizer.lr=0.5'])
    assert (cfg.get('resume', False), cfg.work_dir) == (False, 'w')
    assert cfg.optim_wrapper.optimizer.lr == 0.5
    cfg = merged(train_tool, [config, '--resume', 'w/epoch_2.pth'])
    assert (cfg.resume, cfg.load_from) == (True, 'w/epoch_2.pth')


def test_train_launcher_backend(train_tool: ModuleType, config: Path) -> None:
    cfg = merged(train_tool, [config, '--launcher', 'pytorch', '--local-rank', '1'])
    assert cfg.launcher == 'pytorch'
    assert cfg.env_cfg.dist_cfg.backend == ('nccl' if torch.cuda.is_available() else 'gloo')


def test_train_amp(train_tool: ModuleType, config: Path, capsys: pytest.CaptureFixture) -> None:
    if torch.cuda.is_available():
        cfg = merged(train_tool, [config, '--amp'])
        assert (cfg.optim_wrapper.type, cfg.optim_wrapper.loss_scale) == (
            'AmpOptimWrapper', 'dynamic')
        return
    with pytest.raises(SystemExit) as exc:
        train_tool.parse_args([str(config), '--amp'])
    assert exc.value.code == 2
    assert '--amp needs a CUDA GPU' in capsys.readouterr().err


def test_test_tool_arguments(eval_tool: ModuleType, config: Path) -> None:
    cfg = merged(eval_tool, [config, 'ckpt.pth', '--amp', '--launcher', 'pytorch'])
    assert (cfg.load_from, cfg.test_cfg.fp16) == ('ckpt.pth', True)
    assert cfg.work_dir == './work_dirs/my_config'
    assert cfg.env_cfg.dist_cfg.backend == ('nccl' if torch.cuda.is_available() else 'gloo')


def test_gloo_without_env_cfg_and_amp_without_test_cfg(
        train_tool: ModuleType, eval_tool: ModuleType, tmp_path: Path) -> None:
    bare = tmp_path / 'bare.py'
    bare.write_text('test_cfg = None\n')
    cfg = merged(train_tool, [bare, '--launcher', 'pytorch'])
    if not torch.cuda.is_available():
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    cfg = merged(eval_tool, [bare, 'ckpt.pth', '--amp'])
    assert cfg.test_cfg.fp16 is True


def test_test_out_must_be_a_pickle_file(eval_tool: ModuleType, config: Path,
                                        capsys: pytest.CaptureFixture) -> None:
    # mmengine's DumpResults refused it only after the runner was built, with a traceback.
    with pytest.raises(SystemExit):
        eval_tool.parse_args([str(config), 'ckpt.pth', '--out', 'preds.json'])
    assert 'name the file .pkl or .pickle' in capsys.readouterr().err
    assert eval_tool.parse_args([str(config), 'ckpt.pth', '--out', 'preds.pkl']).out == 'preds.pkl'
