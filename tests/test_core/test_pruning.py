"""Pruning arithmetic: counts, monotonicity, magnitude order, randomness, and torch.nn.utils.prune.
"""
from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils import prune

from lth_mm.core import CRITERIA, MODES, PruneScope, Ticket, count_to_prune, prune_masks

pytestmark = pytest.mark.usefixtures('single_thread')

FAST = settings(max_examples=40, deadline=None)

shapes_st = st.lists(
    st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple), min_size=1, max_size=4)
rates_st = st.floats(0.01, 0.99, allow_nan=False)


def _weights(shapes: list[tuple[int, ...]], seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=gen) for shape in shapes]


def _dense(weights: list[torch.Tensor]) -> list[torch.Tensor]:
    return [torch.ones(w.shape, dtype=torch.bool) for w in weights]


def _alive(masks: list[torch.Tensor]) -> int:
    return sum(int(m.sum()) for m in masks)


# count_to_prune --------------------------------------------------------------------------------
@given(rate=st.floats(0.0, 1.0), alive=st.integers(0, 10_000))
@FAST
def test_count_to_prune_matches_torch(rate: float, alive: int) -> None:
    expected = prune._compute_nparams_toprune(rate, alive)
    assert count_to_prune(rate, alive) == expected
    assert 0 <= count_to_prune(rate, alive) <= alive


def test_count_to_prune_rounds_like_python() -> None:
    assert count_to_prune(0.2, 10) == 2
    assert count_to_prune(0.25, 10) == 2  # round(2.5) == 2 (banker's rounding, as torch)
    assert count_to_prune(0.35, 10) == 4  # 3.5 -> 4
    assert count_to_prune(0.2, 0) == 0


# Invariants ------------------------------------------------------------------------------------
@given(shapes=shapes_st, rate=rates_st, rounds=st.integers(1, 5), seed=st.integers(0, 2**16),
       criterion=st.sampled_from(CRITERIA), mode=st.sampled_from(MODES))
@FAST
def test_pruning_invariants(shapes, rate: float, rounds: int, seed: int, criterion: str,
                            mode: str) -> None:
    weights = _weights(shapes, seed)
    numel = sum(w.numel() for w in weights)
    masks = _dense(weights)
    gen = torch.Generator().manual_seed(seed)
    expected_alive = [w.numel() for w in weights]
    for _ in range(rounds):
        new = prune_masks(weights, masks, rate, criterion, mode, generator=gen)
        assert [m.shape for m in new] == [w.shape for w in weights]
        assert all(m.dtype == torch.bool for m in new)
        # monotone: a pruned weight never comes back
        assert all(bool((n <= o).all()) for n, o in zip(new, masks, strict=True))
        # exact counts: round(rate * alive), over all tensors or per tensor
        if mode == 'global':
            total = sum(expected_alive)
            removed = count_to_prune(rate, total)
            assert _alive(masks) - _alive(new) == removed
            expected_alive = [int(m.sum()) for m in new]
            assert sum(expected_alive) == total - removed
        else:
            expected_alive = [a - count_to_prune(rate, a) for a in expected_alive]
            assert [int(m.sum()) for m in new] == expected_alive
        if criterion == 'magnitude':
            groups = [(weights, masks, new)] if mode == 'global' else [
                ([w], [o], [n]) for w, o, n in zip(weights, masks, new, strict=True)]
            for ws, olds, news in groups:
                pruned = torch.cat([w[o & ~n].abs()
                                    for w, o, n in zip(ws, olds, news, strict=True)])
                kept = torch.cat([w[n].abs() for w, n in zip(ws, news, strict=True)])
                if pruned.numel() and kept.numel():
                    assert pruned.max() <= kept.min()
        masks = new
    # sparsity after k rounds is 1 - (1 - r)^k up to the rounding of each round
    sparsity = 1 - _alive(masks) / numel
    layers = 1 if mode == 'global' else len(weights)
    assert abs(sparsity - (1 - (1 - rate) ** rounds)) <= 0.5 * rounds * layers / numel + 1e-9


@pytest.mark.parametrize('mode', MODES)
def test_compound_sparsity_matches_the_paper(mode: str) -> None:
    """Rate 0.2 gives the paper's 59.04 %, 67.23 %, 79.03 %, 89.26 % at rounds 4, 5, 7, 10."""
    weights = _weights([(64, 64, 3, 3), (128, 64, 3, 3), (128, 128, 1, 1)], 0)
    masks = _dense(weights)
    numel = sum(w.numel() for w in weights)
    reached = {}
    for k in range(1, 11):
        masks = prune_masks(weights, masks, 0.2, mode=mode)
        reached[k] = 1 - _alive(masks) / numel
    for k, paper in {4: 0.5904, 5: 0.6723, 7: 0.7903, 10: 0.8926}.items():
        assert reached[k] == pytest.approx(paper, abs=2e-4)


def test_masks_are_not_modified_in_place() -> None:
    weights = _weights([(4, 4, 3, 3)], 1)
    masks = _dense(weights)
    prune_masks(weights, masks, 0.5)
    assert bool(masks[0].all())


def test_layerwise_keeps_per_layer_counts_even_with_different_scales() -> None:
    # global magnitude empties the small-scale layer first; layerwise prunes each one alike
    weights = [torch.randn(100) * 0.01, torch.randn(100) * 100]
    masks = _dense(weights)
    glob = prune_masks(weights, masks, 0.5, mode='global')
    assert [int(m.sum()) for m in glob] == [0, 100]
    per_layer = prune_masks(weights, masks, 0.5, mode='layerwise')
    assert [int(m.sum()) for m in per_layer] == [50, 50]


# Random criterion ------------------------------------------------------------------------------
@pytest.mark.parametrize('mode', MODES)
def test_random_is_deterministic_per_seed(mode: str) -> None:
    weights = _weights([(64, 32, 3, 3), (32, 32, 3, 3)], 0)
    masks = _dense(weights)

    def run(seed: int) -> list[torch.Tensor]:
        gen = torch.Generator().manual_seed(seed)
        first = prune_masks(weights, masks, 0.3, 'random', mode, generator=gen)
        return prune_masks(weights, first, 0.3, 'random', mode, generator=gen)

    a, b, c = run(7), run(7), run(8)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(a, c, strict=True))
    # random ignores the magnitudes: it is not the magnitude mask
    magnitude = prune_masks(weights, masks, 0.3)
    first = prune_masks(weights, masks, 0.3, 'random', mode,
                        generator=torch.Generator().manual_seed(7))
    assert not all(torch.equal(x, y) for x, y in zip(first, magnitude, strict=True))


def test_random_among_alive_is_roughly_uniform() -> None:
    weights = [torch.zeros(20_000)]
    gen = torch.Generator().manual_seed(0)
    mask = prune_masks(weights, _dense(weights), 0.5, 'random', generator=gen)[0]
    halves = mask.view(2, -1).sum(1).float() / 10_000
    assert torch.allclose(halves, torch.full((2,), 0.5), atol=0.03)


# Errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize('rate', [0, 0.0, 1, 1.0, -0.1, 1.5, float('nan')])
def test_invalid_rates_raise(rate: float) -> None:
    weights = _weights([(3, 3)], 0)
    with pytest.raises(ValueError, match=r'rate must be in \(0, 1\)'):
        prune_masks(weights, _dense(weights), rate)


def test_invalid_criterion_mode_and_shapes_raise() -> None:
    weights = _weights([(3, 3)], 0)
    masks = _dense(weights)
    with pytest.raises(ValueError, match='criterion must be one of'):
        prune_masks(weights, masks, 0.2, criterion='l2')
    with pytest.raises(ValueError, match='mode must be one of'):
        prune_masks(weights, masks, 0.2, mode='local')
    with pytest.raises(ValueError, match='differ in number or shape'):
        prune_masks(weights, masks + masks, 0.2)
    with pytest.raises(ValueError, match='differ in number or shape'):
        prune_masks(weights, [torch.ones(9, dtype=torch.bool)], 0.2)


@pytest.mark.parametrize('bad', [float('nan'), float('inf'), float('-inf')])
@pytest.mark.parametrize('mode', MODES)
def test_non_finite_weights_raise_for_magnitude(bad: float, mode: str) -> None:
    weights = _weights([(4, 4), (8,)], 0)
    weights[1][3] = bad
    with pytest.raises(ValueError, match='NaN or Inf'):
        prune_masks(weights, _dense(weights), 0.2, 'magnitude', mode)


def test_non_finite_pruned_weights_are_ignored() -> None:
    """Only alive weights are scored: a NaN under an already pruned entry is harmless."""
    weights = _weights([(10,)], 0)
    masks = [torch.ones(10, dtype=torch.bool)]
    masks[0][3] = False
    weights[0][3] = float('nan')
    new = prune_masks(weights, masks, 0.5)[0]
    assert int(new.sum()) == 9 - count_to_prune(0.5, 9) and not bool(new[3])


# One-shot pruning (OMP) ------------------------------------------------------------------------
@given(sparsity=st.floats(0.05, 0.95), seed=st.integers(0, 1000), warm=st.booleans(),
       criterion=st.sampled_from(CRITERIA))
@settings(max_examples=30, deadline=None)
def test_prune_to_reaches_the_target_count(sparsity: float, seed: int, warm: bool,
                                           criterion: str) -> None:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 16, 3), nn.Conv2d(16, 4, 1))
    ticket = Ticket.dense(model)
    if warm:  # from a ticket that is already pruned a little
        ticket = ticket.prune(model, 0.03)
    if not ticket.sparsity < sparsity:
        return
    gen = torch.Generator().manual_seed(seed)
    target = count_to_prune(sparsity, ticket.numel)
    if not 0 < target - (ticket.numel - ticket.kept) < ticket.kept:
        with pytest.raises(ValueError, match='target sparsity'):
            ticket.prune_to(model, sparsity, criterion, generator=gen)
        return
    omp = ticket.prune_to(model, sparsity, criterion, generator=gen)
    assert omp.numel - omp.kept == target
    assert omp.card['target_sparsity'] == sparsity
    assert all(bool((omp[k] <= ticket[k]).all()) for k in ticket)


def test_prune_to_layerwise_from_dense_hits_each_layer() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 16, 3), nn.Conv2d(16, 4, 1))
    omp = Ticket.dense(model).prune_to(model, 0.7, mode='layerwise')
    for row in omp.layer_table():
        assert row['numel'] - row['kept'] == count_to_prune(0.7, row['numel'])


def test_prune_to_equals_one_shot_global_magnitude(make_small_resnet) -> None:
    """OMP at sparsity s keeps the round((1 - s) n) largest weights of the whole scope."""
    model = make_small_resnet()
    ticket = Ticket.dense(model).prune_to(model, 0.8)
    params = PruneScope().select(model)
    flat = torch.cat([p.detach().abs().flatten() for p in params.values()])
    pruned = count_to_prune(0.8, flat.numel())
    threshold = flat.kthvalue(pruned).values
    assert ticket.numel - ticket.kept == pruned
    for name, p in params.items():
        assert bool((p.detach().abs()[~ticket[name]] <= threshold).all())
        assert bool((p.detach().abs()[ticket[name]] >= threshold).all())


@pytest.mark.parametrize('bad', [0.0, -0.5, 1.0, 1.2])
def test_prune_to_rejects_out_of_range(make_tiny, bad: float) -> None:
    model = make_tiny()
    with pytest.raises(ValueError, match='target sparsity'):
        Ticket.dense(model).prune_to(model, bad)


def test_prune_to_below_current_sparsity_raises(make_tiny) -> None:
    model = make_tiny()
    ticket = Ticket.dense(model).prune(model, 0.5)
    with pytest.raises(ValueError, match='target sparsity'):
        ticket.prune_to(model, 0.3)


# Equality with torch.nn.utils.prune.global_unstructured(L1Unstructured) ------------------------
def _torch_convs(model: nn.Module) -> list[tuple[str, nn.Module]]:
    stems = {'conv1'}
    return [(name, m) for name, m in model.named_modules()
            if isinstance(m, nn.Conv2d) and name not in stems]


@torch.no_grad()
def _compare_with_torch_prune(model: nn.Module, rounds: int, rate: float, noise,
                              gen: torch.Generator) -> None:
    """Prune ``model`` with lth_mm and a copy with torch.nn.utils.prune, training in between."""
    reference = copy.deepcopy(model).eval()
    convs = _torch_convs(reference)
    ticket = Ticket.dense(model)
    assert list(ticket) == [f'{name}.weight' for name, _ in convs]
    for _ in range(rounds):
        prune.global_unstructured([(m, 'weight') for _, m in convs],
                                  pruning_method=prune.L1Unstructured, amount=rate)
        ticket = ticket.prune(model, rate)
        ticket.apply_(model)
        for name, m in convs:
            assert torch.equal(ticket[f'{name}.weight'], m.weight_mask.bool()), name
        # "training": the same update on both copies, only the surviving weights change
        params = PruneScope().select(model)
        for name, m in convs:
            step = noise(m.weight_orig.shape, gen)
            params[f'{name}.weight'].add_(step)
            m.weight_orig.add_(step)
        ticket.apply_(model)
        dtype = next(reference.parameters()).dtype
        reference(torch.zeros(1, 3, 32, 32, dtype=dtype))  # the pre-forward hook recomputes weight
        for name, m in convs:
            assert torch.equal(params[f'{name}.weight'], m.weight), name
    alive = ticket.numel
    for _ in range(rounds):
        alive -= count_to_prune(rate, alive)
    assert ticket.kept == alive


def test_equals_torch_global_l1_over_rounds(make_small_resnet) -> None:
    model = make_small_resnet()

    def noise(shape, g):
        return 0.01 * torch.randn(shape, generator=g)

    _compare_with_torch_prune(model, 3, 0.2, noise, torch.Generator().manual_seed(0))


def test_equals_torch_global_l1_with_tied_magnitudes(make_small_resnet) -> None:
    """Weights on a grid of 7 values: almost every threshold falls inside a tie."""
    model = make_small_resnet()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in PruneScope().select(model).values():
            p.copy_(torch.randint(-3, 4, p.shape, generator=gen).float() * 0.25)

    flat = torch.cat([p.detach().abs().flatten() for p in PruneScope().select(model).values()])
    k = count_to_prune(0.3, flat.numel())
    assert int((flat <= flat.kthvalue(k).values).sum()) > k  # the threshold is inside a tie

    def grid_noise(shape, g):
        return torch.randint(-1, 2, shape, generator=g).float() * 0.25

    _compare_with_torch_prune(model, 3, 0.3, grid_noise, gen)


@given(seed=st.integers(0, 10_000), rate=st.floats(0.05, 0.6), levels=st.integers(1, 6),
       rounds=st.integers(1, 4))
@settings(max_examples=25, deadline=None)
def test_equals_torch_global_l1_on_tiny_nets(make_tiny, seed: int, rate: float, levels: int,
                                            rounds: int) -> None:
    model = make_tiny(seed)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # few magnitude levels: ties across the threshold are the rule
        for p in PruneScope().select(model).values():
            p.copy_(torch.randint(-levels, levels + 1, p.shape, generator=gen).float() / levels)

    def noise(shape, g):
        return torch.randint(-1, 2, shape, generator=g).float() / levels

    _compare_with_torch_prune(model, rounds, rate, noise, gen)


def test_layerwise_equals_torch_l1_unstructured_per_layer(make_tiny) -> None:
    model = make_tiny(3)
    reference = copy.deepcopy(model)
    ticket = Ticket.dense(model).prune(model, 0.4, mode='layerwise')
    for name, m in _torch_convs(reference):
        prune.l1_unstructured(m, 'weight', amount=0.4)
        assert torch.equal(ticket[f'{name}.weight'], m.weight_mask.bool())


# float64 weights: torch ranks them in float64, so must lth_mm
F64_CASES = {
    # differ below float32 resolution: float32 scores would see a four-way tie
    'near_ties': [[1 + 1e-12, 1.0, 1 + 2e-12, 1 + 3e-12], [1 + 4e-12, 1 - 1e-12, 1 + 5e-12]],
    # below float32's smallest value: float32 scores would flush them to zero, tied with 0.0
    'tiny': [[1e-300, 0.0, 2e-300, 3e-300], [4e-300, -5e-300, 1e-310]],
    # finite in float64, Inf in float32
    'huge': [[1e39, 2.0, -3.0, 4.0], [-1e300, 5.0, 1e-3]],
}


@pytest.mark.parametrize('case', sorted(F64_CASES))
@pytest.mark.parametrize('rate', [0.25, 0.5, 0.75])
def test_float64_equals_torch_global_and_layerwise(case: str, rate: float) -> None:
    weights = [torch.tensor(v, dtype=torch.float64) for v in F64_CASES[case]]
    modules = [nn.Module() for _ in weights]
    for m, w in zip(modules, weights, strict=True):
        m.weight = nn.Parameter(w.clone())
    prune.global_unstructured([(m, 'weight') for m in modules],
                              pruning_method=prune.L1Unstructured, amount=rate)
    masks = prune_masks(weights, _dense(weights), rate, mode='global')
    for mask, m in zip(masks, modules, strict=True):
        assert torch.equal(mask, m.weight_mask.bool())

    masks = prune_masks(weights, _dense(weights), rate, mode='layerwise')
    for mask, w in zip(masks, weights, strict=True):
        m = nn.Module()
        m.weight = nn.Parameter(w.clone())
        prune.l1_unstructured(m, 'weight', amount=rate)
        assert torch.equal(mask, m.weight_mask.bool())


def test_float64_weight_among_float32_ranks_all_in_float64() -> None:
    """torch.cat promotes a mix of float32 and float64 weights: the ranking is float64."""
    weights = [torch.tensor([1.0, 1.0, 1.0], dtype=torch.float32),
               torch.tensor([1 + 1e-12, 1 - 1e-12, 1.0], dtype=torch.float64)]
    modules = [nn.Module() for _ in weights]
    for m, w in zip(modules, weights, strict=True):
        m.weight = nn.Parameter(w.clone())
    prune.global_unstructured([(m, 'weight') for m in modules],
                              pruning_method=prune.L1Unstructured, amount=1 / 6)
    masks = prune_masks(weights, _dense(weights), 1 / 6)
    assert masks[1].tolist() == [True, False, True]
    for mask, m in zip(masks, modules, strict=True):
        assert torch.equal(mask, m.weight_mask.bool())


@pytest.mark.parametrize(('dtypes', 'expected'), [
    ((torch.float32,), torch.float32), ((torch.float16, torch.bfloat16), torch.float32),
    ((torch.float32, torch.float64), torch.float64), ((torch.float64,), torch.float64)])
def test_magnitudes_stay_float32_unless_a_weight_is_float64(dtypes, expected) -> None:
    """float16/bfloat16 widen to float32 exactly: only float64 weights need float64 scores."""
    from lth_mm.core.pruning import _magnitudes
    scores = _magnitudes([torch.ones(3, dtype=d) for d in dtypes])
    assert scores.dtype == torch.empty(0, dtype=expected).numpy().dtype


@given(seed=st.integers(0, 10_000), rate=st.floats(0.05, 0.6), rounds=st.integers(1, 3))
@settings(max_examples=10, deadline=None)
def test_float64_model_equals_torch_global_l1_over_rounds(make_tiny, seed: int, rate: float,
                                                         rounds: int) -> None:
    """A float64 model whose weights differ only below float32 resolution."""
    model = make_tiny(seed).double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in PruneScope().select(model).values():
            p.copy_(1 + 1e-12 * torch.randint(-50, 51, p.shape, generator=gen).double())

    def noise(shape, g):
        return 1e-12 * torch.randint(-5, 6, shape, generator=g).double()

    _compare_with_torch_prune(model, rounds, rate, noise, gen)


@pytest.mark.parametrize('dims', [(8,), (1000,), (3, 3)])
def test_kthvalue_fast_path_and_topk_agree(dims: tuple[int, ...]) -> None:
    """Without ties the kthvalue threshold selects exactly what torch.topk selects."""
    weights = [torch.randn(dims, generator=torch.Generator().manual_seed(5))]
    for rate in (0.1, 0.5, 0.9):
        mask = prune_masks(weights, _dense(weights), rate)[0]
        k = count_to_prune(rate, weights[0].numel())
        expected = torch.ones(weights[0].numel(), dtype=torch.bool)
        expected[torch.topk(weights[0].abs().flatten(), k, largest=False).indices] = False
        assert torch.equal(mask.flatten(), expected)
        assert int((~mask).sum()) == k
