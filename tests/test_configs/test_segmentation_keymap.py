"""Weights and tickets of every naming scheme land on MMSegmentation's plain (torchvision-stem)
ResNet-50 inside the paper's DeepLabv3+, tensor by tensor.

The segmentor's keys are torchvision's under ``backbone.`` (``backbone.conv1``, ``backbone.bn1``,
``backbone.layer1.0.conv1`` ...) beside ``decode_head.*``; ``keymap.detect_scheme`` calls that
layout ``'mmseg'``, the scheme written for MMSegmentation's default ResNetV1c (deep stem
``stem.*``). The paper's tickets leave the stem out; a ticket that includes it maps onto the
segmenter's torchvision stem (``backbone.conv1``) as well.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Iterator

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.registry import WEIGHT_INITIALIZERS
from torch import nn

from lth_mm.core import PruneScope, Ticket, keymap
from lth_mm.hooks import TicketHook

from .segmentation_utils import SEG, mmseg_default_scope

CONFIG = SEG / 'voc12' / 'finetune_imagenet_deeplabv3plus_r50_voc12.py'


@pytest.fixture(scope='module')
def segmentor() -> Iterator[nn.Module]:
    """The paper's DeepLabv3+ (no weights loaded)."""
    for _ in mmseg_default_scope():
        from mmseg.registry import MODELS
        yield MODELS.build(Config.fromfile(str(CONFIG)).model)


@pytest.fixture(scope='module')
def tv_model(tv_state: Dict[str, torch.Tensor]) -> nn.Module:
    model = torchvision.models.resnet50()
    model.load_state_dict(tv_state)
    return model


def test_the_layout_is_torchvision_under_backbone(segmentor: nn.Module) -> None:
    keys = [k for k in segmentor.state_dict() if k.startswith('backbone.')]
    tv_keys = [k for k in torchvision.models.resnet50().state_dict() if not k.startswith('fc.')]
    assert keys == [f'backbone.{k}' for k in tv_keys]
    # plain ResNet (conv1 stem) under backbone.: the MMDet layout, not ResNetV1c's 'mmseg'
    assert keymap.detect_scheme(segmentor.state_dict()) == 'mmdet'
    assert keymap.detect_scheme(segmentor.backbone.state_dict()) == 'torchvision'


@pytest.mark.parametrize('layout', ['torchvision', 'simclr', 'moco_v2', 'moco_pt',
                                    'mmpretrain_zoo', 'mmpretrain_moco', 'mmpretrain_simclr'])
def test_weights_of_every_layout_load_whole(layout: str, segmentor: nn.Module,
                                            checkpoint_files: Callable[[str], Path],
                                            tv_state: Dict[str, torch.Tensor]) -> None:
    """MappedPretrained(skip=('fc',)), as the configs use it: every backbone tensor, stem too."""
    backbone = segmentor.backbone
    init = WEIGHT_INITIALIZERS.build(dict(type='MappedPretrained', skip=('fc', ),
                                          checkpoint=str(checkpoint_files(layout))))
    with torch.no_grad():
        for tensor in backbone.state_dict().values():
            tensor.zero_()
    init(backbone)
    state = backbone.state_dict()
    for key, value in tv_state.items():
        if key.startswith('fc.'):
            assert key not in state
        elif not key.endswith('num_batches_tracked'):
            assert torch.equal(state[key], value), key


@pytest.mark.parametrize('source', ['torchvision', 'mmpretrain', 'original DataParallel',
                                    'original MoCo'])
def test_tickets_of_every_scheme_map_onto_the_backbone(source: str, segmentor: nn.Module,
                                                       tv_model: nn.Module,
                                                       tmp_path: Path) -> None:
    ticket = Ticket.dense(tv_model).prune(tv_model, 0.5)  # layer1.0.conv1.weight ...
    path = tmp_path / 'ticket'
    if source == 'torchvision':
        ticket.save(path)
    elif source == 'mmpretrain':
        ticket.add_prefix('backbone.').save(path)
    else:
        prefix = 'module.' if source == 'original DataParallel' else 'module.encoder_q.'
        torch.save({'state_dict': ticket.to_torch_prune(prefix)}, path)
    loaded = TicketHook(ticket=str(path)).load_ticket(segmentor)
    assert loaded == ticket.add_prefix('backbone.')
    assert set(loaded) == set(PruneScope(prefix='backbone.').select(segmentor))


def test_a_ticket_with_the_stem_maps_onto_the_plain_resnet(segmentor: nn.Module,
                                                           tv_model: nn.Module) -> None:
    ticket = Ticket.dense(tv_model, PruneScope(include_stem=True))
    converted, _ = keymap.convert_ticket(ticket, dst=keymap.detect_scheme(segmentor.state_dict()))
    assert 'backbone.conv1.weight' in converted
