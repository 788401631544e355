"""Shared pieces of the config tests: the config list, a network guard and checkpoint writers.

The checkpoint writers produce small-in-number but full-size ResNet-50 files in each layout the
classification configs read (section 5 of the reference): the paper's torchvision / SimCLR / MoCo
files and MMPretrain's zoo and self-supervised checkpoints. Every tensor holds random values, so
an equality check after loading proves the tensor came from the file.
"""
from __future__ import annotations

import copy
import os
import socket
from pathlib import Path
from typing import Any, Callable, Dict

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.registry import DefaultScope

import lth_mm

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / 'configs'
CLS = CONFIGS / 'classification'
CLS_BASE = CLS / '_base_'
DET = CONFIGS / 'detection'
DET_DEMO = CONFIGS / 'demo' / 'detection'


def runnable_configs() -> list[Path]:
    """Every config meant to be run: classification and demo configs outside ``_base_``.

    The detection demo's detectors (MMDetection models) are in :func:`detection_configs`.
    """
    found = []
    for folder in (CLS, CONFIGS / 'demo'):
        found += [p for p in folder.rglob('*.py') if '_base_' not in p.relative_to(CONFIGS).parts
                  and not _is_demo_detector(p) and not _is_demo_segmentor(p)]
    return sorted(found)


def _is_demo_detector(path: Path) -> bool:
    """The detection demo's detector configs are named ``*yolo*``; its other steps classify."""
    return DET_DEMO in path.parents and 'yolo' in path.name


def _is_demo_segmentor(path: Path) -> bool:
    """The segmentation demo's segmentor configs (tested by the segmentation tests) and the
    self-supervised demo's MoCo configs (tested by its end-to-end demo test); not classifiers."""
    return (CONFIGS / 'demo' / 'segmentation' in path.parents and 'deeplabv3plus' in path.name
            or CONFIGS / 'demo' / 'selfsup' in path.parents and 'mocov2' in path.name)


#: ``LTH_MM_ALL_CONFIGS=1`` runs every experiment config end to end; by default a covering
#: subset runs (every kind of run and every pre-training and ticket file at least once), and the
#: others are reported as skipped. Every config is still built and checked by the config tests.
ALL_CONFIGS = os.environ.get('LTH_MM_ALL_CONFIGS', '') not in ('', '0')


def covering(values: list, chosen: set, why: str, ids: Callable[[Any], str] = str) -> list:
    """``values`` as pytest parameters; those not in ``chosen`` are skipped unless
    ``LTH_MM_ALL_CONFIGS=1`` (``why`` says which chosen ones cover them)."""
    missing = chosen - {ids(v) for v in values}
    assert not missing, f'covering subset names no parameter: {sorted(missing)}'
    skip = pytest.mark.skipif(not ALL_CONFIGS, reason=f'{why}; LTH_MM_ALL_CONFIGS=1 runs it')
    return [pytest.param(v, id=ids(v), marks=() if ids(v) in chosen else skip) for v in values]


def detection_configs() -> list[Path]:
    """Every detector config meant to be run: ``configs/detection`` and the detection demo's."""
    found = [p for p in DET.rglob('*.py') if '_base_' not in p.relative_to(CONFIGS).parts]
    return sorted(found + [p for p in DET_DEMO.rglob('*.py') if _is_demo_detector(p)])


def config_id(path: Path) -> str:
    return str(path.relative_to(CONFIGS))


def load_cfg(*bases: Path | str, body: str = '') -> Config:
    """``Config.fromfile`` of one config, or of a child config of ``bases`` with ``body`` text."""
    if len(bases) == 1 and not body:
        return Config.fromfile(str(bases[0]))
    listed = ', '.join(repr(str(b)) for b in bases)
    return Config.fromstring(f'_base_ = [{listed}]\n{body}', file_format='.py')


@pytest.fixture(scope='session', autouse=True)
def mmpretrain_scope() -> None:
    """Register lth_mm's and MMPretrain's modules and make mmpretrain the default scope."""
    lth_mm.register_all_modules(init_default_scope=False)
    import mmpretrain.utils
    mmpretrain.utils.register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f'network access attempted: {args}')
    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)


# Source weights ---------------------------------------------------------------------------------
def _randomised(state: Dict[str, torch.Tensor], seed: int) -> Dict[str, torch.Tensor]:
    """Random values in every float tensor (running_var kept positive)."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key, value in state.items():
        if not value.is_floating_point():
            out[key] = value.clone()
        elif key.endswith('running_var'):
            out[key] = torch.rand(value.shape, generator=gen) + 0.5
        else:
            out[key] = torch.randn(value.shape, generator=gen) * 0.05
    return out


@pytest.fixture(scope='session')
def tv_state() -> Dict[str, torch.Tensor]:
    """A torchvision ResNet-50 state dict (1000-way fc) with random, distinguishable values."""
    return _randomised(torchvision.models.resnet50().state_dict(), seed=1)


def mlp_head(seed: int) -> Dict[str, torch.Tensor]:
    """MoCo v2's projection head ``fc.0`` / ``fc.2`` (2048 -> 2048 -> 128)."""
    gen = torch.Generator().manual_seed(seed)
    return {'fc.0.weight': torch.randn(2048, 2048, generator=gen),
            'fc.0.bias': torch.randn(2048, generator=gen),
            'fc.2.weight': torch.randn(128, 2048, generator=gen),
            'fc.2.bias': torch.randn(128, generator=gen)}


def _backbone_only(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if not k.startswith('fc.')}


# Layouts: name -> (file name, builder of the object saved) -------------------------------------
def _imagenet_weight(tv: Dict[str, torch.Tensor]) -> dict:
    return dict(tv)


def _simclr_weight(tv: Dict[str, torch.Tensor]) -> dict:
    return {'state_dict': dict(tv)}


def _moco_v2_tar(tv: Dict[str, torch.Tensor]) -> dict:
    encoder_q = {**_backbone_only(tv), **mlp_head(2)}
    encoder_k = {k: v + 1.0 if v.is_floating_point() else v.clone()
                 for k, v in encoder_q.items()}
    state = {f'module.encoder_q.{k}': v for k, v in encoder_q.items()}
    state.update({f'module.encoder_k.{k}': v for k, v in encoder_k.items()})
    state['module.queue'] = torch.randn(128, 64)
    state['module.queue_ptr'] = torch.zeros(1, dtype=torch.long)
    return {'epoch': 800, 'arch': 'resnet50', 'state_dict': state, 'optimizer': {}}


def _moco_pt(tv: Dict[str, torch.Tensor]) -> dict:
    return {**_backbone_only(tv), **mlp_head(2)}


def _mmpretrain_zoo(tv: Dict[str, torch.Tensor]) -> dict:
    state = {f'backbone.{k}': v for k, v in _backbone_only(tv).items()}
    state['head.fc.weight'] = tv['fc.weight']
    state['head.fc.bias'] = tv['fc.bias']
    return {'state_dict': state, 'meta': {}}


def _mmpretrain_moco(tv: Dict[str, torch.Tensor]) -> dict:
    backbone = _backbone_only(tv)
    state = {f'backbone.{k}': v for k, v in backbone.items()}
    state.update({f'momentum_encoder.module.backbone.{k}': v + 1.0 if v.is_floating_point()
                  else v.clone() for k, v in backbone.items()})
    state['momentum_encoder.steps'] = torch.tensor(0)
    state['neck.mlp.0.weight'] = torch.randn(2048, 2048)
    state['neck.mlp.2.weight'] = torch.randn(128, 2048)
    state['queue'] = torch.randn(128, 64)
    state['queue_ptr'] = torch.zeros(1, dtype=torch.long)
    return {'state_dict': state, 'meta': {}}


def _mmpretrain_simclr(tv: Dict[str, torch.Tensor]) -> dict:
    state = {f'backbone.{k}': v for k, v in _backbone_only(tv).items()}
    state['neck.mlp.0.weight'] = torch.randn(2048, 2048)
    state['neck.mlp.2.weight'] = torch.randn(128, 2048)
    return {'state_dict': state, 'meta': {}}


LAYOUTS: Dict[str, tuple[str, Callable[[Dict[str, torch.Tensor]], dict]]] = {
    'torchvision': ('imagenet_weight.pt', _imagenet_weight),
    'simclr': ('simclr_weight.pt', _simclr_weight),
    'moco_v2': ('moco_v2_800ep_pretrain.pth.tar', _moco_v2_tar),
    'moco_pt': ('moco.pt', _moco_pt),
    'mmpretrain_zoo': ('resnet50_8xb32_in1k.pth', _mmpretrain_zoo),
    'mmpretrain_moco': ('mocov2_resnet50_8xb32-coslr-200e_in1k.pth', _mmpretrain_moco),
    'mmpretrain_simclr': ('simclr_resnet50_16xb256-coslr-800e_in1k.pth', _mmpretrain_simclr),
}


@pytest.fixture(scope='session')
def checkpoint_files(tmp_path_factory: pytest.TempPathFactory,
                     tv_state: Dict[str, torch.Tensor]) -> Callable[[str], Path]:
    """``checkpoint_files(layout)``: the path of a file in that layout (written once)."""
    folder = tmp_path_factory.mktemp('checkpoints')
    written: Dict[str, Path] = {}

    def get(layout: str) -> Path:
        if layout not in written:
            name, build = LAYOUTS[layout]
            path = folder / name
            torch.save(build(copy.copy(tv_state)), path)
            written[layout] = path
        return written[layout]

    return get


# Detection ---------------------------------------------------------------------------------------
@pytest.fixture
def mmdet_scope() -> None:
    """Build from MMDetection's registries, as a Runner with ``default_scope='mmdet'``."""
    import mmdet.utils
    mmdet.utils.register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


@pytest.fixture
def fast_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two costs of a Runner that would dominate tests of a few iterations, removed without
    changing any result: ``Config.pretty_text`` (yapf formats the whole config for the log and
    every checkpoint's meta, ~3 s a time for a detection config; here the plain dict text) and
    the 4 processes ``VOCMetric`` forks per IoU threshold (threads here, the same computation)."""
    from multiprocessing.pool import ThreadPool

    from mmdet.evaluation.functional import mean_ap
    monkeypatch.setattr(Config, 'pretty_text', property(lambda cfg: repr(cfg.to_dict())))
    monkeypatch.setattr(mean_ap, 'Pool', ThreadPool)


@pytest.fixture(scope='session')
def voc_digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Digit canvases in the VOC07+12 layout under ``<root>/VOCdevkit``, digits named as VOC's
    first ten classes, so the 20-class detection configs read them unchanged."""
    from mmdet.datasets import VOCDataset

    from lth_mm.datasets.digit_canvas import write_voc_detection
    root = tmp_path_factory.mktemp('voc_digits')
    write_voc_detection(root, trainval=6, test=4, voc2012_trainval=4, seed=0,
                        class_names=VOCDataset.METAINFO['classes'][:10], canvas_size=(96, 96),
                        digit_size=(32, 64), digits_per_image=(1, 3))
    return root


def own_outputs(cfg: Config, work_dir: Path, prefix: str) -> None:
    """Point a full-size MMDetection / MMSegmentation run's outputs at ``work_dir``, its own.

    Only the best checkpoint is written (weights only, as MMEngine writes it): periodic ResNet-50
    checkpoints with their optimizer state are hundreds of MB a test. And the visualizer gets
    the experiment's name: the MMDetection and MMSegmentation configs name theirs 'visualizer',
    so a second Runner in this process would get the first one's instance, which writes into
    the first test's (removed) work dir; the Runner names it by the experiment by default.
    """
    cfg.default_hooks.checkpoint.update(interval=-1, save_last=False)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'{prefix}_{work_dir.parent.name}_{work_dir.name}'
    cfg.visualizer.name = cfg.experiment_name


def shrink_detection(cfg: Config, data_root: Path, work_dir: Path, size: int = 64,
                     iters: int = 2) -> Config:
    """A detection config on ``data_root/VOCdevkit``, ``size``-pixel inputs, batches of 2,
    ``iters`` iterations per round with a validation at the end; nothing else changes."""
    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get('type') in ('Resize', 'RandomResize'):
                node['scale'] = (size, size)
            if node.get('type') == 'Pad':
                node['size'] = (size, size)
            if node.get('type') in ('VOCDataset', 'XMLDataset'):
                node['data_root'] = f'{data_root / "VOCdevkit"}/'
                node['serialize_data'] = False  # no pickling + gc.collect() of a few entries
            for value in node.values():
                visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].update(batch_size=2, num_workers=0, persistent_workers=False)
        visit(cfg[f'{split}_dataloader'])
    cfg.train_cfg.update(max_iters=iters, val_interval=iters)
    cfg.default_hooks.logger.interval = 1
    own_outputs(cfg, work_dir, 'test_detection')
    cfg.randomness = dict(seed=0, deterministic=False)
    for hook in cfg.get('custom_hooks', []):
        if hook.type == 'IMPHook':
            hook.round_length = iters
    return cfg
