"""tools/train.py and tools/test.py: command-line arguments to config, in-process (no training)."""
from __future__ import annotations

import importlib.util
import os
import subprocess
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


@pytest.mark.parametrize('config_path, expected', [
    ('configs/demo/imp_digits_resnet18_w32.py',
     dict(enable=True, out_dir='shown', interval=1)),
    ('configs/demo/detection/yolo_r18w32_digit_canvas.py',
     dict(draw=True, test_out_dir='shown')),
    ('configs/demo/segmentation/deeplabv3plus_r18w32_digit_canvas.py',
     dict(draw=True, interval=1)),
])
def test_show_dir_turns_on_each_codebases_visualization(eval_tool: ModuleType, config_path: str,
                                                        expected: dict) -> None:
    cfg = merged(eval_tool, [REPO / config_path, 'ckpt.pth', '--show-dir', 'shown'])
    hook = cfg.default_hooks.visualization
    assert {key: hook[key] for key in expected} == expected
    if hook.type.endswith('SegVisualizationHook'):  # MMSeg's visualizer saves the images
        assert cfg.visualizer.save_dir == 'shown'
    plain = merged(eval_tool, [REPO / config_path, 'ckpt.pth'])
    assert plain.default_hooks.visualization == Config.fromfile(
        str(REPO / config_path)).default_hooks.visualization


def test_show_dir_without_a_visualization_hook_says_what_to_add(eval_tool: ModuleType,
                                                                tmp_path: Path) -> None:
    bare = tmp_path / 'bare.py'
    bare.write_text("default_hooks = dict(logger=dict(type='LoggerHook'))\n")
    with pytest.raises(ValueError, match=r"--show-dir v: default_hooks.visualization is missing;"
                                         r".*DetVisualizationHook"):
        merged(eval_tool, [bare, 'ckpt.pth', '--show-dir', 'v'])
    bare.write_text("default_hooks = dict(visualization=dict(type='MyHook'))\n")
    with pytest.raises(ValueError, match="default_hooks.visualization is 'MyHook'"):
        merged(eval_tool, [bare, 'ckpt.pth', '--show-dir', 'v'])


def test_test_out_must_be_a_pickle_file(eval_tool: ModuleType, config: Path,
                                        capsys: pytest.CaptureFixture) -> None:
    # mmengine's DumpResults refused it only after the runner was built, with a traceback.
    with pytest.raises(SystemExit):
        eval_tool.parse_args([str(config), 'ckpt.pth', '--out', 'preds.json'])
    assert 'name the file .pkl or .pickle' in capsys.readouterr().err
    assert eval_tool.parse_args([str(config), 'ckpt.pth', '--out', 'preds.pkl']).out == 'preds.pkl'


@pytest.mark.parametrize('script, tool, work', [
    ('slurm_train.sh', 'train.py', 'WORK'),
    ('slurm_test.sh', 'test.py', 'CKPT'),
])
def test_slurm_scripts_hand_srun_a_command_the_tool_accepts(
        script: str, tool: str, work: str, config: Path, tmp_path: Path) -> None:
    """The slurm scripts run under a stand-in ``srun`` that writes down its arguments: srun gets
    the job's shape, and the tool (tools/train.py or tools/test.py) parses the rest."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    fake = bin_dir / 'srun'
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$SRUN_RECORD"\n'
                    'printf "%s\\n" "$PYTHONPATH" > "$SRUN_RECORD.pythonpath"\n')
    fake.chmod(0o755)
    record = tmp_path / 'srun_args.txt'
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}', SRUN_RECORD=str(record),
               GPUS='4', GPUS_PER_NODE='2', SRUN_ARGS='--quotatype=auto --time=10',
               PYTHON='/opt/py/bin/python')
    subprocess.run(['bash', str(REPO / 'tools' / script), 'gpu_part', 'lt_job', str(config),
                    work, '--cfg-options', 'train_cfg.max_epochs=3'],
                   env=env, check=True, timeout=60)
    argv = record.read_text().splitlines()
    python = argv.index('/opt/py/bin/python')
    assert argv[:python] == ['-p', 'gpu_part', '--job-name=lt_job', '--gres=gpu:2', '--ntasks=4',
                             '--ntasks-per-node=2', '--cpus-per-task=5', '--kill-on-bad-exit=1',
                             '--quotatype=auto', '--time=10']
    assert argv[python + 1:python + 3] == ['-u', str(REPO / 'tools' / tool)]
    assert Path(f'{record}.pythonpath').read_text().strip().split(':')[0] == str(REPO)
    args = load_tool(tool).parse_args(argv[python + 3:])
    assert (args.config, args.launcher, args.cfg_options) == (
        str(config), 'slurm', {'train_cfg.max_epochs': 3})
    assert (args.work_dir if tool == 'train.py' else args.checkpoint) == work


@pytest.mark.parametrize('script, needs', [('dist_train.sh', 2), ('dist_test.sh', 3),
                                           ('slurm_train.sh', 4), ('slurm_test.sh', 4)])
def test_launch_scripts_name_their_arguments_when_some_are_missing(script: str,
                                                                   needs: int) -> None:
    short = subprocess.run(['bash', str(REPO / 'tools' / script), *['x'] * (needs - 1)],
                           capture_output=True, text=True, timeout=60)
    assert (short.returncode, short.stdout) == (2, '')
    assert short.stderr.startswith(f'usage: tools/{script} ') and 'unbound' not in short.stderr


@pytest.mark.parametrize('tool_name', ['train.py', 'test.py'])
def test_cfg_options_launcher_wins_over_the_default(tool_name: str, config: Path) -> None:
    """As in MMDet and MMSeg, ``--cfg-options launcher=...`` is not overridden by --launcher's
    default (it was: 'none')."""
    tool = load_tool(tool_name)
    extra = ['ckpt.pth'] if tool_name == 'test.py' else []
    cfg = merged(tool, [config, *extra, '--cfg-options', 'launcher=pytorch'])
    assert cfg.launcher == 'pytorch'
    assert cfg.env_cfg.dist_cfg.backend == ('nccl' if torch.cuda.is_available() else 'gloo')


@pytest.mark.parametrize('tool_name', ['train.py', 'test.py'])
def test_allow_pickle_opts_in_for_checkpoints(tool_name: str, config: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from lth_mm.compat import ALLOW_PICKLE_ENV, checkpoint_pickle_allowed

    monkeypatch.setenv(ALLOW_PICKLE_ENV, '0')  # recorded: the tool's opt-in is undone after
    monkeypatch.delenv(ALLOW_PICKLE_ENV)
    tool = load_tool(tool_name)
    extra = ['ckpt.pth'] if tool_name == 'test.py' else []
    tool.parse_args([str(config), *extra])
    assert not checkpoint_pickle_allowed()
    tool.parse_args([str(config), *extra, '--allow-pickle'])
    assert os.environ[ALLOW_PICKLE_ENV] == '1' and checkpoint_pickle_allowed()


@pytest.mark.parametrize('tool_name', ['train.py', 'test.py'])
def test_cfg_options_keep_spaces_in_a_single_value(tool_name: str, config: Path) -> None:
    """MMEngine's DictAction deletes spaces: a ticket at '/data/my runs/t.safetensors' was read
    from '/data/myruns/t.safetensors'. Lists parse as MMEngine parses them."""
    tool = load_tool(tool_name)
    extra = ['ckpt.pth'] if tool_name == 'test.py' else []
    args = tool.parse_args([str(config), *extra, '--cfg-options',
                            'custom_hooks.0.ticket=/data/my runs/t.safetensors',
                            'a=[1, 2]', 'b=(x, y)', 'c=3', 'd=0.5', 'e=True', 'f=None', 'g=p,q',
                            "h=' quoted '"])
    assert args.cfg_options == {'custom_hooks.0.ticket': '/data/my runs/t.safetensors',
                                'a': [1, 2], 'b': ('x', 'y'), 'c': 3, 'd': 0.5, 'e': True,
                                'f': None, 'g': ['p', 'q'], 'h': 'quoted'}
