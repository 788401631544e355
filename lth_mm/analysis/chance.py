"""What a random mask would give: exact moments under uniform random masks of fixed size.

The null model throughout: a layer of ``n`` weights of which a ticket keeps ``k``; a random mask
keeps a uniformly random subset of exactly ``k`` of the ``n`` weights (sampling without
replacement, as ``Ticket.prune(criterion='random', mode='layerwise')`` does), independently per
layer and per ticket. Counts under it are hypergeometric, not binomial; the binomial is the
with-replacement approximation and differs from these values by terms of order ``m / n``.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ['all_pruned_moments', 'intersection_moments', 'iou_chance', 'kept_per_unit_pmf']


def _check(n: int, k: int, m: int = 0) -> None:
    if not (0 <= k <= n and 0 <= m <= n):
        raise ValueError(f'need 0 <= k <= n and 0 <= m <= n, got n={n}, k={k}, m={m}')


def kept_per_unit_pmf(n: int, k: int, m: int) -> np.ndarray:
    """``P(j of m given positions are kept)``, ``j = 0..m``, for ``k`` of ``n`` kept at random.

    Hypergeometric, ``C(k, j) C(n - k, m - j) / C(n, m)``, in exact integer arithmetic (each value
    correctly rounded to a float). Meant for small units such as a 3x3 kernel (``m = 9``).
    """
    _check(n, k, m)
    total = math.comb(n, m)
    return np.array([math.comb(k, j) * math.comb(n - k, m - j) / total for j in range(m + 1)])


def _prob_none_kept(n: int, k: int, m: int) -> float:
    """``P(none of m given positions is kept) = prod_{i<m} (n - k - i) / (n - i)``."""
    if m > n - k:
        return 0.0
    i = np.arange(m, dtype=np.float64)
    return float(np.exp(np.sum(np.log1p(-k / (n - i)))))


def all_pruned_moments(n: int, k: int, m: int, units: int) -> tuple[float, float]:
    """Mean and variance of how many of ``units`` disjoint groups of ``m`` weights lose all.

    A group is a kernel (``m = kh * kw``), an input channel (``m = C_out * kh * kw``) or an output
    channel (``m = C_in * kh * kw``). With ``p1`` the chance that one group is entirely pruned
    and ``p2`` that two given groups both are (the product formula over ``2 m`` positions), the
    count has mean ``U p1`` and variance ``U p1 (1 - p1) + U (U - 1) (p2 - p1^2)``, exactly.
    """
    _check(n, k, m)
    if units * m > n:
        raise ValueError(f'{units} disjoint groups of {m} do not fit in {n} weights')
    p1 = _prob_none_kept(n, k, m)
    p2 = _prob_none_kept(n, k, 2 * m) if units > 1 else 0.0
    variance = units * p1 * (1 - p1) + units * (units - 1) * (p2 - p1 * p1)
    return units * p1, max(variance, 0.0)


def intersection_moments(k1: np.ndarray, k2: np.ndarray, n: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of ``|A & B|`` per layer for independent random ``A``, ``B``.

    ``|A & B|`` is hypergeometric: ``k2`` draws from ``n`` weights of which ``k1`` are in ``A``,
    mean ``k1 k2 / n``, variance ``k1 k2 (n - k1) (n - k2) / (n^2 (n - 1))``. Element-wise over
    arrays of layers.
    """
    k1, k2, n = (np.asarray(a, dtype=np.float64) for a in (k1, k2, n))
    mean = k1 * k2 / n
    variance = mean * (n - k1) * (n - k2) / (n * np.maximum(n - 1, 1))
    return mean, variance


def iou_chance(k1: np.ndarray, k2: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """The IoU of kept weights that independent random masks give over a group of layers.

    Random masks keep ``k1`` and ``k2`` weights of each layer's ``n`` (arrays over the layers);
    the IoU over the group is ``I / (K - I)`` with ``I`` the summed intersection (independent
    hypergeometrics) and ``K = sum(k1) + sum(k2)``.

    Returns:
        ``(E[I] / (K - E[I]), sd)``: expected intersection over expected union, exactly, and the
        delta-method standard deviation ``K sd(I) / (K - E[I])^2`` of the random IoU. The
        expectation of the ratio differs from the ratio of expectations by about
        ``K Var(I) / (K - E[I])^3``, below 1e-6 for layers of ResNet size.
    """
    mean, variance = intersection_moments(k1, k2, n)
    inter, total = float(np.sum(mean)), float(np.sum(k1) + np.sum(k2))
    union = total - inter
    if union <= 0:  # both masks empty: IoU 1 by convention, like Ticket.overlap
        return 1.0, 0.0
    return inter / union, total * math.sqrt(float(np.sum(variance))) / union ** 2
