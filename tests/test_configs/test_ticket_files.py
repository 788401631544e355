"""Mask files of the original code and lth_mm tickets load into the MMPretrain ResNet-50.

The original code (torch.nn.utils.prune on torchvision names) stores ``*.weight_mask`` tensors,
bare or under ``state_dict``, with ``module.`` or ``module.encoder_q.`` prefixes; lth_mm's own
tickets of a torchvision model carry bare names. ``TicketHook(key_map='auto')`` of the transfer
configs must map all of them onto ``backbone.*`` of the classification model.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest
import torch
import torchvision
from mmengine.registry import HOOKS
from mmpretrain.registry import MODELS

from lth_mm.core import Ticket

from .conftest import CLS, load_cfg

TRANSFER = CLS / 'cifar10' / 'transfer_moco_resnet50_cifar10.py'


@pytest.fixture(scope='module')
def model() -> torch.nn.Module:
    return MODELS.build(load_cfg(TRANSFER).model)


@pytest.fixture(scope='module')
def masks() -> Dict[str, torch.Tensor]:
    """Random masks of the 52 prunable convs of a torchvision ResNet-50 (stem excluded)."""
    tv = torchvision.models.resnet50()
    gen = torch.Generator().manual_seed(3)
    return {name: torch.rand(p.shape, generator=gen) < 0.3
            for name, p in Ticket.dense(tv).check(tv).items()}


def _mask_keys(masks: Dict[str, torch.Tensor], prefix: str) -> Dict[str, torch.Tensor]:
    return {f'{prefix}{k[:-len(".weight")]}.weight_mask': v.float() for k, v in masks.items()}


def _pruned_checkpoint(masks: Dict[str, torch.Tensor]) -> dict:
    """A checkpoint of the original DataParallel model: weight_orig/weight_mask pairs, BN, fc."""
    state = _mask_keys(masks, 'module.')
    for key, mask in masks.items():
        state[f'module.{key[:-len(".weight")]}.weight_orig'] = torch.randn(mask.shape)
    state['module.bn1.weight'] = torch.ones(64)
    state['module.fc.weight'] = torch.randn(10, 2048)
    return {'state_dict': state, 'epoch': 182, 'best_sa': 93.1}


def _moco(masks: Dict[str, torch.Tensor]) -> dict:
    state = _mask_keys(masks, 'module.encoder_q.')
    state.update({k: 1 - v for k, v in _mask_keys(masks, 'module.encoder_k.').items()})
    return {'state_dict': state}


LAYOUTS = {
    'state_dict-module': _pruned_checkpoint,
    'bare': lambda m: _mask_keys(m, ''),
    'moco-encoder_q': _moco,
}


def _hook_ticket(path: Path, model: torch.nn.Module, **kwargs) -> Ticket:
    """What the transfer config's TicketHook binds, with ``ticket`` set to ``path``."""
    hook_cfg = dict(load_cfg(TRANSFER).custom_hooks[0], ticket=str(path), **kwargs)
    return HOOKS.build(hook_cfg).load_ticket(model)


@pytest.mark.parametrize('layout', list(LAYOUTS))
def test_original_mask_file_loads(layout: str, tmp_path: Path, model: torch.nn.Module,
                                  masks: Dict[str, torch.Tensor]) -> None:
    path = tmp_path / 'ticket.pth.tar'
    torch.save(LAYOUTS[layout](masks), path)
    ticket = _hook_ticket(path, model)
    assert len(ticket) == 52
    for name, mask in masks.items():
        assert torch.equal(ticket[f'backbone.{name}'], mask), name
    if layout == 'moco-encoder_q':  # the transfer configs' reverse=True ablation
        reverse = _hook_ticket(path, model, reverse=True)
        assert all(torch.equal(reverse[k], ~ticket[k]) for k in ticket)


@pytest.mark.parametrize('source', ['torchvision', 'mmpretrain'])
def test_lth_mm_ticket_loads(source: str, tmp_path: Path, model: torch.nn.Module) -> None:
    """Tickets saved by lth_mm from a torchvision model or from this very model."""
    net = torchvision.models.resnet50() if source == 'torchvision' else model
    ticket = Ticket.dense(net).prune(net, 0.5)
    path = tmp_path / 'round_03.safetensors'
    ticket.save(path)
    loaded = _hook_ticket(path, model)
    prefix = 'backbone.' if source == 'torchvision' else ''
    assert {prefix + k for k in ticket} == set(loaded)
    assert all(torch.equal(loaded[prefix + k], v) for k, v in ticket.items())
    assert loaded.sparsity == pytest.approx(0.5, abs=1e-4)
    pruned = loaded.apply_(MODELS.build(load_cfg(TRANSFER).model))
    weight = dict(pruned.named_parameters())['backbone.layer1.0.conv1.weight']
    assert torch.count_nonzero(weight.detach()[~loaded['backbone.layer1.0.conv1.weight']]) == 0
