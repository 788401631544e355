"""Tests of ``lth_mm.core.keymap`` against the real OpenMMLab models.

Each checkpoint layout is written to disk with ``torch.save``, read back through the key map and
loaded into the real target model; the tensors that arrive are compared with the source values.
"""
from __future__ import annotations

import ast
import copy
import functools
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision
from torch import nn

from lth_mm.core import PruneScope, Ticket
from lth_mm.core.keymap import (
    SCHEMES,
    TRANSFER_SKIP,
    KeyMapError,
    convert_state_dict,
    convert_ticket,
    detect_scheme,
    load_pretrained,
    match_to_model,
    read_state_dict,
    unwrap_state_dict,
)

mmengine_config = pytest.importorskip('mmengine.config')
DefaultScope = pytest.importorskip('mmengine.registry').DefaultScope


def _configs(package: str) -> Path:
    return Path(pytest.importorskip(package).__file__).parent / '.mim' / 'configs'


MMPRETRAIN_CFG = _configs('mmpretrain')
MMDET_CFG = _configs('mmdet') / '_base_/models/faster-rcnn_r50_fpn.py'
MMSEG_CFG = _configs('mmseg') / '_base_/models/deeplabv3plus_r50-d8.py'

State = dict[str, torch.Tensor]


# Models, built once per module --------------------------------------------------------------------
def _build(scope: str, cfg: Any) -> nn.Module:
    registry = importlib.import_module(f'{scope}.registry').MODELS
    importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope(scope):
        torch.manual_seed(0)
        return registry.build(cfg)


def _classifier(backbone: str, num_classes: int = 10) -> dict[str, Any]:
    return dict(type='ImageClassifier', backbone=dict(type=backbone, depth=50),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=2048))


@pytest.fixture(scope='module')
def models() -> dict[str, nn.Module]:
    """One of each target model (shared: tests compare only the tensors they load)."""
    cfg = mmengine_config.Config.fromfile
    seg_cfg = cfg(str(MMSEG_CFG)).model
    seg_cfg.pop('data_preprocessor')
    torch.manual_seed(0)
    return {
        'torchvision': torchvision.models.resnet50(),
        'mmpretrain': _build('mmpretrain', _classifier('ResNet')),
        'mmpretrain_1000': _build('mmpretrain', _classifier('ResNet', 1000)),
        'mmpretrain_cifar': _build('mmpretrain', _classifier('ResNet_CIFAR')),
        'mmdet': _build('mmdet', cfg(str(MMDET_CFG)).model),
        'mmseg': _build('mmseg', seg_cfg),
        'moco': _build('mmpretrain', cfg(str(
            MMPRETRAIN_CFG / 'mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py')).model),
        'simclr': _build('mmpretrain', cfg(str(
            MMPRETRAIN_CFG / 'simclr/simclr_resnet50_16xb256-coslr-200e_in1k.py')).model),
    }


def _random_like(state: State, seed: int) -> State:
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=gen) if v.is_floating_point() else v.clone()
            for k, v in state.items()}


@pytest.fixture(scope='module')
def tv(models: dict[str, nn.Module]) -> State:
    """A torchvision ResNet-50 state dict with deterministic random values (BN stats too)."""
    return _random_like(models['torchvision'].state_dict(), seed=1)


def _backbone(tv: State) -> State:
    return {k: v for k, v in tv.items() if not k.startswith('fc.')}


# Layouts, as their codebases write them ---------------------------------------------------------
def _mm_checkpoint(model: nn.Module, values: State, seed: int) -> dict[str, Any]:
    """The model's real keys with ``values``, random values elsewhere; an mmengine checkpoint."""
    keys = model.state_dict()
    assert set(values) <= set(keys), sorted(set(values) - set(keys))[:3]
    state = _random_like({k: v for k, v in keys.items() if k not in values}, seed)
    return {'meta': {'epoch': 1}, 'state_dict': {k: values.get(k, state.get(k)) for k in keys}}


def layout(name: str, tv: State, models: dict[str, nn.Module]) -> dict[str, Any]:
    """A checkpoint in layout ``name`` holding ``tv``'s values where the layout has them."""
    bb = {f'backbone.{k}': v for k, v in _backbone(tv).items()}
    head = {'head.fc.weight': tv['fc.weight'], 'head.fc.bias': tv['fc.bias']}
    if name == 'torchvision':
        return dict(tv)
    if name == 'simclr':
        return {'state_dict': dict(tv)}
    if name == 'moco_v2':
        state = {f'module.encoder_q.{k}': v for k, v in _backbone(tv).items()}
        state.update({f'module.encoder_k.{k}': v + 1 for k, v in _backbone(tv).items()})
        for enc in ('encoder_q', 'encoder_k'):
            state.update({f'module.{enc}.fc.0.weight': torch.ones(2048, 2048),
                          f'module.{enc}.fc.0.bias': torch.ones(2048),
                          f'module.{enc}.fc.2.weight': torch.ones(128, 2048),
                          f'module.{enc}.fc.2.bias': torch.ones(128)})
        state.update({'module.queue': torch.ones(128, 16),
                      'module.queue_ptr': torch.zeros(1, dtype=torch.long)})
        return {'epoch': 800, 'arch': 'resnet50', 'state_dict': state}
    if name == 'mmpretrain':
        return _mm_checkpoint(models['mmpretrain_1000'], {**bb, **head}, seed=2)
    if name == 'mmdet':
        return _mm_checkpoint(models['mmdet'], bb, seed=3)
    if name == 'mmseg':  # ResNetV1c: the residual layers from tv, the deep stem random
        return _mm_checkpoint(models['mmseg'], {k: v for k, v in bb.items()
                                                if not k.startswith(('backbone.conv1',
                                                                     'backbone.bn1'))}, seed=4)
    if name == 'mmpretrain_moco':  # momentum encoder: other values than the online backbone
        momentum = {f'encoder_k.module.0.{k}': v + 1 for k, v in _backbone(tv).items()}
        return _mm_checkpoint(models['moco'], {**bb, **momentum}, seed=5)
    if name == 'mmpretrain_simclr':
        return _mm_checkpoint(models['simclr'], bb, seed=6)
    raise ValueError(name)


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory, tv, models) -> Callable[[str], Path]:
    """``ckpt(layout_name)``: the path of that layout's checkpoint, written once per module."""
    root = tmp_path_factory.mktemp('checkpoints')

    @functools.cache
    def write(name: str) -> Path:
        path = root / f'{name}.pth'
        torch.save(layout(name, tv, models), path)
        return path

    return write


def assert_loaded(model: nn.Module, expected: State) -> None:
    state = model.state_dict()
    bad = [k for k, v in expected.items() if not torch.equal(state[k], v)]
    assert not bad, bad[:5]


# Detection and containers ---------------------------------------------------------------------
@pytest.mark.parametrize('name,scheme', [
    ('torchvision', 'torchvision'), ('simclr', 'torchvision'), ('moco_v2', 'moco_v2'),
    ('mmpretrain', 'mmpretrain'), ('mmdet', 'mmdet'), ('mmseg', 'mmseg'),
    ('mmpretrain_moco', 'mmpretrain_selfsup'), ('mmpretrain_simclr', 'mmpretrain_selfsup')])
def test_detect_scheme_of_checkpoints(name, scheme, ckpt):
    assert detect_scheme(read_state_dict(ckpt(name))) == scheme


@pytest.mark.parametrize('name,scheme', [
    ('torchvision', 'torchvision'), ('mmpretrain', 'mmpretrain'),
    ('mmpretrain_cifar', 'mmpretrain'), ('mmdet', 'mmdet'), ('mmseg', 'mmseg'),
    ('moco', 'mmpretrain_selfsup'), ('simclr', 'mmpretrain_selfsup')])
def test_detect_scheme_of_models(name, scheme, models):
    assert detect_scheme(models[name].state_dict()) == scheme


def test_detect_scheme_unknown_keys_raise():
    with pytest.raises(KeyMapError, match='pass src/dst explicitly'):
        detect_scheme(['encoder.blocks.0.attn.qkv.weight'])


def test_unwrap_state_dict_containers():
    one = torch.ones(1)
    assert unwrap_state_dict({'state_dict': {'conv1.weight': one}, 'epoch': 3}) == {
        'conv1.weight': one}
    assert unwrap_state_dict({'model': {'module.conv1.weight': one}}) == {'conv1.weight': one}
    # module. is stripped only when every key carries it
    assert set(unwrap_state_dict({'meta': {}, 'state_dict': {'module.x': one, 'y': one}})) == {
        'module.x', 'y'}
    with pytest.raises(KeyMapError, match='non-empty state dict'):
        unwrap_state_dict([1, 2])


# Loading each layout into each real model ------------------------------------------------------
def test_torchvision_into_torchvision(ckpt, tv, models):
    model = models['torchvision']
    report = load_pretrained(model, ckpt('torchvision'))
    assert_loaded(model, tv)
    assert (len(report.matched), report.missing, report.ignored, report.unmatched) == (
        len(tv), [], {}, {})
    assert report.src == report.dst == 'torchvision'


def test_torchvision_into_mmpretrain_1000_classes(ckpt, tv, models):
    model = models['mmpretrain_1000']
    loadable, report = match_to_model(read_state_dict(ckpt('torchvision')),
                                      model)
    model.load_state_dict(loadable, strict=True)
    assert_loaded(model, {**{f'backbone.{k}': v for k, v in _backbone(tv).items()},
                          'head.fc.weight': tv['fc.weight'], 'head.fc.bias': tv['fc.bias']})
    assert report.matched['head.fc.weight'] == 'fc.weight'
    assert report.matched['backbone.layer1.0.downsample.0.weight'] == 'layer1.0.downsample.0.weight'
    assert not report.missing and not report.unmatched


def test_simclr_into_mmpretrain_new_classifier(ckpt, tv, models):
    model = models['mmpretrain']
    path = ckpt('simclr')
    with pytest.raises(KeyMapError) as err:
        load_pretrained(model, path)
    message = str(err.value)
    assert 'fc.weight -> head.fc.weight: checkpoint [1000, 2048] vs model [10, 2048]' in message
    assert 'fc.bias -> head.fc.bias: checkpoint [1000] vs model [10]' in message
    report = load_pretrained(model, path, skip=('fc',))
    assert_loaded(model, {f'backbone.{k}': v for k, v in _backbone(tv).items()})
    assert report.missing == ['head.fc.weight', 'head.fc.bias']
    assert set(report.ignored) == {'fc.weight', 'fc.bias'}
    assert all('skipped' in r for r in report.ignored.values())
    assert report.unused_skip == [] and 'matched no key' not in report.summary()


def test_skip_entries_that_match_nothing_are_reported(ckpt, models):
    """A misspelt skip entry left the layer it meant loaded, and nothing said so; a trailing
    dot ('fc.', as keep_prefixes are written) matched no key at all."""
    model = models['mmpretrain']
    path = ckpt('simclr')
    report = load_pretrained(model, path, skip=('fc.', 'layer5', 'conv1'))
    assert set(report.ignored) == {'fc.weight', 'fc.bias', 'conv1.weight'}
    assert report.unused_skip == ['layer5']
    assert "skip entries that matched no key: ['layer5']" in report.summary()


def test_torchvision_into_resnet_cifar_stem_mismatch(ckpt, tv, models):
    model = models['mmpretrain_cifar']
    path = ckpt('torchvision')
    with pytest.raises(KeyMapError) as err:
        load_pretrained(model, path, skip=('fc',))
    assert str(err.value).startswith('1 shape mismatch(es) loading torchvision weights')
    assert ('conv1.weight -> backbone.conv1.weight: checkpoint [64, 3, 7, 7] vs model '
            '[64, 3, 3, 3]') in str(err.value)
    before = model.backbone.conv1.weight.clone()
    report = load_pretrained(model, path, skip=TRANSFER_SKIP)
    assert torch.equal(model.backbone.conv1.weight, before)  # left at init
    assert_loaded(model, {f'backbone.{k}': v for k, v in _backbone(tv).items()
                          if k != 'conv1.weight'})
    assert report.missing == ['backbone.conv1.weight', 'head.fc.weight', 'head.fc.bias']
    assert set(report.ignored) == {'conv1.weight', 'fc.weight', 'fc.bias'}
    assert len(report.matched) == len(tv) - 3


def test_moco_v2_encoder_q_wins(ckpt, tv, models):
    model = models['torchvision']
    report = load_pretrained(model, ckpt('moco_v2'))
    assert report.src == 'moco_v2'
    assert_loaded(model, _backbone(tv))  # encoder_k holds tv + 1: it must not have won
    assert report.matched['layer4.2.conv3.weight'] == 'encoder_q.layer4.2.conv3.weight'
    assert report.missing == ['fc.weight', 'fc.bias']
    assert 'queue' in report.ignored['queue'] and 'queue' in report.ignored['queue_ptr']
    assert {f'encoder_k.{k}' for k in _backbone(tv)} <= set(report.ignored)
    assert set(report.unmatched) == {f'encoder_q.fc.{i}.{p}' for i in (0, 2)
                                     for p in ('weight', 'bias')}
    assert all('MLP' in r for r in report.unmatched.values())
    summary = report.summary()
    assert summary.splitlines()[0] == (f'keymap moco_v2 -> torchvision: {len(tv) - 2} matched, '
                                       f'2 missing, {len(tv) - 2 + 4 + 2} ignored, 4 unmatched')
    assert 'missing: fc.weight, fc.bias' in summary
    assert 'ignored (MoCo key encoder; encoder_q is used): encoder_k.conv1.weight' in summary


def test_moco_v2_into_mmdet_detector(ckpt, tv, models):
    model = models['mmdet']
    report = load_pretrained(model, ckpt('moco_v2'))
    assert report.dst == 'mmdet'
    assert_loaded(model, {f'backbone.{k}': v for k, v in _backbone(tv).items()})
    assert not report.missing and len(report.matched) == len(tv) - 2
    assert set(report.unmatched) == {f'encoder_q.fc.{i}.{p}' for i in (0, 2)
                                     for p in ('weight', 'bias')}


def test_torchvision_into_mmdet_detector(ckpt, tv, models):
    model = models['mmdet']
    neck_before = copy.deepcopy(model.neck.state_dict())
    report = load_pretrained(model, ckpt('torchvision'))
    assert_loaded(model, {f'backbone.{k}': v for k, v in _backbone(tv).items()})
    assert_loaded(model.neck, neck_before)
    assert report.unmatched == {'fc.weight': 'the destination has no classifier fc',
                                'fc.bias': 'the destination has no classifier fc'}
    assert not report.missing


def test_torchvision_into_mmseg_resnetv1c(ckpt, tv, models):
    model = models['mmseg']
    report = load_pretrained(model, ckpt('torchvision'))
    assert_loaded(model, {f'backbone.{k}': v for k, v in _backbone(tv).items()
                          if k.startswith('layer')})
    stem_keys = [k for k in model.state_dict()
                 if k.startswith('backbone.stem.') and not k.endswith('num_batches_tracked')]
    assert len(stem_keys) == 15 and report.missing == stem_keys
    stem_reason = 'the conv1/bn1 stem has no counterpart in the ResNetV1c deep stem (stem.*)'
    assert {k for k, r in report.unmatched.items() if r == stem_reason} == {
        'conv1.weight', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var',
        'bn1.num_batches_tracked'}
    assert report.unmatched['fc.weight'] == 'the destination has no classifier fc'


def test_mmseg_into_mmseg_and_torchvision(ckpt, tv, models):
    path = ckpt('mmseg')
    source = read_state_dict(path)
    backbone = {k: v for k, v in source.items() if k.startswith('backbone.')}
    report = load_pretrained(models['mmseg'], path)
    assert_loaded(models['mmseg'], backbone)
    assert len(report.matched) == len(backbone) and not report.missing
    assert {k.split('.')[0] for k in report.unmatched} == {'decode_head', 'auxiliary_head'}
    assert report.unmatched['decode_head.conv_seg.weight'] == (
        'not part of the ResNet backbone (decode_head.*)')

    report = load_pretrained(models['torchvision'], path)
    assert_loaded(models['torchvision'], {k: v for k, v in tv.items() if k.startswith('layer')})
    assert report.missing == ['conv1.weight', 'bn1.weight', 'bn1.bias', 'bn1.running_mean',
                              'bn1.running_var', 'fc.weight', 'fc.bias']
    assert 'ResNetV1c deep stem' in report.unmatched['backbone.stem.0.weight']


def test_mmpretrain_into_torchvision(ckpt, tv, models):
    report = load_pretrained(models['torchvision'], ckpt('mmpretrain'))
    assert_loaded(models['torchvision'], tv)
    assert report.matched['fc.weight'] == 'head.fc.weight'
    assert not report.missing and not report.unmatched and not report.ignored


def test_mmpretrain_moco_momentum_encoder_ignored(ckpt, tv, models):
    path = ckpt('mmpretrain_moco')
    report = load_pretrained(models['mmpretrain'], path, skip=('fc',))
    assert report.src == 'mmpretrain_selfsup'
    assert_loaded(models['mmpretrain'], {f'backbone.{k}': v for k, v in _backbone(tv).items()})
    assert report.missing == ['head.fc.weight', 'head.fc.bias']
    assert {k.split('.')[0] for k in report.ignored} == {'encoder_k', 'queue', 'queue_ptr',
                                                          'neck'}
    assert 'momentum copy' in report.ignored['encoder_k.module.0.conv1.weight']
    mlp = {'neck.mlp.0.weight', 'neck.mlp.0.bias', 'neck.mlp.2.weight', 'neck.mlp.2.bias'}
    assert {k for k, r in report.ignored.items() if 'skipped' in r} == mlp  # canonical fc.0, fc.2
    assert not report.unmatched
    report = load_pretrained(models['mmpretrain'], path)
    assert set(report.unmatched) == mlp
    assert all('MLP projection head' in r for r in report.unmatched.values())

    # into a MoCo model: the online backbone and MLP neck get the online weights, encoder_k is
    # not touched (its first update copies the online encoder)
    moco = models['moco']
    momentum_before = copy.deepcopy(moco.encoder_k.state_dict())
    report = load_pretrained(moco, path)
    assert_loaded(moco, {f'backbone.{k}': v for k, v in _backbone(tv).items()})
    assert_loaded(moco, {k: v for k, v in read_state_dict(path).items() if k in mlp})
    assert_loaded(moco.encoder_k, momentum_before)
    assert not report.missing and not report.unmatched


def test_mmpretrain_simclr_into_torchvision(ckpt, tv, models):
    report = load_pretrained(models['torchvision'],
                             ckpt('mmpretrain_simclr'))
    assert_loaded(models['torchvision'], _backbone(tv))
    assert report.missing == ['fc.weight', 'fc.bias']
    assert {k.split('.')[0] for k in report.unmatched} == {'neck'}
    assert 'neck.fc0.weight' in report.unmatched


def test_torch_prune_pairs_are_folded(tv):
    state = dict(tv)
    weight = state.pop('layer1.0.conv1.weight')
    mask = (torch.arange(weight.numel()) % 2).reshape(weight.shape).float()
    state.update({'layer1.0.conv1.weight_orig': weight, 'layer1.0.conv1.weight_mask': mask})
    loadable, report = match_to_model({'state_dict': state}, {k: v.shape for k, v in tv.items()})
    assert torch.equal(loadable['layer1.0.conv1.weight'], weight * mask)
    assert 'folded' in report.ignored['layer1.0.conv1.weight_mask']
    assert not report.missing


@pytest.mark.parametrize('mask, fragment', [
    (torch.ones(5), "has shape \\[5\\] but 'layer1.0.conv1.weight_orig' has \\[4, 4, 3, 3\\]"),
    (torch.tensor([1.0, 0.0, 0.0]), 'has shape \\[3\\] but'),  # would broadcast silently
    (torch.full((4, 4, 3, 3), 0.5), 'holds values other than 0 and 1'),
    (torch.ones(4, 4, 3, 3, device='meta'), 'is on the meta device'),
    (torch.ones(4, 4, 3, 3).to_sparse(), 'is a sparse_coo tensor, expected a dense one'),
    ([1.0, 0.0], 'is not a tensor'),
], ids=['other-shape', 'broadcasting-shape', 'not-0-1', 'meta', 'sparse', 'list'])
def test_torch_prune_pairs_need_a_real_mask_of_the_weight_shape(tmp_path, mask, fragment):
    state = {'conv1.weight': torch.randn(4, 3, 3, 3),
             'layer1.0.conv1.weight_orig': torch.randn(4, 4, 3, 3),
             'layer1.0.conv1.weight_mask': mask}
    target = {'conv1.weight': (4, 3, 3, 3), 'layer1.0.conv1.weight': (4, 4, 3, 3)}
    pattern = "'layer1.0.conv1.weight_mask'.*" + fragment
    with pytest.raises(KeyMapError, match=pattern):
        convert_state_dict(state, 'mmpretrain')
    with pytest.raises(KeyMapError, match=pattern):
        match_to_model({'state_dict': state}, target)
    if isinstance(mask, torch.Tensor) and not mask.is_meta:
        torch.save(state, tmp_path / 'pruned.pth')
        with pytest.raises(KeyMapError, match='pruned.pth: ' + pattern):
            load_pretrained(torchvision.models.resnet18(), tmp_path / 'pruned.pth')


def test_state_dict_keys_must_be_strings(tmp_path, tv):
    state = {**_backbone(tv), 7: torch.ones(2)}
    for call in (lambda: unwrap_state_dict(state), lambda: convert_state_dict(state, 'mmdet'),
                 lambda: match_to_model(state, {k: v.shape for k, v in tv.items()})):
        with pytest.raises(KeyMapError, match=r'keys must be parameter names \(strings\); got 7 '
                           r'\(of type int\) among keys like conv1.weight'):
            call()
    torch.save({'state_dict': state}, tmp_path / 'int_key.pth')
    with pytest.raises(KeyMapError, match=r'int_key.pth: state dict keys must be'):
        read_state_dict(tmp_path / 'int_key.pth')


def test_old_torchvision_file_without_bn_counters(tmp_path, tv, models):
    old = {k: v for k, v in tv.items() if not k.endswith('num_batches_tracked')}
    torch.save(old, tmp_path / 'resnet50-19c8e357.pth')
    report = load_pretrained(models['torchvision'], tmp_path / 'resnet50-19c8e357.pth')
    assert_loaded(models['torchvision'], old)
    assert len(report.matched) == len(old) and not report.missing


def test_clashing_names_raise(tv):
    state = {'backbone.fc.weight': tv['fc.weight'], 'head.fc.weight': tv['fc.weight']}
    with pytest.raises(KeyMapError, match="both map onto 'fc.weight'"):
        convert_state_dict(state, 'torchvision', src='mmpretrain')


def test_unknown_scheme_raises(tv):
    with pytest.raises(KeyMapError, match='unknown scheme'):
        convert_state_dict(tv, 'timm')


def test_a_misspelt_scheme_is_named_before_any_detection():
    """Keys of no known layout: the typo is the error, not 'cannot tell the naming scheme'."""
    ticket = Ticket({'conv.weight': torch.ones(3, dtype=torch.bool)})
    state = {'conv.weight': torch.zeros(3)}
    target = nn.Sequential()
    target.conv = nn.Linear(3, 1)
    calls = [lambda: convert_ticket(ticket, 'mmpretran'),
             lambda: convert_state_dict(state, 'mmpretran'),
             lambda: match_to_model(state, target, dst='mmpretran'),
             lambda: match_to_model(state, target, src='mmpretran'),
             lambda: load_pretrained(target, state, dst='mmpretran'),
             lambda: load_pretrained(target, state, src='mmpretran')]
    for call in calls:
        with pytest.raises(KeyMapError, match=r"unknown scheme 'mmpretran'; known: \["):
            call()


# convert_state_dict round trips -----------------------------------------------------------------
@pytest.mark.parametrize('via', ['mmpretrain', 'simclr', 'moco_v2'])
def test_convert_state_dict_round_trip(tv, via):
    there, report = convert_state_dict(tv, via)
    assert len(report.matched) == len(tv) and not report.unmatched
    back, report = convert_state_dict(there, 'torchvision', src=via)
    assert list(back) == list(tv) and all(back[k] is tv[k] for k in tv)


def test_convert_state_dict_to_mmseg_reports_stem_and_fc(tv):
    out, report = convert_state_dict(tv, 'mmseg', skip=('layer4',))
    assert set(out) == {f'backbone.{k}' for k in tv if k.startswith(('layer1', 'layer2',
                                                                     'layer3'))}
    assert set(report.unmatched) == {k for k in tv if k.startswith(('conv1', 'bn1', 'fc'))}
    assert set(report.ignored) == {k for k in tv if k.startswith('layer4')}


def test_every_scheme_converts_the_backbone(tv):
    layers = {k for k in tv if k.startswith('layer')}
    for name, scheme in SCHEMES.items():
        _, report = convert_state_dict(tv, name)
        if scheme.backbone:
            assert layers <= set(report.matched.values()), name
        else:  # a projection head on its own
            assert not report.matched and set(report.unmatched) == set(tv), name


# Tickets ------------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def tv_ticket(models) -> Ticket:
    gen = torch.Generator().manual_seed(7)
    params = PruneScope().select(models['torchvision'])
    return Ticket({k: torch.rand(p.shape, generator=gen) < 0.3 for k, p in params.items()},
                  PruneScope())


def test_ticket_round_trip_torchvision_mmpretrain_mmseg(tv_ticket, models):
    mmpre, report = convert_ticket(tv_ticket, 'mmpretrain')
    assert list(mmpre) == [f'backbone.{k}' for k in tv_ticket] and len(report.matched) == 52
    mmpre.check(models['mmpretrain'])
    mmpre.check(models['mmpretrain_cifar'])
    seg, _ = convert_ticket(mmpre, 'mmseg')
    seg.check(models['mmseg'])
    back, report = convert_ticket(seg, 'torchvision', src='mmseg')
    assert back == tv_ticket and report.src == 'mmseg'
    assert back.sparsity == tv_ticket.sparsity


def test_ticket_original_moco_prefix(tv_ticket):
    original = Ticket({**{f'module.encoder_q.{k}': m for k, m in tv_ticket.items()},
                       **{f'module.encoder_k.{k}': ~m for k, m in tv_ticket.items()}})
    ticket, report = convert_ticket(original, 'mmpretrain')
    assert report.src == 'moco_v2' and len(report.ignored) == len(tv_ticket)
    assert ticket == tv_ticket.add_prefix('backbone.')


def test_ticket_stem_mask_has_no_counterpart_in_v1c(models):
    model = models['torchvision']
    ticket = Ticket.dense(model, PruneScope(include_stem=True))
    with pytest.raises(KeyMapError, match=r'conv1\.weight \(the conv1/bn1 stem'):
        convert_ticket(ticket, 'mmseg')
    seg, report = convert_ticket(ticket, 'mmseg', strict=False)
    assert list(report.unmatched) == ['conv1.weight'] and len(seg) == len(ticket) - 1
    seg.check(models['mmseg'])


# Boundaries -------------------------------------------------------------------------------------
def test_keymap_imports_torch_only():
    source = Path(importlib.import_module('lth_mm.core.keymap').__file__).read_text()
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {a.name.split('.')[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots.add(node.module.split('.')[0])
    allowed = {'__future__', 'collections', 'dataclasses', 'os', 're', 'typing', 'torch'}
    assert roots <= allowed, roots - allowed
