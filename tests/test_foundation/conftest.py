"""Helpers of the foundation tests: tiny CIFAR-10 pickles, a tiny classifier config, tool runs."""
from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PER_BATCH = 8  # images per CIFAR-10 pickle: 40 train images, 8 test images
BATCH_SIZE = 4

TINY_CLASSIFIER = """\
default_scope = 'mmpretrain'
custom_imports = dict(imports=['lth_mm', 'foundation_plugin'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                  norm_cfg=dict(type='BN')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
              loss=dict(type='CrossEntropyLoss')))
data_preprocessor = dict(num_classes=10, mean=[125.3, 123.0, 113.9], std=[63.0, 62.1, 66.7])
_dataset = dict(type='TinyCIFAR10', data_root={data_root!r}, pipeline=[dict(type='PackInputs')])
train_dataloader = dict(batch_size={batch_size}, num_workers=0,
                        dataset=dict(_dataset, split='train'),
                        sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(batch_size={batch_size}, num_workers=0,
                      dataset=dict(_dataset, split='test'),
                      sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[2], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False))  # as MMPretrain's runtime base
visualizer = dict(type='UniversalVisualizer', vis_backends=[dict(type='LocalVisBackend')])
custom_hooks = [dict(type='RankStateHook')]
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
randomness = dict(seed=0)
log_level = 'INFO'
load_from = None
resume = False
"""


def write_cifar10(root: Path, per_batch: int = PER_BATCH, seed: int = 0) -> Path:
    """Write CIFAR-10 python pickles (the official layout and keys) with random images."""
    rng = np.random.default_rng(seed)
    folder = root / 'cifar-10-batches-py'
    folder.mkdir(parents=True, exist_ok=True)
    for name in [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch']:
        entry = {
            'batch_label': name,
            'labels': [int(x) for x in rng.integers(0, 10, per_batch)],
            'data': rng.integers(0, 256, (per_batch, 3 * 32 * 32), dtype=np.uint8),
            'filenames': [f'{name}_{i}.png' for i in range(per_batch)],
        }
        (folder / name).write_bytes(pickle.dumps(entry))
    meta = {'label_names': [f'class{i}' for i in range(10)], 'num_cases_per_batch': per_batch,
            'num_vis': 3072}
    (folder / 'batches.meta').write_bytes(pickle.dumps(meta))
    return root


def write_classifier_config(path: Path, data_root: Path, batch_size: int = BATCH_SIZE) -> Path:
    """A tiny mmpretrain classifier (ResNet-18 at 1/8 width) on :func:`write_cifar10` data."""
    path.write_text(TINY_CLASSIFIER.format(data_root=str(data_root), batch_size=batch_size))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run_tool(args: list, timeout: float = 240, env: dict | None = None) -> str:
    """Run ``args`` from the repository root with this interpreter's environment; return output.

    A leading ``.py`` path runs under this interpreter (the project's venv). PYTHONPATH holds the
    repository (``lth_mm``) and this folder (``foundation_plugin``).
    """
    args = [str(a) for a in args]
    if args[0].endswith('.py'):
        args = [sys.executable, *args]
    full_env = dict(os.environ, **(env or {}))
    paths = [str(REPO), str(HERE), full_env.get('PYTHONPATH', '')]
    full_env['PYTHONPATH'] = os.pathsep.join(p for p in paths if p)
    proc = subprocess.run(args, cwd=REPO, env=full_env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)
    command = ' '.join(args)
    assert proc.returncode == 0, f'{command} exited {proc.returncode}:\n{proc.stdout[-6000:]}'
    return proc.stdout


@pytest.fixture
def tiny_classifier(tmp_path: Path) -> Path:
    """Config file of the tiny classifier, on fresh tiny CIFAR-10 data in ``tmp_path``."""
    return write_classifier_config(tmp_path / 'tiny_cls.py', write_cifar10(tmp_path / 'data'))
