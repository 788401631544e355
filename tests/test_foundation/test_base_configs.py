"""The three codebases' ``_base_`` prefixes resolve offline and their models train on the CPU.

Each case inherits a released config through its ``mmpretrain::`` / ``mmdet::`` / ``mmseg::``
prefix (which needs setuptools < 81), switches off what would download (YOLOv3's darknet53
``init_cfg``, DeepLabV3+'s ``pretrained``), builds the model with its codebase's registry, runs
``init_weights`` with the network blocked, and one forward + backward on a tiny batch.
"""
from __future__ import annotations

import importlib
import math
import socket
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData, PixelData

pytestmark = pytest.mark.slow


def cls_samples(n: int, size: int) -> list:
    from mmpretrain.structures import DataSample
    return [DataSample().set_gt_label(i % 10) for i in range(n)]


def det_samples(n: int, size: int) -> list:
    from mmdet.structures import DetDataSample
    samples = []
    for i in range(n):
        sample = DetDataSample(metainfo=dict(
            img_shape=(size, size), ori_shape=(size, size), scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[10.0, 20.0, 60.0, 90.0], [70.0, 5.0, 120.0, 40.0]]),
            labels=torch.tensor([i, 3]))
        samples.append(sample)
    return samples


def seg_samples(n: int, size: int) -> list:
    from mmseg.structures import SegDataSample
    samples = []
    for i in range(n):
        sample = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size)))
        seg = torch.zeros(1, size, size, dtype=torch.long)
        seg[:, size // 4:, : size // 2] = i + 1
        seg[:, :8, :] = 255  # ignore_index
        sample.gt_sem_seg = PixelData(data=seg)
        samples.append(sample)
    return samples


CASES = {
    'mmpretrain-resnet50': ('mmpretrain', 'mmpretrain::resnet/resnet50_8xb32_in1k.py', '',
                            64, cls_samples),
    'mmdet-yolov3': ('mmdet', 'mmdet::yolo/yolov3_d53_8xb8-ms-608-273e_coco.py',
                     'model = dict(backbone=dict(init_cfg=None))\n', 128, det_samples),
    'mmseg-deeplabv3plus': (
        'mmseg', 'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-20k_voc12aug-512x512.py',
        'model = dict(pretrained=None, data_preprocessor=dict(size=(128, 128)))\n', 128,
        seg_samples),
}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f'network access attempted: {args}')
    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)


@pytest.mark.parametrize('case', list(CASES))
def test_base_config_builds_and_trains(case: str, tmp_path: Path, no_network: None) -> None:
    scope, base, overrides, size, make_samples = CASES[case]
    config = tmp_path / f'{case}.py'
    config.write_text(f'_base_ = [{base!r}]\n{overrides}')
    cfg = Config.fromfile(config)
    assert cfg.default_scope == scope

    importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
    models = importlib.import_module(f'{scope}.registry').MODELS
    model_cfg = cfg.model
    if cfg.get('data_preprocessor') is not None:  # as the Runner merges it
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(scope):
        model = models.build(model_cfg)
        model.init_weights()
    model = revert_sync_batchnorm(model)  # mmseg's SyncBN needs a process group
    model.train()

    torch.manual_seed(0)
    inputs = [torch.randint(0, 256, (3, size, size), dtype=torch.uint8) for _ in range(2)]
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=make_samples(2, size)), True)
    losses = model(**data, mode='loss')
    loss, log_vars = model.parse_losses(losses)
    assert math.isfinite(loss.item()) and loss.item() > 0, log_vars
    loss.backward()

    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    missing = [n for n, p in params if p.grad is None]
    assert not missing, f'parameters without a gradient: {missing[:5]}'
    assert all(torch.isfinite(p.grad).all() for _, p in params)
    # The gradient reaches the stem (zero_init_residual and untouched classes zero out others).
    for name, param in (params[0], params[-1]):
        assert param.grad.abs().sum() > 0, f'zero gradient at {name}'
