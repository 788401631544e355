"""Magnitude and random pruning of masks: the arithmetic behind :meth:`Ticket.prune`.

Counts follow ``torch.nn.utils.prune``: pruning ``rate`` of ``n`` alive weights removes
``round(rate * n)`` of them (Python's round), so global L1 masks equal
``prune.global_unstructured(..., L1Unstructured)`` on the same weights, ties included: the
threshold is found with ``np.partition`` (linear time) and, only when several weights tie across
it, the choice among them is left to ``torch.topk`` exactly as ``torch.nn.utils.prune`` makes it.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ['CRITERIA', 'MODES', 'count_to_prune', 'prune_masks']

CRITERIA = ('magnitude', 'random')
MODES = ('global', 'layerwise')


def count_to_prune(rate: float, alive: int) -> int:
    """Number of weights that pruning ``rate`` of ``alive`` weights removes."""
    return min(alive, round(rate * alive))


def _keep_after_pruning(alive_scores: np.ndarray, k: int, alive: np.ndarray | None,
                        scores: np.ndarray | None = None) -> np.ndarray:
    """New 1-D keep mask after removing the ``k`` smallest of ``alive_scores``.

    Args:
        alive_scores: Scores of the alive entries, in order (what ``torch.nn.utils.prune`` ranks).
        k: How many of them to remove.
        alive: Full-size boolean mask of the alive entries; None when all are alive (then
            ``alive_scores`` is full-size).
        scores: Full-size scores whose alive entries are ``alive_scores``: the common case (no
            tie across the threshold) then ends with one comparison, without a scatter. With
            ``alive`` given, ``alive_scores`` must be a fresh array (``scores[alive]``): it is
            reordered in place.

    ``np.partition`` finds the ``k``-th smallest score in linear time; only a tie across that
    threshold (rare with trained float weights) is resolved by ``torch.topk``, on the very
    scores ``torch.nn.utils.prune`` ranks, in the same order, so the choice among the tied
    weights is torch's. (``sorted=False`` returns the same set: sorting only reorders it.)
    """
    n_alive = alive_scores.size
    numel = n_alive if alive is None else alive.size
    if k <= 0:
        return np.ones(numel, dtype=bool) if alive is None else alive.copy()
    if k >= n_alive:
        return np.zeros(numel, dtype=bool)
    in_place = scores is not None and alive is not None
    if in_place:
        alive_scores.partition(k - 1)
        threshold = alive_scores[k - 1]
    else:
        threshold = np.partition(alive_scores, k - 1)[k - 1]
    if np.count_nonzero(alive_scores <= threshold) == k:
        if scores is not None:
            keep = np.greater(scores, threshold)
            return keep if alive is None else np.logical_and(keep, alive, out=keep)
        keep_alive = alive_scores > threshold
    else:
        ranked = scores[alive] if in_place else alive_scores
        pruned = torch.topk(torch.from_numpy(ranked), k, largest=False, sorted=False).indices
        keep_alive = np.ones(n_alive, dtype=bool)
        keep_alive[pruned.numpy()] = False
    if alive is None:
        return keep_alive
    keep = np.zeros(numel, dtype=bool)
    keep[alive] = keep_alive
    return keep


def _score_dtype(weights: Sequence[torch.Tensor]) -> torch.dtype:
    """The dtype ``torch.nn.utils.prune`` ranks ``weights`` in, widened to at least float32.

    ``prune.global_unstructured`` concatenates the weights, so its scores take their promoted
    dtype: float64 as soon as one weight is float64, where float32 would merge values that differ
    below its resolution, flush tiny ones to zero and overflow past 3.4e38. float16 and bfloat16
    widen to float32 exactly (order and ties unchanged), so those models keep the float32 path.
    """
    dtype = torch.float32
    for weight in weights:
        dtype = torch.promote_types(dtype, weight.dtype)
    return dtype


def _magnitudes(weights: Sequence[torch.Tensor]) -> np.ndarray:
    """``|w|`` of all tensors, flattened and concatenated, as one CPU array.

    float32, or float64 when a weight is float64 (see :func:`_score_dtype`).
    """
    dtype = _score_dtype(weights)
    out = torch.empty(sum(w.numel() for w in weights), dtype=dtype)
    offset = 0
    for weight in weights:
        flat = weight.detach().reshape(-1)
        view = out[offset:offset + flat.numel()]
        if flat.dtype == dtype and flat.device.type == 'cpu':
            torch.abs(flat, out=view)
        else:
            view.copy_(flat.abs())
        offset += flat.numel()
    return out.numpy()


def _check_finite(values: np.ndarray) -> None:
    if not np.isfinite(values).all():
        raise ValueError('cannot prune by magnitude: the weights hold NaN or Inf values')


def _alive_of(mask: np.ndarray) -> np.ndarray | None:
    """``mask`` (1-D bool), or None when it keeps everything."""
    return None if np.count_nonzero(mask) == mask.size else mask


def _prune_magnitude(weights: Sequence[torch.Tensor], masks: list[np.ndarray], rate: float,
                     mode: str) -> list[np.ndarray]:
    groups = [(list(weights), masks)] if mode == 'global' else [
        ([w], [m]) for w, m in zip(weights, masks, strict=True)]
    new_masks = []
    for group_weights, group_masks in groups:
        scores = _magnitudes(group_weights)
        alive = _alive_of(np.concatenate(group_masks) if len(group_masks) > 1 else group_masks[0])
        alive_scores = scores if alive is None else scores[alive]
        _check_finite(alive_scores)
        keep = _keep_after_pruning(alive_scores, count_to_prune(rate, alive_scores.size), alive,
                                   scores)
        new_masks.extend(np.split(keep, np.cumsum([m.size for m in group_masks])[:-1]))
    return new_masks


def _prune_random(masks: list[np.ndarray], rate: float, mode: str,
                  generator: torch.Generator | None) -> list[np.ndarray]:
    scores = [torch.rand(int(np.count_nonzero(m)), generator=generator).numpy() for m in masks]
    if mode == 'global':
        flat = np.concatenate(scores)
        alive = _alive_of(np.concatenate(masks))
        keep = _keep_after_pruning(flat, count_to_prune(rate, flat.size), alive)
        return np.split(keep, np.cumsum([m.size for m in masks])[:-1])
    return [_keep_after_pruning(s, count_to_prune(rate, s.size), _alive_of(m))
            for s, m in zip(scores, masks, strict=True)]


def prune_masks(weights: Sequence[torch.Tensor], masks: Sequence[torch.Tensor], rate: float,
                criterion: str = 'magnitude', mode: str = 'global',
                generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """Prune ``rate`` of the weights still alive; pruned weights never come back.

    Args:
        weights: The weight tensors, in a fixed order.
        masks: Their current boolean masks (True = kept), on the CPU.
        rate: Fraction of the alive weights to remove, in (0, 1).
        criterion: ``'magnitude'`` (smallest ``|w|`` first) or ``'random'`` (uniform among alive).
        mode: ``'global'`` (one threshold over all tensors) or ``'layerwise'`` (each tensor alone).
        generator: Random source for ``criterion='random'``.

    Returns:
        The new masks, same order and shapes.
    """
    if not 0.0 < rate < 1.0:
        raise ValueError(f'rate must be in (0, 1), got {rate}')
    if criterion not in CRITERIA:
        raise ValueError(f'criterion must be one of {CRITERIA}, got {criterion!r}')
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    if len(weights) != len(masks) or any(w.shape != m.shape
                                         for w, m in zip(weights, masks, strict=True)):
        raise ValueError('weights and masks differ in number or shape')
    flat_masks = [m.detach().cpu().reshape(-1).numpy().astype(bool, copy=False) for m in masks]
    if criterion == 'magnitude':
        keep = _prune_magnitude(weights, flat_masks, rate, mode)
    else:
        keep = _prune_random(flat_masks, rate, mode, generator)
    return [torch.from_numpy(np.array(k, dtype=bool)).view(m.shape)
            for k, m in zip(keep, masks, strict=True)]
