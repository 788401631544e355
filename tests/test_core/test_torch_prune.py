"""Interop with torch.nn.utils.prune files: masks, prefixes, MoCo encoders and full checkpoints."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils import prune

from lth_mm.core import PruneScope, Ticket
from lth_mm.core.torch_prune import (
    dense_from_torch_prune,
    masks_from_torch_prune,
    masks_to_torch_prune,
)

pytestmark = pytest.mark.usefixtures('single_thread')


def _float_masks(seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    shapes = {'layer1.0.conv1': (4, 3, 3, 3), 'layer2.0.downsample.0': (8, 4, 1, 1)}
    return {f'{name}.weight_mask': (torch.rand(shape, generator=gen) < 0.5).float()
            for name, shape in shapes.items()}


def _expected(masks: dict[str, torch.Tensor]) -> Ticket:
    return Ticket({k[:-len('_mask')]: v.bool() for k, v in masks.items()})


def _globally_pruned(model: nn.Module, amount: float = 0.5) -> list[tuple[str, nn.Module]]:
    convs = [(name, m) for name, m in model.named_modules()
             if isinstance(m, nn.Conv2d) and name != 'conv1']
    prune.global_unstructured([(m, 'weight') for _, m in convs],
                              pruning_method=prune.L1Unstructured, amount=amount)
    return convs


# Mask files ------------------------------------------------------------------------------------
def test_bare_dict_of_masks() -> None:
    masks = _float_masks()
    ticket = Ticket.from_torch_prune(masks)
    assert ticket == _expected(masks)
    assert list(ticket) == ['layer1.0.conv1.weight', 'layer2.0.downsample.0.weight']
    assert all(m.dtype == torch.bool for m in ticket.values())
    assert ticket.scope is None and 'torch.nn.utils.prune' in ticket.card['notes']


def test_state_dict_wrapper_and_other_keys_are_ignored() -> None:
    masks = _float_masks()
    wrapped = {'state_dict': {**masks, 'layer1.0.conv1.weight_orig': torch.randn(4, 3, 3, 3),
                              'fc.weight': torch.randn(10, 8)}, 'epoch': 3}
    assert Ticket.from_torch_prune(wrapped) == _expected(masks)


@pytest.mark.parametrize('layout', ['detection', 'segmentation', 'deeplab'])
def test_the_original_detection_and_segmentation_files(tmp_path: Path, layout: str) -> None:
    """The original's detection IMP saves {'imp', 'all_state_dict', 'first_conv1', 'backbone'}
    (``save_dicts_and_masks``), its segmentation IMP {'first_conv', 'backbone', 'classifier'},
    DeepLabv3+ checkpoints {'model_state', ...}: the masks are read from where they are (they
    were refused: 'no *.weight_mask tensors found')."""
    masks = _float_masks()
    weights = {k[:-len('_mask')] + '_orig': torch.randn(v.shape) for k, v in masks.items()}
    backbone = {**masks, **weights}
    if layout == 'detection':
        obj = {'imp': 2, 'all_state_dict': {f'yolo.backbone.{k}': v for k, v in backbone.items()},
               'first_conv1': {'weight': torch.randn(4, 3, 7, 7)}, 'backbone': backbone}
        expected = _expected(masks)
    elif layout == 'segmentation':
        obj = {'first_conv': {'weight': torch.randn(4, 3, 7, 7)}, 'backbone': backbone,
               'classifier': {'head.weight': torch.randn(3, 4, 1, 1)}}
        expected = _expected(masks)
    else:
        obj = {'cur_itrs': 30000, 'best_score': 0.7,
               'model_state': {f'backbone.{k}': v for k, v in backbone.items()}}
        expected = _expected(masks).add_prefix('backbone.')
    torch.save(obj, tmp_path / 'imp.pth')
    assert Ticket.read(tmp_path / 'imp.pth') == expected


@pytest.mark.parametrize('prefix', ['module.', 'module.encoder_q.', 'encoder_q.'])
def test_known_prefixes_are_stripped(prefix: str) -> None:
    masks = _float_masks()
    prefixed = {prefix + k: v for k, v in masks.items()}
    assert Ticket.from_torch_prune({'state_dict': prefixed}) == _expected(masks)


@pytest.mark.parametrize('k_first', [True, False])
@pytest.mark.parametrize('prefix', ['module.', ''])
def test_moco_query_encoder_wins_over_key_encoder(k_first: bool, prefix: str) -> None:
    query, key = _float_masks(0), _float_masks(1)
    assert not all(torch.equal(query[k], key[k]) for k in query)
    q = {f'{prefix}encoder_q.{k}': v for k, v in query.items()}
    k = {f'{prefix}encoder_k.{k}': v for k, v in key.items()}
    state = {**k, **q} if k_first else {**q, **k}
    ticket = Ticket.from_torch_prune({'state_dict': state})
    assert ticket == _expected(query)
    assert not any('encoder' in name for name in ticket)


def test_path_to_a_torch_save_file(tmp_path: Path) -> None:
    masks = _float_masks()
    path = tmp_path / 'mask.pth.tar'
    torch.save({'state_dict': {f'module.{k}': v for k, v in masks.items()}}, path)
    assert Ticket.from_torch_prune(path) == _expected(masks)
    assert Ticket.from_torch_prune(str(path)) == _expected(masks)
    assert set(masks_from_torch_prune(path)) == set(_expected(masks))


# Round trips -----------------------------------------------------------------------------------
@given(seed=st.integers(0, 2**16), density=st.floats(0, 1),
       prefix=st.sampled_from(['', 'module.', 'module.encoder_q.']),
       shapes=st.lists(st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple),
                       min_size=1, max_size=4))
@settings(max_examples=40, deadline=None)
def test_round_trip_through_torch_prune_format(seed: int, density: float, prefix: str,
                                               shapes) -> None:
    gen = torch.Generator().manual_seed(seed)
    ticket = Ticket({f'layer{i}.conv.weight': torch.rand(s, generator=gen) < density
                     for i, s in enumerate(shapes)})
    exported = ticket.to_torch_prune(prefix)
    assert list(exported) == [f'{prefix}layer{i}.conv.weight_mask' for i in range(len(shapes))]
    assert all(v.dtype == torch.float32 and set(v.unique().tolist()) <= {0.0, 1.0}
               for v in exported.values())
    assert Ticket.from_torch_prune(exported) == ticket
    assert Ticket.from_torch_prune({'state_dict': exported}) == ticket


def test_masks_to_torch_prune_needs_weight_names() -> None:
    with pytest.raises(ValueError, match=r"'layer1.0.bn1.bias': .* ending in \".weight\""):
        masks_to_torch_prune({'layer1.0.bn1.bias': torch.ones(3, dtype=torch.bool)})


def test_exported_masks_drive_torch_prune(make_tiny) -> None:
    """The other direction: torch.nn.utils.prune.custom_from_mask accepts lth_mm's masks."""
    model = make_tiny(0)
    ticket = Ticket.dense(model).prune(model, 0.6)
    exported = ticket.to_torch_prune()
    reference = copy.deepcopy(model)
    modules = dict(reference.named_modules())
    for key, mask in exported.items():
        prune.custom_from_mask(modules[key[:-len('.weight_mask')]], 'weight', mask)
    ticket.apply_(model)
    params = dict(model.named_parameters())
    for key in exported:
        module = modules[key[:-len('.weight_mask')]]
        assert torch.equal(module.weight, params[key[:-len('_mask')]])
    assert Ticket.from_torch_prune(reference.state_dict()) == ticket


# Full checkpoints ------------------------------------------------------------------------------
@pytest.mark.parametrize('prefix', ['', 'module.'])
def test_a_real_global_unstructured_run(make_tiny, prefix: str) -> None:
    model = make_tiny(7)
    original = copy.deepcopy(model)
    convs = _globally_pruned(model, 0.5)
    state = {prefix + k: v for k, v in model.state_dict().items()}
    assert any(k.endswith('weight_orig') for k in state)

    ticket = Ticket.from_torch_prune({'state_dict': state})
    assert list(ticket) == [f'{name}.weight' for name, _ in convs]
    assert ticket.sparsity == pytest.approx(0.5, abs=1 / ticket.numel)
    for name, m in convs:
        assert torch.equal(ticket[f'{name}.weight'], m.weight_mask.bool())
    ticket.check(original)  # the plain names fit an unpruned model of the same class
    assert ticket == Ticket.dense(original).prune(original, 0.5)  # same masks as lth_mm's

    dense, masks = dense_from_torch_prune({'state_dict': state})
    assert set(masks) == set(ticket)
    assert list(dense) == list(original.state_dict())  # plain names, weight_orig folded
    for name, m in convs:
        assert torch.equal(dense[f'{name}.weight'], m.weight_orig * m.weight_mask)
        assert bool((dense[f'{name}.weight'][~ticket[f'{name}.weight']] == 0).all())
    fresh = copy.deepcopy(original)
    fresh.load_state_dict(dense, strict=True)
    for key, value in original.state_dict().items():
        if key in ticket:
            assert torch.equal(fresh.state_dict()[key], value * ticket[key])
        else:
            assert torch.equal(fresh.state_dict()[key], value), key


def test_a_moco_checkpoint_keeps_the_query_encoder(make_tiny) -> None:
    moco = nn.Module()
    moco.encoder_q, moco.encoder_k = make_tiny(1), make_tiny(2)
    _globally_pruned(moco.encoder_q, 0.3)
    _globally_pruned(moco.encoder_k, 0.6)
    state = {f'module.{k}': v for k, v in moco.state_dict().items()}
    state['module.queue'] = torch.randn(8, 16)
    dense, masks = dense_from_torch_prune({'state_dict': state, 'arch': 'resnet50'})
    query = moco.encoder_q
    assert Ticket(masks) == Ticket.from_torch_prune(query.state_dict())
    assert Ticket(masks).sparsity == pytest.approx(0.3, abs=1e-2)
    assert set(dense) == set(make_tiny().state_dict()) | {'queue'}
    assert torch.equal(dense['layer1.0.conv1.weight'],
                       query.layer1[0].conv1.weight_orig * query.layer1[0].conv1.weight_mask)
    assert torch.equal(dense['conv1.weight'], query.conv1.weight)


def test_dense_checkpoint_needs_a_mask_for_each_orig() -> None:
    state = {'a.weight_orig': torch.ones(2), 'b.weight_mask': torch.ones(2)}
    with pytest.raises(ValueError, match=r'a.weight_orig has no matching "a.weight_mask"'):
        dense_from_torch_prune(state)


# Errors ----------------------------------------------------------------------------------------
def test_no_masks_raises() -> None:
    with pytest.raises(ValueError, match=r'no "\*.weight_mask" tensors found') as info:
        Ticket.from_torch_prune({'state_dict': {'conv.weight': torch.ones(2), 'fc.bias': 1}})
    assert 'conv.weight' in str(info.value)
    with pytest.raises(ValueError, match='no "'):  # only key-encoder masks: none for the query
        masks_from_torch_prune({'module.encoder_k.conv.weight_mask': torch.ones(2)})


@pytest.mark.parametrize('bad', [torch.tensor([0.0, 0.5]), torch.tensor([2, 1]),
                                 torch.tensor([float('nan'), 1.0]), torch.tensor([-1.0])])
def test_non_binary_masks_raise(bad: torch.Tensor) -> None:
    with pytest.raises(ValueError, match='conv.weight_mask holds values other than 0 and 1'):
        Ticket.from_torch_prune({'conv.weight_mask': bad})


def test_wrong_types_raise() -> None:
    with pytest.raises(ValueError, match='conv.weight_mask is a list, expected a tensor'):
        Ticket.from_torch_prune({'conv.weight_mask': [1, 0]})
    with pytest.raises(ValueError, match='expected a state dict'):
        Ticket.from_torch_prune([torch.ones(2)])


@pytest.mark.parametrize('bad, fragment', [
    (torch.ones(2, 3, device='meta'), 'is on the meta device'),
    (torch.ones(2, 3).to_sparse(), 'is a sparse_coo tensor, expected a dense one'),
    (torch.ones(2, 3).to_sparse_csr(), 'is a sparse_csr tensor, expected a dense one'),
], ids=['meta', 'sparse-coo', 'sparse-csr'])
def test_masks_must_be_dense_tensors_with_values(tmp_path: Path, bad: torch.Tensor,
                                                 fragment: str) -> None:
    """Not a crash inside torch (NotImplementedError, .item() on a meta tensor)."""
    for state, where in (({'conv.weight_mask': bad}, 'the object'),
                         ({'conv.weight_mask': bad, 'conv.weight_orig': torch.ones(2, 3)},
                          'the object')):
        for read in (masks_from_torch_prune, dense_from_torch_prune):
            with pytest.raises(ValueError, match=f'{where}: conv.weight_mask {fragment}'):
                read(state)
    path = tmp_path / 'masks.pth'
    torch.save({'state_dict': {'conv.weight_mask': bad}}, path)
    with pytest.raises(ValueError, match=f'masks.pth: conv.weight_mask {fragment}'):
        Ticket.from_torch_prune(path)


def test_keys_that_are_not_strings() -> None:
    """Masks are read from the "*.weight_mask" keys, so other keys of any type are ignored; a
    dense checkpoint keeps every key as a parameter name, so there they are an error."""
    state = {1: torch.ones(2), 'conv.weight_mask': torch.tensor([1.0, 0.0])}
    assert masks_from_torch_prune(state)['conv.weight'].tolist() == [True, False]
    with pytest.raises(ValueError, match=r'no "\*.weight_mask" tensors found \(keys look like: '
                       r'1, \(2, 3\)\)'):
        masks_from_torch_prune({1: torch.ones(2), (2, 3): torch.ones(2)})
    with pytest.raises(ValueError, match='the object: the key 1 is a int; state dict keys are'):
        dense_from_torch_prune(state)


@pytest.mark.parametrize('orig, fragment', [
    (torch.ones(8, 8, 3, 3), r'conv.weight_orig \(shape \[8, 8, 3, 3\]\) and its mask '
                             r'module.conv.weight_mask \(shape \[3\]\) differ'),
    (torch.ones(2), r'conv.weight_orig \(shape \[2\]\)'),
    ([1.0, 2.0, 3.0], r'conv.weight_orig \(a list\)')], ids=['broadcasts', 'smaller', 'list'])
def test_orig_and_mask_must_have_one_shape(tmp_path: Path, orig, fragment: str) -> None:
    """A [3] mask would broadcast over a [8, 8, 3, 3] weight without a word."""
    state = {'module.conv.weight_orig': orig, 'module.conv.weight_mask': torch.tensor([1., 0, 1])}
    with pytest.raises(ValueError, match='the object: module.' + fragment):
        dense_from_torch_prune(state)
    torch.save({'state_dict': state}, tmp_path / 'pruned.pth')
    with pytest.raises(ValueError, match='pruned.pth: module.' + fragment):
        dense_from_torch_prune(tmp_path / 'pruned.pth')


@pytest.mark.parametrize('keys', [
    ['module.conv.weight_mask', 'conv.weight_mask'],
    ['module.encoder_q.conv.weight_mask', 'encoder_q.conv.weight_mask'],
    ['encoder_q.conv.weight_mask', 'conv.weight_mask'],
])
def test_two_keys_for_one_name_raise(keys: list[str]) -> None:
    state = {key: torch.ones(3) for key in keys}
    with pytest.raises(ValueError, match='both map to') as info:
        Ticket.from_torch_prune(state)
    assert all(key in str(info.value) for key in keys) and "'conv.weight'" in str(info.value)
    with pytest.raises(ValueError, match='both map to'):
        dense_from_torch_prune(state)


def test_two_dense_keys_for_one_name_raise() -> None:
    state = {'conv.weight_mask': torch.ones(3), 'conv.weight_orig': torch.ones(3),
             'conv.weight': torch.ones(3)}
    with pytest.raises(ValueError, match="'conv.weight_orig' and 'conv.weight' both map to"):
        dense_from_torch_prune(state)
    state = {'module.fc.bias': torch.ones(3), 'fc.bias': torch.ones(3),
             'conv.weight_mask': torch.ones(1)}
    with pytest.raises(ValueError, match="'module.fc.bias' and 'fc.bias' both map to"):
        dense_from_torch_prune(state)


def test_ticket_from_a_resnet_prune_run_matches_the_scope(make_small_resnet) -> None:
    model, original = make_small_resnet(), make_small_resnet()
    _globally_pruned(model, 0.2)
    ticket = Ticket.from_torch_prune(model.state_dict())
    assert list(ticket) == list(PruneScope().select(original))
    assert len(ticket) == 11  # 4 blocks x 2 convs + 3 downsample convs, no stem
    assert ticket.sparsity == pytest.approx(0.2, abs=1e-6)
    ticket.check(original)
