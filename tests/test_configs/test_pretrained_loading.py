"""The pre-training bases load every checkpoint layout of the paper (and MMPretrain's) exactly.

Each case builds a model from a recipe base plus a ``_base_/pretrain`` base, points the
``MappedPretrained`` initialiser at a file written in one layout (``conftest.LAYOUTS``), runs
``model.init_weights()`` and compares tensors: every backbone tensor comes from the file (from
MoCo's query encoder, never the key encoder), and what the paper leaves at random init (the stem
for 32x32 inputs, the classifier) is not loaded.
"""
from __future__ import annotations

from typing import Callable, Dict

import pytest
import torch
from mmpretrain.registry import MODELS

from .conftest import CLS, CLS_BASE, load_cfg

# (pre-training base, layout, recipe base, stem loaded)
CASES = [
    ('imagenet_sup', 'torchvision', 'resnet50_cifar10', False),
    ('imagenet_sup_zoo', 'mmpretrain_zoo', 'resnet50_cifar10', False),
    ('simclr', 'simclr', 'resnet50_cifar100', False),
    ('simclr_zoo', 'mmpretrain_simclr', 'resnet50_svhn', False),
    ('moco_v2', 'moco_v2', 'resnet50_fmnist', False),
    ('moco_v2', 'moco_pt', 'resnet50_cifar10', False),
    ('moco_v2_zoo', 'mmpretrain_moco', 'resnet50_cifar10', False),
    ('imagenet_sup_stem', 'torchvision', 'resnet50_visda2017', True),
    ('simclr_stem', 'simclr', 'resnet50_visda2017', True),
    ('moco_v2_stem', 'moco_v2', 'resnet50_visda2017', True),
]


def build_with(pretrain: str, recipe: str, checkpoint: str) -> torch.nn.Module:
    cfg = load_cfg(CLS_BASE / f'{recipe}.py', CLS_BASE / 'pretrain' / f'{pretrain}.py',
                   body='model = dict(backbone=dict(init_cfg={{_base_.pretrained_init}}))\n')
    assert cfg.model.backbone.zero_init_residual is False
    init = cfg.model.backbone.init_cfg[-1]
    assert init.type == 'MappedPretrained'
    assert init.checkpoint.startswith(('checkpoints/', 'https://download.openmmlab.com/'))
    cfg.merge_from_dict({'model.backbone.init_cfg.2.checkpoint': checkpoint})
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def assert_backbone_from(model: torch.nn.Module, source: Dict[str, torch.Tensor],
                         stem: bool) -> None:
    state = model.backbone.state_dict()
    compared = 0
    for key, value in source.items():
        if key.startswith('fc.') or (key == 'conv1.weight' and not stem):
            continue
        assert torch.equal(state[key], value), key
        compared += 1
    # every backbone tensor but the skipped stem, bn1 and all BN statistics included
    assert compared == len(state) - (0 if stem else 1)
    if not stem:
        assert state['conv1.weight'].shape[2:] == (3, 3)  # the CIFAR stem, at its Kaiming init
    # The classifier stays at MMPretrain's Normal(std=0.01) initialisation.
    assert model.head.fc.weight.std().item() == pytest.approx(0.01, rel=0.2)


@pytest.mark.parametrize('pretrain,layout,recipe,stem', CASES,
                         ids=[f'{c[0]}-{c[1]}' for c in CASES])
def test_pretrain_base_loads_layout(pretrain: str, layout: str, recipe: str, stem: bool,
                                    checkpoint_files: Callable[[str], object],
                                    tv_state: Dict[str, torch.Tensor]) -> None:
    model = build_with(pretrain, recipe, str(checkpoint_files(layout)))
    assert_backbone_from(model, tv_state, stem)


@pytest.mark.parametrize('layout', ['torchvision', 'mmpretrain_zoo'])
def test_imagenet_imp_config_loads_everything(layout: str,
                                              checkpoint_files: Callable[[str], object],
                                              tv_state: Dict[str, torch.Tensor]) -> None:
    """ImageNet IMP rewinds to the WHOLE pre-trained model: stem and 1000-way fc included."""
    cfg = load_cfg(CLS / 'imagenet' / 'imp_pt_trans_imagenet_resnet50_in1k.py')
    path = str(checkpoint_files(layout))
    cfg.merge_from_dict({'model.backbone.init_cfg.2.checkpoint': path,
                         'model.head.init_cfg.1.checkpoint': path})
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = model.backbone.state_dict()
    assert all(torch.equal(state[k], v) for k, v in tv_state.items() if not k.startswith('fc.'))
    assert torch.equal(model.head.fc.weight, tv_state['fc.weight'])
    assert torch.equal(model.head.fc.bias, tv_state['fc.bias'])


def test_missing_checkpoint_names_the_file(tmp_path) -> None:
    """A config whose checkpoint is absent fails at init_weights with the path in the message."""
    missing = tmp_path / 'checkpoints' / 'imagenet_weight.pt'
    with pytest.raises(FileNotFoundError, match='imagenet_weight.pt'):
        build_with('imagenet_sup', 'resnet50_cifar10', str(missing))
