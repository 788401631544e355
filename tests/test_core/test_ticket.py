"""Ticket: algebra, overlap, renaming, application to a model, checks and the provenance card."""
from __future__ import annotations

import ast
import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import lth_mm.core
from lth_mm.core import (
    MaskApplier,
    PruneScope,
    Ticket,
    TicketFileError,
    TicketMismatchError,
    TicketOverlap,
    bits,
    weights_hash,
)
from lth_mm.version import __version__

pytestmark = pytest.mark.usefixtures('single_thread')

FAST = settings(max_examples=40, deadline=None)


def _t(**masks: list) -> Ticket:
    """A hand-made ticket: ``_t(a=[1, 0], b=[[1], [0]])`` (keys get a ``.weight`` suffix)."""
    return Ticket({f'{k}.weight': torch.tensor(v, dtype=torch.bool) for k, v in masks.items()})


@st.composite
def ticket_pairs(draw) -> tuple[Ticket, Ticket]:
    """Two random tickets over the same keys and shapes."""
    shapes = draw(st.lists(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
                           min_size=1, max_size=4))
    seed = draw(st.integers(0, 2**16))
    keep_a, keep_b = draw(st.floats(0, 1)), draw(st.floats(0, 1))
    gen = torch.Generator().manual_seed(seed)
    a = {f'l{i}.weight': torch.rand(s, generator=gen) < keep_a for i, s in enumerate(shapes)}
    b = {f'l{i}.weight': torch.rand(s, generator=gen) < keep_b for i, s in enumerate(shapes)}
    return Ticket(a), Ticket(b)


# Construction and the mapping interface --------------------------------------------------------
def test_masks_are_stored_as_cpu_bool_and_validated() -> None:
    ticket = Ticket({'a.weight': torch.tensor([1.0, 0.0, 1.0]), 'b.weight': torch.tensor([1, 1])})
    assert ticket['a.weight'].dtype == torch.bool
    assert ticket['a.weight'].tolist() == [True, False, True]
    assert len(ticket) == 2 and list(ticket) == ['a.weight', 'b.weight'] and 'b.weight' in ticket
    assert (ticket.numel, ticket.kept) == (5, 4)
    assert ticket.sparsity == pytest.approx(0.2)
    assert ticket.card['sparsity'] == ticket.sparsity
    assert 'sparsity=0.2000' in repr(ticket)
    with pytest.raises(ValueError, match="mask 'a' holds values other than 0 and 1"):
        Ticket({'a': torch.tensor([0.0, 0.5])})
    with pytest.raises(TypeError, match="mask 'a' is a list"):
        Ticket({'a': [1, 0]})
    with pytest.raises(TypeError):
        ticket['a.weight'] = torch.ones(3, dtype=torch.bool)  # type: ignore[index]
    assert Ticket({}).sparsity == 0.0


def test_dense_ticket_on_resnet50(resnet50: nn.Module) -> None:
    ticket = Ticket.dense(resnet50, notes='hello')
    assert len(ticket) == 52 and 'conv1.weight' not in ticket
    params = dict(resnet50.named_parameters())
    assert all(ticket[k].shape == params[k].shape and bool(ticket[k].all()) for k in ticket)
    assert ticket.sparsity == 0.0 and ticket.kept == ticket.numel
    assert ticket.numel == sum(params[k].numel() for k in ticket)
    assert ticket.card['round'] == 0 and ticket.card['model_class'] == 'ResNet'
    assert ticket.card['notes'] == 'hello'
    assert ticket.card['scope'] == PruneScope().to_dict()
    assert ticket.scope == PruneScope()
    with_stem = Ticket.dense(resnet50, {'include_stem': True})
    assert len(with_stem) == 53 and with_stem.scope == PruneScope(include_stem=True)


# Algebra ---------------------------------------------------------------------------------------
@given(pair=ticket_pairs())
@FAST
def test_reverse_and_or(pair: tuple[Ticket, Ticket]) -> None:
    a, b = pair
    rev = a.reverse()
    assert rev.reverse() == a
    assert rev.sparsity == pytest.approx(1 - a.sparsity, abs=1e-12)
    assert rev.kept == a.numel - a.kept
    assert rev.card['reversed'] is True and rev.reverse().card['reversed'] is False
    assert all(torch.equal(rev[k], ~a[k]) for k in a)
    both, either = a & b, a | b
    assert all(torch.equal(both[k], a[k] & b[k]) for k in a)
    assert all(torch.equal(either[k], a[k] | b[k]) for k in a)
    assert both.kept <= min(a.kept, b.kept) <= max(a.kept, b.kept) <= either.kept
    assert (a & a) == a and (a | a) == a and (a & rev).kept == 0 and (a | rev).sparsity == 0
    assert a.overlap(b).overall == pytest.approx(both.kept / either.kept if either.kept else 1.0)


def test_equality() -> None:
    a = _t(x=[1, 0], y=[[1], [1]])
    assert a == _t(x=[1, 0], y=[[1], [1]])
    assert a == _t(y=[[1], [1]], x=[1, 0])  # compared like a dict: order does not matter
    assert a != _t(x=[1, 1], y=[[1], [1]])
    assert a != _t(x=[1, 0])
    assert a != _t(x=[1, 0], y=[1, 1])  # same values, other shape
    assert a != {'x.weight': torch.tensor([True, False])}
    with pytest.raises(TypeError):
        hash(a)


def test_algebra_needs_aligned_tickets() -> None:
    with pytest.raises(TicketMismatchError, match='only in the first: x.weight'):
        _t(x=[1], y=[1]) & _t(y=[1], z=[1])
    with pytest.raises(TicketMismatchError, match='differ in shape at: x.weight'):
        _t(x=[1, 0]) | _t(x=[1, 0, 1])
    with pytest.raises(TicketMismatchError):
        _t(x=[1]).overlap(_t(y=[1]))


def test_overlap_on_hand_made_masks() -> None:
    a = _t(x=[1, 1, 0, 0], y=[1, 1], z=[0, 0, 1])
    b = _t(x=[1, 0, 1, 0], y=[1, 1], z=[0, 0, 0])
    overlap = a.overlap(b)
    assert isinstance(overlap, TicketOverlap)
    assert overlap.per_layer == pytest.approx(
        {'x.weight': 1 / 3, 'y.weight': 1.0, 'z.weight': 0.0})
    assert overlap.overall == pytest.approx((1 + 2 + 0) / (3 + 2 + 1))
    assert a.overlap(a).overall == 1.0
    assert a.overlap(a.reverse()).overall == 0.0
    empty = _t(x=[0, 0])  # nothing kept in either: identical, IoU 1
    assert empty.overlap(empty) == (1.0, {'x.weight': 1.0})


# Renaming --------------------------------------------------------------------------------------
def test_rename_add_and_strip_prefix() -> None:
    ticket = Ticket({'layer1.0.conv1.weight': torch.tensor([True, False]),
                     'layer2.0.conv1.weight': torch.tensor([False])}, PruneScope())
    moved = ticket.add_prefix('backbone.')
    assert list(moved) == ['backbone.layer1.0.conv1.weight', 'backbone.layer2.0.conv1.weight']
    assert moved.scope is None and moved.card['scope'] is None
    assert torch.equal(moved['backbone.layer1.0.conv1.weight'], ticket['layer1.0.conv1.weight'])
    assert moved.strip_prefix('backbone.') == ticket
    mixed = Ticket({'backbone.a.weight': torch.ones(1), 'head.b.weight': torch.ones(1)})
    assert list(mixed.strip_prefix('backbone.')) == ['a.weight']  # keys without it are dropped
    mapped = ticket.rename({'layer1.0.conv1.weight': 'x.weight'})
    assert list(mapped) == ['x.weight', 'layer2.0.conv1.weight']
    dropped = ticket.rename(lambda k: None if k.startswith('layer2') else k.upper())
    assert list(dropped) == ['LAYER1.0.CONV1.WEIGHT']
    with pytest.raises(ValueError, match="two masks onto 'same'"):
        ticket.rename(lambda k: 'same')


# Application -----------------------------------------------------------------------------------
def test_apply_zeroes_exactly_the_pruned_entries(make_tiny) -> None:
    model = make_tiny(1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    param_ids = {k: id(p) for k, p in model.named_parameters()}
    ticket = Ticket.dense(model).prune(model, 0.5, 'random',
                                       generator=torch.Generator().manual_seed(0))
    assert ticket.apply_(model) is model
    after = model.state_dict()
    assert list(after) == list(before)  # same names: no weight_orig / weight_mask
    assert {k: id(p) for k, p in model.named_parameters()} == param_ids
    assert not any(m._forward_pre_hooks for m in model.modules())
    for name, value in after.items():
        if name in ticket:
            assert torch.equal(value[ticket[name]], before[name][ticket[name]])
            assert bool((value[~ticket[name]] == 0).all())
        else:
            assert torch.equal(value, before[name]), name
    clone = copy.deepcopy(model)  # no hooks or reparametrisation to trip deepcopy
    assert all(torch.equal(a, b)
               for a, b in zip(clone.state_dict().values(), after.values(), strict=True))
    model(torch.randn(2, 3, 8, 8)).sum().backward()  # still an ordinary trainable model


def test_mask_applier_is_reusable_and_masks_grads(make_tiny) -> None:
    model = make_tiny(2)
    ticket = Ticket.dense(model).prune(model, 0.3)
    applier = ticket.bind(model)
    assert isinstance(applier, MaskApplier)
    params = dict(model.named_parameters())
    for _ in range(2):  # e.g. after each optimizer step
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)
        applier()
        for name, mask in ticket.items():
            assert bool((params[name][~mask] == 0).all())
            assert bool((params[name][mask] != 0).all())
    frozen = model.layer1[0].conv1.weight
    frozen.requires_grad_(False)  # a frozen tensor gets no hook (it could not take one)
    handles = applier.hook_grads()
    assert len(handles) == len(ticket) - 1
    model(torch.randn(2, 3, 8, 8)).sum().backward()
    for name, mask in ticket.items():
        if params[name] is not frozen:
            assert bool((params[name].grad[~mask] == 0).all())
            assert bool((params[name].grad[mask] != 0).any())
    assert frozen.grad is None
    for handle in handles:
        handle.remove()
    model.zero_grad()
    model(torch.randn(2, 3, 8, 8)).sum().backward()  # removed: the full gradients again
    assert any(bool((params[n].grad[~m] != 0).any()) for n, m in ticket.items()
               if params[n] is not frozen)
    assert Ticket.dense(model).bind(model).hook_grads() == []  # nothing pruned: no pass
    MaskApplier([], [])()  # an empty applier is a no-op


def test_masked_gradients_of_sparse_and_higher_order_gradients() -> None:
    """The gradient hooks mask a sparse gradient (an ``nn.Embedding(sparse=True)``) and, under
    ``create_graph=True``, build the product into the graph: a gradient of the masked gradient
    is the gradient of ``grad * mask``."""
    generator = torch.Generator().manual_seed(0)
    embedding = nn.Embedding(7, 4, sparse=True)
    mask = torch.rand(7, 4, generator=generator) < 0.5
    hooks = MaskApplier([embedding.weight], [bits.pack(mask)]).hook_grads()
    embedding(torch.tensor([0, 2, 2, 5])).sum().backward()
    grad = embedding.weight.grad
    assert grad.is_sparse
    dense = grad.to_dense()
    assert bool((dense[~mask] == 0).all()) and bool((dense[2][mask[2]] == 2).all())
    for handle in hooks:
        handle.remove()

    linear = nn.Linear(6, 5, bias=False)
    mask = torch.rand(5, 6, generator=generator) < 0.5
    x = torch.randn(3, 6, generator=generator, requires_grad=True)
    (reference, ) = torch.autograd.grad((linear(x) ** 2).sum(), linear.weight, create_graph=True)
    (expected, ) = torch.autograd.grad(((reference * mask) ** 2).sum(), x)
    hooks = MaskApplier([linear.weight], [bits.pack(mask)]).hook_grads()
    (masked, ) = torch.autograd.grad((linear(x) ** 2).sum(), linear.weight, create_graph=True)
    assert torch.equal(masked.detach(), (reference * mask).detach())
    (got, ) = torch.autograd.grad((masked ** 2).sum(), x)
    torch.testing.assert_close(got, expected)
    for handle in hooks:
        handle.remove()


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16, torch.bfloat16, torch.float64])
@pytest.mark.parametrize('cpu_slice', [bits.CPU_SLICE, 24])
def test_mask_applier_holds_one_bit_per_weight_and_multiplies_exactly(make_tiny, dtype,
                                                                       cpu_slice,
                                                                       monkeypatch) -> None:
    """The applier's masks are the ticket's own packed bytes (no copy on the CPU), and applying
    them gives bit for bit what a multiplication by a float mask gives, whole or in slices of
    24 weights (3 bytes of the packed mask: most tensors end inside a slice)."""
    monkeypatch.setattr(bits, 'CPU_SLICE', cpu_slice)
    model = make_tiny(3).to(dtype)
    ticket = Ticket.dense(model).prune(model, 0.6, 'random',
                                       generator=torch.Generator().manual_seed(1))
    applier = ticket.bind(model)
    assert applier.nbytes == 0
    for mask, (name, shape) in zip(applier.masks, ticket.shapes.items(), strict=True):
        assert mask.dtype == torch.uint8 and mask.numel() == (shape.numel() + 7) // 8
        assert mask.data_ptr() == ticket._bits[name].data_ptr(), name  # the ticket's own bytes
    params = dict(model.named_parameters())
    with torch.no_grad():
        for p in params.values():
            p.normal_()  # negative weights too: -x * 0 is -0.0 either way
        params[next(iter(ticket))].view(-1)[:3] = float('nan')  # NaN * 0 is NaN either way
    expected = {n: params[n].detach() * ticket[n].to(dtype) for n in ticket}
    applier()
    for name in ticket:
        assert same_bits(params[name].detach(), expected[name]), name
    # Masks that are not packed are refused with what to pass.
    with pytest.raises(ValueError, match=r'packed by lth_mm\.core\.bits\.pack'):
        MaskApplier(list(applier.params), [ticket[n].float() for n in ticket])


def same_bits(got: torch.Tensor, expected: torch.Tensor) -> bool:
    """Equal bit for bit (so ``-0.0`` differs from ``0.0``), where NaN only needs to be NaN
    (which NaN a kernel returns differs between its vectorized and scalar paths)."""
    nan = torch.isnan(expected)
    if not torch.equal(torch.isnan(got), nan):
        return False
    return torch.equal(got[~nan].view(torch.uint8), expected[~nan].view(torch.uint8))


def test_a_tickets_masks_are_one_block_of_one_bit_per_weight(make_tiny, tmp_path) -> None:
    """Every way of making a ticket holds its masks packed in one block of one bit per weight
    (padded to a byte per mask; one allocation, not one per tensor), copied from what it was
    given; reading a mask gives a new bool tensor, not the ticket's storage."""
    model = make_tiny(2)
    given = {n: torch.rand(p.shape, generator=torch.Generator().manual_seed(3)) > 0.5
             for n, p in Ticket.dense(model).scope.select(model).items()}
    dense = Ticket.dense(model)
    pruned = dense.prune(model, 0.4)
    pruned.save(tmp_path / 't.safetensors')
    made = {
        'from masks': Ticket(given), 'dense': dense, 'prune': pruned,
        'load': Ticket.load(tmp_path / 't.safetensors'), 'reverse': pruned.reverse(),
        'random_like': pruned.random_like(torch.Generator().manual_seed(0)),
        'unpack': Ticket.unpack(pruned.pack()), 'add_prefix': pruned.add_prefix('m.'),
        'and': pruned & pruned.reverse(), 'or': pruned | dense,
    }
    for how, ticket in made.items():
        storages = {b.untyped_storage().data_ptr() for b in ticket._bits.values()}
        assert len(storages) == 1, how
        storage = next(iter(ticket._bits.values())).untyped_storage()
        assert storage.nbytes() == ticket.nbytes == sum(
            (s.numel() + 7) // 8 for s in ticket.shapes.values()), how
        assert ticket.nbytes < ticket.numel / 7, how
        assert all(m.dtype == torch.bool and m.is_contiguous() for m in ticket.values()), how
    name = next(iter(given))
    before = made['from masks'][name].clone()
    given[name].logical_not_()  # the caller's tensors are not the ticket's
    assert torch.equal(made['from masks'][name], before)
    made['from masks'][name].logical_not_()  # nor are the tensors it hands out
    assert torch.equal(made['from masks'][name], before)
    assert made['and'].kept == 0 and made['or'] == dense


def test_apply_to_a_half_precision_model(make_tiny) -> None:
    model = make_tiny(0).half()
    ticket = Ticket.dense(model).prune(model, 0.5)
    ticket.apply_(model)
    weight = model.layer1[0].conv1.weight
    assert weight.dtype == torch.float16
    assert int((weight == 0).sum()) == int((~ticket['layer1.0.conv1.weight']).sum())


# Checks ----------------------------------------------------------------------------------------
def test_check_lists_missing_unexpected_and_mis_shaped(make_tiny, tiny_prunable) -> None:
    model = make_tiny()
    params = dict(model.named_parameters())
    masks = {k: torch.ones(params[k].shape, dtype=torch.bool) for k in tiny_prunable[1:]}
    masks['foo.weight'] = torch.ones(3, dtype=torch.bool)
    masks['layer2.0.conv1.weight'] = torch.ones(2, 2, dtype=torch.bool)
    ticket = Ticket(masks, PruneScope())
    with pytest.raises(TicketMismatchError) as info:
        ticket.check(model)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert 'ticket does not fit TinyResNet' in message
    assert 'keys not in the model: foo.weight' in message
    assert f'prunable model keys without mask: {tiny_prunable[0]}' in message
    assert 'shape mismatches: layer2.0.conv1.weight: ticket [2, 2] vs model [8, 4, 3, 3]' in message
    assert 'conv1.weight' in message.split("parameters look like: ")[1]
    # non-strict: a subset of the prunable weights is fine, wrong keys are not
    Ticket({tiny_prunable[0]: torch.ones(params[tiny_prunable[0]].shape)}, PruneScope()).check(
        model, strict=False)
    with pytest.raises(TicketMismatchError, match='keys not in the model: foo.weight'):
        ticket.check(model, strict=False)


def test_check_returns_the_masked_parameters(make_tiny, tiny_prunable) -> None:
    model = make_tiny()
    params = Ticket.dense(model).check(model)
    assert list(params) == tiny_prunable
    assert all(params[k] is p for k, p in model.named_parameters() if k in params)


def test_a_resnet18_ticket_does_not_fit_resnet50(resnet18: nn.Module,
                                                 resnet50: nn.Module) -> None:
    ticket = Ticket.dense(resnet18).prune(resnet18, 0.2)
    model = resnet50
    before = weights_hash(model.state_dict())
    calls = {'check': ticket.check, 'apply_': ticket.apply_, 'bind': ticket.bind,
             'prune': lambda m: ticket.prune(m, 0.2)}
    for name, call in calls.items():
        with pytest.raises(TicketMismatchError, match='ticket does not fit ResNet') as info:
            call(model)
        message = str(info.value)
        assert 'shape mismatches: layer1.0.conv1.weight: ticket [64, 64, 3, 3] vs model ' \
               '[64, 64, 1, 1]' in message
        strict = name in ('check', 'prune')  # apply_ and bind accept a subset of the scope
        assert ('prunable model keys without mask: layer1.0.conv3.weight' in message) == strict
    assert weights_hash(model.state_dict()) == before  # nothing was applied


def test_a_ticket_with_other_names_fails_with_a_hint(resnet50: nn.Module) -> None:
    ticket = Ticket.dense(resnet50).add_prefix('backbone.')
    with pytest.raises(TicketMismatchError) as info:
        ticket.check(resnet50)
    assert 'keys not in the model: backbone.layer1.0.conv1.weight' in str(info.value)
    assert 'strip_prefix' in str(info.value) or 'add_prefix' in str(info.value)
    ticket.strip_prefix('backbone.').check(resnet50)


# Tables and cards ------------------------------------------------------------------------------
def test_layer_table() -> None:
    ticket = Ticket({'a.weight': torch.tensor([[1, 0], [0, 0]]), 'b.weight': torch.ones(3),
                     'c.weight': torch.zeros(0)})
    assert ticket.layer_table() == [
        {'name': 'a.weight', 'shape': [2, 2], 'numel': 4, 'kept': 1, 'sparsity': 0.75},
        {'name': 'b.weight', 'shape': [3], 'numel': 3, 'kept': 3, 'sparsity': 0.0},
        {'name': 'c.weight', 'shape': [0], 'numel': 0, 'kept': 0, 'sparsity': 0.0},
    ]


def test_card_after_pruning(make_tiny) -> None:
    model = make_tiny(4)
    dense = Ticket.dense(model)
    params = PruneScope().select(model)
    first = dense.prune(model, 0.2, notes='round one')
    expected_hash = weights_hash(params)
    first.apply_(model)
    second = first.prune(model, 0.2, 'magnitude', 'layerwise')
    card = first.card
    assert card['criterion'] == 'magnitude' and card['mode'] == 'global'
    assert card['rate'] == 0.2 and card['round'] == 1 and card['notes'] == 'round one'
    assert card['sparsity'] == first.sparsity > 0
    assert card['model_class'] == 'TinyResNet'
    assert card['weights_hash'] == expected_hash and len(expected_hash) == 16
    assert card['lth_mm_version'] == __version__
    assert card['scope'] == PruneScope().to_dict()
    assert second.card['round'] == 2 and second.card['mode'] == 'layerwise'
    assert second.card['weights_hash'] != card['weights_hash']  # the weights were masked since
    assert second.card['notes'] == 'round one'  # carried over unless replaced
    random = dense.prune(model, 0.5, 'random', generator=torch.Generator().manual_seed(0))
    assert random.card['criterion'] == 'random'
    assert dense.card['round'] == 0 and 'criterion' not in dense.card  # not modified


def test_sparsity_after_rounds_of_ticket_prune(make_tiny) -> None:
    model = make_tiny(5)
    ticket = Ticket.dense(model)
    for _ in range(3):
        ticket = ticket.prune(model, 0.2)
        ticket.apply_(model)
    assert ticket.sparsity == pytest.approx(1 - 0.8**3, abs=3 / ticket.numel)
    assert ticket.card['round'] == 3


def test_weights_hash() -> None:
    a = {'x': torch.arange(6.0).view(2, 3)}
    assert weights_hash(a) == weights_hash({'x': torch.arange(6.0).view(2, 3)})
    assert weights_hash(a) != weights_hash({'y': torch.arange(6.0).view(2, 3)})
    assert weights_hash(a) != weights_hash({'x': torch.arange(6.0).view(3, 2)})
    assert weights_hash(a) != weights_hash({'x': torch.arange(6.0).view(2, 3).double()})
    assert weights_hash(a) != weights_hash({'x': torch.arange(6.0).view(2, 3) + 1e-6})
    assert weights_hash(a) == weights_hash({'x': torch.arange(6.0).view(3, 2).t().t().view(2, 3)})
    assert weights_hash({'x': torch.arange(6.0).view(3, 2).t()}) == weights_hash(
        {'x': torch.arange(6.0).view(3, 2).t().contiguous()})  # layout does not matter


def test_state_tensors_round_trip(make_tiny) -> None:
    model = make_tiny()
    ticket = Ticket.dense(model).prune(model, 0.4)
    masks, card = ticket.state_tensors()
    again = Ticket.from_state(masks, card)
    assert again == ticket and again.card == ticket.card and again.scope == ticket.scope


def test_pack_round_trip_through_a_weights_only_checkpoint(make_tiny, tmp_path) -> None:
    model = make_tiny()
    ticket = Ticket.dense(model).prune(model, 0.4)
    torch.save({'lth_mm_ticket': ticket.pack()}, tmp_path / 'ckpt.pth')
    state = torch.load(tmp_path / 'ckpt.pth', weights_only=True)['lth_mm_ticket']
    again = Ticket.unpack(state)
    assert again == ticket and again.card == ticket.card and again.scope == ticket.scope
    packed_bytes = sum(v.numel() for v in state['masks'].values())
    assert packed_bytes == sum((m.numel() + 7) // 8 for m in ticket.values())
    name = next(iter(state['masks']))
    state['masks'][name] = state['masks'][name][:-1]
    with pytest.raises(TicketFileError, match=f'ckpt: corrupt mask {name!r}'):
        Ticket.unpack(state, where='ckpt')
    with pytest.raises(TicketFileError, match='not an lth_mm ticket record'):
        Ticket.unpack({'masks': {}}, where='ckpt')


class _AcceleratorTensor(torch.Tensor):
    """Stands in for a tensor on an accelerator where there is none: ``numpy()`` refuses it,
    as PyTorch does for a CUDA tensor; ``cpu()`` copies it to a plain CPU tensor."""

    def numpy(self, *args, **kwargs):
        raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to "
                        'copy the tensor to host memory first.')

    def cpu(self, *args, **kwargs):
        return self.as_subclass(torch.Tensor).clone()


@pytest.mark.parametrize('device', ['stand-in', pytest.param('cuda', marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a GPU'))])
def test_a_record_resumed_onto_an_accelerator_unpacks(make_tiny, tmp_path, device) -> None:
    """``Runner.resume`` loads a checkpoint with ``map_location`` the run's device: on a GPU
    the packed masks arrive there."""
    model = make_tiny()
    ticket = Ticket.dense(model).prune(model, 0.4)
    torch.save({'lth_mm_ticket': ticket.pack()}, tmp_path / 'ckpt.pth')
    state = torch.load(tmp_path / 'ckpt.pth', weights_only=True,
                       map_location='cpu' if device == 'stand-in' else device)['lth_mm_ticket']
    if device == 'stand-in':
        state['masks'] = {k: v.as_subclass(_AcceleratorTensor) for k, v in state['masks'].items()}
    again = Ticket.unpack(state, where='ckpt.pth')
    assert again == ticket and all(m.device.type == 'cpu' for m in again.values())
    state['format_version'] = True  # == 1, but no version number
    with pytest.raises(TicketFileError, match='ticket format version True'):
        Ticket.unpack(state, where='ckpt.pth')


@given(st.integers(0, 2**31 - 1), st.floats(0.05, 0.95))
@settings(max_examples=20, deadline=None)
def test_random_like_keeps_the_count_and_the_keys(seed, rate) -> None:
    model = nn.Sequential(nn.Conv2d(3, 5, 3), nn.Conv2d(5, 7, 1), nn.Conv2d(7, 2, 3))
    ticket = Ticket.dense(model, dict(include_stem=True)).prune(model, rate)
    rnd = ticket.random_like(torch.Generator().manual_seed(seed))
    assert set(rnd) == set(ticket) and all(rnd[k].shape == ticket[k].shape for k in ticket)
    assert rnd.kept == ticket.kept and rnd.card['criterion'] == 'random'
    assert rnd == ticket.random_like(torch.Generator().manual_seed(seed))


# The core stays plain PyTorch ------------------------------------------------------------------
def test_core_sources_import_no_openmmlab_package() -> None:
    stack = {'mmengine', 'mmcv', 'mmdet', 'mmseg', 'mmpretrain'}
    for path in Path(lth_mm.core.__file__).parent.glob('*.py'):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ''] if node.level == 0 else []
            else:
                continue
            assert not {n.split('.')[0] for n in names} & stack, (path.name, names)


def test_core_works_without_the_stack() -> None:
    code = (
        'import sys\n'
        'for name in ("mmengine", "mmcv", "mmdet", "mmseg", "mmpretrain"):\n'
        '    sys.modules[name] = None  # makes "import name" fail\n'
        'import torch\n'
        'from lth_mm.core import Ticket\n'
        'model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))\n'
        'print(Ticket.dense(model).prune(model, 0.5).sparsity)\n')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            cwd=Path(lth_mm.core.__file__).parents[2], timeout=120)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == 0.5


def test_a_checkpoint_record_with_a_bad_scope_names_its_source() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    record = Ticket.dense(model).pack()
    record['card'] = dict(record['card'], scope={'bogus': 1})
    with pytest.raises(TicketFileError, match=r'epoch_3.pth: invalid ticket record .*unknown'):
        Ticket.unpack(record, where='epoch_3.pth')
