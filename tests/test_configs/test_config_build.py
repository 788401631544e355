"""Every runnable config parses, builds its model, hooks, transforms and metrics, offline.

Nothing is trained and no checkpoint is read: ``MappedPretrained`` initialisers are only checked to
be well-formed (they load in ``init_weights``, see ``test_pretrained_loading.py``), and a
``TicketHook`` placeholder ``ticket='???'`` must be documented in the config's header and refused
at construction, then the hook is built with a real path.
"""
from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import HOOKS, WEIGHT_INITIALIZERS
from mmpretrain.registry import DATASETS, METRICS, MODELS, TRANSFORMS

from lth_mm.core import PruneScope
from lth_mm.engine.runner_utils import has_pretrained_init
from lth_mm.hooks import IMPHook, TicketHook

from .conftest import CLS, CONFIGS, config_id, runnable_configs

ALL = runnable_configs()
CLASSIFICATION = [p for p in ALL if CLS in p.parents]
PAPER_FILES = ('checkpoints/imagenet_weight.pt', 'checkpoints/simclr_weight.pt',
               'checkpoints/moco_v2_800ep_pretrain.pth.tar')


@functools.lru_cache(maxsize=None)
def _parsed(path: Path) -> Config:
    return Config.fromfile(str(path))


def parsed(path: Path) -> Config:
    """The config at ``path``, parsed once per session (a copy: tests may change it)."""
    return copy.deepcopy(_parsed(path))


def walk(node: Any) -> Iterator[dict]:
    """Every dict inside a config node, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from walk(value)


def input_shape(cfg: Config) -> tuple[int, int, int, int]:
    """A small input batch that fits the config's model (small images: the check is channels)."""
    channels = len(cfg.data_preprocessor.mean)
    size = 8 if cfg.model.backbone.type == 'ResNet_CIFAR' else 32
    return (1, channels, size, size)


def test_configs_are_found() -> None:
    names = {p.name for p in CLASSIFICATION}
    for ds in ('cifar10', 'cifar100', 'svhn', 'fmnist'):
        for kind in ('lt', 'rewind_lt', 'pt', 'random', 'pt_trans_imagenet', 'pt_trans_simclr',
                     'pt_trans_moco'):
            assert f'imp_{kind}_resnet50_{ds}.py' in names
        for pt in ('imagenet', 'simclr', 'moco'):
            assert f'transfer_{pt}_resnet50_{ds}.py' in names
    assert 'imp_pt_trans_imagenet_resnet50_in1k.py' in names
    assert {'imp_lt_resnet50_visda2017.py', 'imp_pt_trans_moco_resnet50_visda2017.py',
            'transfer_simclr_resnet50_visda2017.py'} <= names


@pytest.mark.parametrize('path', ALL, ids=config_id)
def test_config_builds(path: Path, tmp_path: Path) -> None:
    cfg = parsed(path)
    assert 'lth_mm' in cfg.custom_imports['imports']

    # Model: builds, its prunable scope is the ResNet's convs without the stem, forward works.
    model = MODELS.build(cfg.model)
    scope = PruneScope.from_value(None).select(model)
    assert scope and not any(k.endswith('backbone.conv1.weight') for k in scope)
    if cfg.model.backbone.get('depth') == 50:
        assert len(scope) == 52  # the original code's 52 masks of ResNet-50
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(input_shape(cfg)), mode='tensor')
    assert out.shape == (1, cfg.model.head.num_classes)

    # Data: dataset types and every pipeline step are registered, evaluators build.
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if loader is None:
            continue
        assert DATASETS.get(loader.dataset.type) is not None, loader.dataset.type
        for step in loader.dataset.pipeline:
            TRANSFORMS.build(step)
    for split in ('val', 'test'):
        evaluators = cfg.get(f'{split}_evaluator')
        for metric in evaluators if isinstance(evaluators, list) else [evaluators]:
            METRICS.build(metric)

    # Pre-trained weights: well-formed initialisers, after the plain ones, paths in checkpoints/.
    init_cfgs = [d for d in walk(cfg.model) if d.get('type') == 'MappedPretrained']
    for init in init_cfgs:
        WEIGHT_INITIALIZERS.build(dict(init))  # does not read the file
        if CLS in path.parents:
            assert init['checkpoint'] in PAPER_FILES, init['checkpoint']
    for part in ('backbone', 'head'):
        listed = cfg.model[part].get('init_cfg')
        if isinstance(listed, list) and any(d['type'] == 'MappedPretrained' for d in listed):
            assert listed[-1]['type'] == 'MappedPretrained', f'{part}: load after the plain init'
            if part == 'backbone':
                assert cfg.model.backbone.zero_init_residual is False

    # Hooks: IMPHook's rewind agrees with the pre-training; TicketHook's placeholder.
    pretrained = has_pretrained_init(SimpleNamespace(cfg=cfg))
    assert bool(pretrained) == bool(init_cfgs or cfg.get('load_from'))
    header = path.read_text()
    for index, hook_cfg in enumerate(cfg.get('custom_hooks', [])):
        hook_cfg = dict(hook_cfg)
        if hook_cfg.get('ticket') == '???':
            assert f'custom_hooks.{index}.ticket=' in header, 'document how to set the ticket'
            with pytest.raises(ValueError, match='cfg-options'):
                HOOKS.build(dict(hook_cfg))
            hook_cfg['ticket'] = str(tmp_path / 'round_10.safetensors')
        for key in ('masks_from',):
            if hook_cfg.get(key) == '???':
                hook_cfg[key] = str(tmp_path / 'tickets')
        hook = HOOKS.build(hook_cfg)
        if isinstance(hook, IMPHook):
            assert (hook.rewind == 'pt_trans') == bool(pretrained), hook.rewind
            if CLS in path.parents:
                assert (hook.rounds, hook.rate, hook.metric) == (18, 0.2, 'accuracy/top1')
                assert 1 - 0.8 ** hook.rounds == pytest.approx(0.982, abs=1e-3)
            if hook.rewind == 'rewind_lt':
                assert hook.rewind_at == 9 and cfg.train_cfg.max_epochs == 182
        if isinstance(hook, TicketHook) and CLS in path.parents:
            assert hook.key_map == 'auto' and bool(pretrained)


@pytest.mark.parametrize('path', CLASSIFICATION, ids=config_id)
def test_classification_recipe(path: Path) -> None:
    """The paper's numbers, read back from the merged config (section 4 of the reference)."""
    cfg = parsed(path)
    optim = cfg.optim_wrapper.optimizer
    name = path.stem
    if name.endswith(('cifar10', 'cifar100', 'svhn', 'fmnist')):
        assert cfg.model.backbone.type == 'ResNet_CIFAR' and cfg.model.backbone.depth == 50
        assert (optim.type, optim.lr, optim.momentum, optim.weight_decay) == (
            'SGD', 0.1, 0.9, 2e-4)
        assert cfg.train_cfg.max_epochs == 182 and cfg.train_dataloader.batch_size == 128
        warmup, steps = cfg.param_scheduler
        assert (warmup.type, warmup.end, warmup.convert_to_iter_based) == ('LinearLR', 1, True)
        assert (steps.type, steps.milestones, steps.gamma) == ('MultiStepLR', [91, 136], 0.1)
        splits = {s: cfg[f'{s}_dataloader'].dataset.split for s in ('train', 'val', 'test')}
        assert splits == {'train': 'train', 'val': 'val', 'test': 'test'}
        dataset = re.search(r'_(cifar10|cifar100|svhn|fmnist)$', name).group(1)
        assert cfg.train_dataloader.dataset.data_root == f'data/{dataset}'
        assert cfg.model.head.num_classes == (100 if dataset == 'cifar100' else 10)
        assert cfg.model.backbone.get('in_channels', 3) == (1 if dataset == 'fmnist' else 3)
    elif name.endswith('in1k'):
        assert cfg.model.backbone.type == 'ResNet' and cfg.model.head.num_classes == 1000
        assert (optim.lr, optim.weight_decay, cfg.train_cfg.max_epochs) == (1e-4, 1e-4, 10)
        assert cfg.param_scheduler == []
    elif name.endswith('visda2017'):
        assert cfg.model.backbone.type == 'ResNet' and cfg.model.head.num_classes == 12
        assert (optim.lr, optim.weight_decay, cfg.train_cfg.max_epochs) == (1e-3, 5e-4, 20)
        assert cfg.param_scheduler[0].milestones == [10]
        assert cfg.train_dataloader.dataset.split == 'train'
        assert cfg.val_dataloader.dataset.split == 'validation'
        metrics = {m['type']: m for m in cfg.val_evaluator}
        assert metrics['SingleLabelMetric']['average'] == 'macro'
        assert tuple(metrics['SingleLabelMetric']['items']) == ('recall', )
    else:
        pytest.fail(f'unknown dataset in {name}')


def test_classification_configs_do_not_download() -> None:
    """Only the documented zoo alternatives in _base_/pretrain name a URL."""
    for path in CLS.rglob('*.py'):
        text = path.read_text()
        urls = re.findall(r"'(https?://[^']+)'", text)
        if urls:
            assert path.parent.name == 'pretrain' and path.stem.endswith('_zoo'), path
            assert 'DOWNLOADS' in text
    assert CONFIGS.is_dir()


def test_docs_name_every_classification_config() -> None:
    """docs/classification.md gives a command for every runnable config, and only real ones."""
    docs = (CONFIGS.parent / 'docs' / 'classification.md').read_text()
    named = set(re.findall(r'configs/classification/[\w/]+\.py', docs))
    missing = [p for p in named if not (CONFIGS.parent / p).is_file()]
    assert not missing, f'docs name configs that do not exist: {missing}'
    absent = [config_id(p) for p in CLASSIFICATION
              if str(p.relative_to(CONFIGS.parent)) not in named]
    assert not absent, f'configs without a command in the docs: {absent}'
