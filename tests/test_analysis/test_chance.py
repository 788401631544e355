"""Chance values: exact against enumeration on tiny layers, and against Monte-Carlo sampling.

Monte-Carlo tolerances are z-tests: ``Z`` standard errors of the sampled mean, with the standard
error from the exact variance (or, where no exact variance is computed, from the samples). With
``Z = 5`` a correct formula fails with probability below 1e-6 per check, and the seeds are fixed.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lth_mm.analysis.chance import (
    all_pruned_moments,
    intersection_moments,
    iou_chance,
    kept_per_unit_pmf,
)

Z = 5.0
SAMPLES = 20_000


def _subsets(n: int, k: int) -> list[np.ndarray]:
    """Every mask of ``n`` weights keeping ``k``, as bool arrays."""
    out = []
    for kept in itertools.combinations(range(n), k):
        mask = np.zeros(n, dtype=bool)
        mask[list(kept)] = True
        out.append(mask)
    return out


def _random_masks(rng: np.random.Generator, samples: int, n: int, k: int) -> np.ndarray:
    """``samples`` independent uniformly random masks of ``n`` weights keeping exactly ``k``."""
    return rng.random((samples, n)).argsort(axis=1) < k


# Exact, against enumeration ---------------------------------------------------------------------
@pytest.mark.parametrize('n,k,m', [(11, 5, 4), (9, 0, 3), (9, 9, 3), (10, 3, 9), (12, 7, 1)])
def test_kept_per_unit_pmf_equals_enumeration(n: int, k: int, m: int) -> None:
    counts = np.bincount([int(mask[:m].sum()) for mask in _subsets(n, k)], minlength=m + 1)
    np.testing.assert_allclose(kept_per_unit_pmf(n, k, m), counts / math.comb(n, k),
                               rtol=1e-12, atol=1e-15)


def test_pmf_is_hypergeometric_not_binomial() -> None:
    pmf = kept_per_unit_pmf(18, 9, 9)
    binomial = np.array([math.comb(9, j) / 2 ** 9 for j in range(10)])
    assert pmf.sum() == pytest.approx(1)
    assert pmf[0] == pytest.approx(1 / math.comb(18, 9))  # 2.1e-5, the binomial says 2.0e-3
    assert abs(pmf[0] - binomial[0]) > 1e-3


@pytest.mark.parametrize('n,k,m,units', [(10, 4, 2, 3), (10, 2, 3, 3), (12, 3, 2, 6),
                                         (9, 0, 3, 3), (9, 8, 1, 9), (8, 3, 8, 1)])
def test_all_pruned_moments_equal_enumeration(n: int, k: int, m: int, units: int) -> None:
    empty = np.array([sum(not mask[u * m:(u + 1) * m].any() for u in range(units))
                      for mask in _subsets(n, k)])
    mean, variance = all_pruned_moments(n, k, m, units)
    assert mean == pytest.approx(empty.mean(), abs=1e-12)
    assert variance == pytest.approx(empty.var(), abs=1e-12)


def test_all_pruned_moments_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match='do not fit'):
        all_pruned_moments(10, 2, 3, 4)
    with pytest.raises(ValueError, match='0 <= k <= n'):
        all_pruned_moments(10, 11, 3, 1)


@pytest.mark.parametrize('n,k1,k2', [(9, 4, 3), (8, 8, 2), (7, 0, 5), (10, 5, 5)])
def test_intersection_moments_equal_enumeration(n: int, k1: int, k2: int) -> None:
    first = np.arange(n) < k1  # by symmetry one fixed mask of k1 suffices
    inter = np.array([np.count_nonzero(first & b) for b in _subsets(n, k2)])
    mean, variance = intersection_moments(np.array([k1]), np.array([k2]), np.array([n]))
    assert mean[0] == pytest.approx(inter.mean(), abs=1e-12)
    assert variance[0] == pytest.approx(inter.var(), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5000), st.floats(0, 1), st.floats(0, 1)),
                min_size=1, max_size=6))
def test_iou_chance_is_a_probability_and_symmetric(layers) -> None:
    n = np.array([layer[0] for layer in layers])
    k1 = np.round(n * [layer[1] for layer in layers]).astype(int)
    k2 = np.round(n * [layer[2] for layer in layers]).astype(int)
    chance, sd = iou_chance(k1, k2, n)
    assert 0 <= chance <= 1 and sd >= 0
    assert (chance, sd) == pytest.approx(iou_chance(k2, k1, n))
    if (k1 == n).all():  # a dense mask overlaps any mask by the other's density
        assert chance == pytest.approx(k2.sum() / n.sum())


# Monte-Carlo -------------------------------------------------------------------------------------
def test_iou_chance_matches_monte_carlo() -> None:
    """The exact E[I] / E[U] against the same ratio of sampled means (like with like), and the
    delta-method sd against the spread of sampled IoUs."""
    rng = np.random.default_rng(0)
    n, k1, k2 = np.array([27, 72, 144, 9]), np.array([5, 30, 100, 9]), np.array([20, 10, 77, 1])
    inter = np.zeros(SAMPLES)
    for size, a, b in zip(n, k1, k2):
        inter += np.count_nonzero(_random_masks(rng, SAMPLES, size, a)
                                  & _random_masks(rng, SAMPLES, size, b), axis=1)
    total = k1.sum() + k2.sum()
    mean, variance = intersection_moments(k1, k2, n)
    assert abs(inter.mean() - mean.sum()) < Z * math.sqrt(variance.sum() / SAMPLES)
    assert inter.var() == pytest.approx(variance.sum(), rel=Z * math.sqrt(2 / SAMPLES))
    chance, sd = iou_chance(k1, k2, n)
    sampled = inter.mean() / (total - inter.mean())
    assert abs(sampled - chance) < Z * sd / math.sqrt(SAMPLES)
    iou = inter / (total - inter)
    assert iou.std() == pytest.approx(sd, rel=0.05)  # delta method, 4 small layers
    # The mean of the ratio is not the ratio of the means, but close: within the sampling error.
    assert abs(iou.mean() - chance) < Z * sd / math.sqrt(SAMPLES) + 2e-3


def test_kernel_chance_matches_monte_carlo() -> None:
    """Kernels / input / output channels entirely pruned and the kept-per-kernel histogram of
    random masks of one (6, 5, 3, 3) layer, against the exact values."""
    rng = np.random.default_rng(1)
    out, inp, n, k = 6, 5, 270, 24
    masks = _random_masks(rng, SAMPLES, n, k).reshape(SAMPLES, out, inp, 9)
    per_kernel = masks.sum(-1)
    sampled = {'kernels': (per_kernel == 0).sum((1, 2)),
               'input channels': (per_kernel.sum(1) == 0).sum(1),
               'output channels': (per_kernel.sum(2) == 0).sum(1)}
    for kind, m, units in (('kernels', 9, out * inp), ('input channels', out * 9, inp),
                           ('output channels', inp * 9, out)):
        mean, variance = all_pruned_moments(n, k, m, units)
        assert mean > 0.01, kind  # the case tests something
        assert abs(sampled[kind].mean() - mean) < Z * math.sqrt(variance / SAMPLES), kind
        assert sampled[kind].var() == pytest.approx(variance, rel=0.1), kind
    counts = np.stack([(per_kernel == j).sum((1, 2)) for j in range(10)], axis=1)
    expected = kept_per_unit_pmf(n, k, 9) * out * inp
    # Standard errors from the samples; for bins too rare to be sampled, the Poisson sd.
    error = Z * np.maximum(counts.std(0), np.sqrt(expected)) / math.sqrt(SAMPLES)
    assert (np.abs(counts.mean(0) - expected) < error).all(), (counts.mean(0), expected)
