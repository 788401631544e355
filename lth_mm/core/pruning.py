"""Magnitude and random pruning of masks: the arithmetic behind :meth:`Ticket.prune`.

Counts follow ``torch.nn.utils.prune``: pruning ``rate`` of ``n`` alive weights removes
``round(rate * n)`` of them (Python's round), so global L1 masks equal
``prune.global_unstructured(..., L1Unstructured)`` on the same weights, ties included: the
threshold is found with ``kthvalue`` and, only when several weights tie across it, the choice
among them is left to ``torch.topk`` exactly as ``torch.nn.utils.prune`` makes it.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ['CRITERIA', 'MODES', 'count_to_prune', 'prune_masks']

CRITERIA = ('magnitude', 'random')
MODES = ('global', 'layerwise')


def count_to_prune(rate: float, alive: int) -> int:
    """Number of weights that pruning ``rate`` of ``alive`` weights removes."""
    return min(alive, round(rate * alive))


def _smallest_k(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask over 1-D ``scores`` marking its ``k`` smallest entries.

    ``kthvalue`` finds the threshold in linear time; a tie across the threshold (rare with
    trained float weights) is resolved by ``torch.topk``, as ``torch.nn.utils.prune`` does.
    """
    chosen = torch.zeros_like(scores, dtype=torch.bool)
    if k <= 0:
        return chosen
    if k >= scores.numel():
        return ~chosen
    threshold = torch.kthvalue(scores, k).values
    at_most = scores <= threshold
    if int(torch.count_nonzero(at_most)) == k:
        return at_most
    chosen[torch.topk(scores, k, largest=False).indices] = True
    return chosen


def _scores(weights: Sequence[torch.Tensor], masks: Sequence[torch.Tensor], criterion: str,
            generator: torch.Generator | None) -> list[torch.Tensor]:
    """Flat scores of the alive entries of each tensor (lower is pruned first)."""
    scores = []
    for weight, mask in zip(weights, masks, strict=True):
        alive = mask.flatten()
        if criterion == 'magnitude':
            values = weight.detach().flatten()[alive.to(weight.device)].abs().float().cpu()
            if not torch.isfinite(values).all():
                raise ValueError('cannot prune by magnitude: the weights hold NaN or Inf values')
        else:
            values = torch.rand(int(torch.count_nonzero(alive)), generator=generator)
        scores.append(values)
    return scores


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
    scores = _scores(weights, masks, criterion, generator)
    if mode == 'global':
        flat = torch.cat(scores)
        pruned = _smallest_k(flat, count_to_prune(rate, flat.numel())).split(
            [s.numel() for s in scores])
    else:
        pruned = [_smallest_k(s, count_to_prune(rate, s.numel())) for s in scores]
    new_masks = []
    for mask, pruned_alive in zip(masks, pruned, strict=True):
        new_mask = mask.clone()
        flat = new_mask.view(-1)
        flat[flat.nonzero().flatten()[pruned_alive]] = False
        new_masks.append(new_mask)
    return new_masks
