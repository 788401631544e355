"""Numbers of a set of tickets over the same layers: layer profile, overlap, 3x3 kernel structure.

Everything works on the boolean masks as numpy arrays (views of the tickets' tensors, no copies),
with one vectorised pass per layer and ticket (or pair of tickets); chance values come from
:mod:`.chance`.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..core import Ticket, TicketMismatchError
from .chance import all_pruned_moments, intersection_moments, iou_chance, kept_per_unit_pmf

__all__ = ['KINDS', 'OTHER', 'KernelStats', 'MaskSet', 'Overlap', 'choose_layer', 'kernel_stats',
           'overlap', 'stage_of']

#: The group of layers outside ``layer1``..``layer4`` (a stem or a classifier, when pruned).
OTHER = 'stem/other'
_STAGE = re.compile(r'(?:^|\.)(layer[1-4])\.')
_STAGES = ('layer1', 'layer2', 'layer3', 'layer4', OTHER)
#: What a 3x3 conv can lose as a whole, with the number of weights of one such unit.
KINDS = ('kernels', 'input channels', 'output channels')


def stage_of(name: str) -> str:
    """The ResNet stage of a parameter: ``'layer1'``..``'layer4'`` under any prefix, or OTHER."""
    match = _STAGE.search(name)
    return match.group(1) if match else OTHER


@dataclass
class MaskSet:
    """Tickets over the same layers, as numpy boolean arrays in the first ticket's layer order.

    Attributes:
        labels: One label per ticket.
        names: Layer (parameter) names.
        masks: ``masks[t][l]``: the mask of layer ``l`` in ticket ``t``.
        numel: Weights per layer, shape ``(L,)``.
        kept: Kept weights per ticket and layer, shape ``(T, L)``.
    """

    labels: tuple[str, ...]
    names: tuple[str, ...]
    masks: tuple[tuple[np.ndarray, ...], ...]
    numel: np.ndarray = field(init=False)
    kept: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.numel = np.array([m.size for m in self.masks[0]], dtype=np.int64)
        self.kept = np.array([[np.count_nonzero(m) for m in row] for row in self.masks],
                             dtype=np.int64).reshape(len(self.masks), len(self.names))

    @classmethod
    def from_tickets(cls, tickets: Mapping[str, Ticket]) -> MaskSet:
        """Tickets by label, all with the first one's keys and shapes (see ``align_tickets``)."""
        if not tickets:
            raise ValueError('no tickets')
        first = next(iter(tickets.values()))
        names = tuple(first)
        for label, ticket in tickets.items():
            try:
                first._aligned(ticket)
            except TicketMismatchError as err:
                raise ValueError(f'ticket {label!r} differs from the first: {err}') from err
        return cls(tuple(tickets), names,
                   tuple(tuple(t[n].numpy() for n in names) for t in tickets.values()))

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        return [m.shape for m in self.masks[0]]

    @property
    def stages(self) -> list[str]:
        return [stage_of(name) for name in self.names]

    def groups(self, names: tuple[str, ...] | None = None) -> list[tuple[str, np.ndarray]]:
        """``('overall', all layers)``, then each stage present: ``(name, layer indices)``."""
        stages = np.array([stage_of(n) for n in (self.names if names is None else names)])
        groups = [('overall', np.arange(len(stages)))]
        return groups + [(s, np.flatnonzero(stages == s)) for s in _STAGES if (stages == s).any()]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, 1 where ``den`` is 0 (the IoU of two empty masks, as Ticket.overlap)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.ones_like(num), where=den > 0)


@dataclass
class Overlap:
    """Pairwise IoU of kept weights, observed and under independent random masks.

    Attributes:
        groups: ``'overall'`` and the stages present.
        iou: Observed IoU per group and pair, shape ``(G, T, T)``.
        chance: Expected intersection over expected union of independent random masks with the
            same per-layer keep counts (:func:`~.chance.iou_chance`), shape ``(G, T, T)``.
        chance_sd: Standard deviation of the random IoU, shape ``(G, T, T)``.
        layer_iou: Observed IoU per pair and layer, shape ``(T, T, L)``.
        layer_chance: Chance IoU per pair and layer, shape ``(T, T, L)``.
    """

    groups: tuple[str, ...]
    iou: np.ndarray
    chance: np.ndarray
    chance_sd: np.ndarray
    layer_iou: np.ndarray
    layer_chance: np.ndarray


def overlap(ms: MaskSet) -> Overlap:
    """IoU of every pair of tickets, overall, per stage and per layer, beside chance."""
    count, layers = ms.kept.shape
    inter = np.zeros((count, count, layers), dtype=np.int64)
    for i in range(count):
        inter[i, i] = ms.kept[i]
        for j in range(i + 1, count):
            inter[i, j] = inter[j, i] = [np.count_nonzero(a & b)
                                         for a, b in zip(ms.masks[i], ms.masks[j])]
    k1, k2 = ms.kept[:, None, :], ms.kept[None, :, :]
    union = k1 + k2 - inter
    mean, _ = intersection_moments(k1, k2, ms.numel)
    groups = ms.groups()
    shape = (len(groups), count, count)
    iou, chance, chance_sd = np.empty(shape), np.empty(shape), np.empty(shape)
    for g, (_, idx) in enumerate(groups):
        iou[g] = _ratio(inter[..., idx].sum(-1), union[..., idx].sum(-1))
        for i in range(count):
            for j in range(count):
                chance[g, i, j], chance_sd[g, i, j] = iou_chance(
                    ms.kept[i, idx], ms.kept[j, idx], ms.numel[idx])
    return Overlap(tuple(name for name, _ in groups), iou, chance, chance_sd,
                   _ratio(inter, union), _ratio(mean, k1 + k2 - mean))


@dataclass
class KernelStats:
    """Structure of the 3x3 conv masks: kept weights per kernel, whole units removed.

    Attributes:
        layers: Names of the 3x3 conv layers, in network order.
        shapes: Their shapes ``(C_out, C_in, 3, 3)``.
        numel: Weights per layer, shape ``(L3,)``.
        kept: Kept weights per ticket and layer, shape ``(T, L3)``.
        histogram: Kernels with ``j`` kept weights (``j = 0..9``), shape ``(T, L3, 10)``.
        chance_histogram: Their expected numbers under random masks with the same per-layer
            keep counts (hypergeometric), shape ``(T, L3, 10)``.
        units: Per kind (:data:`KINDS`), how many kernels / input / output channels each layer
            has, shape ``(L3,)``.
        removed: Per kind, how many are entirely pruned, shape ``(T, L3)``.
        removed_mean: Per kind, the expected number under random masks, shape ``(T, L3)``.
        removed_var: Per kind, its variance (layers are independent, so variances add).
    """

    layers: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    numel: np.ndarray
    kept: np.ndarray
    histogram: np.ndarray
    chance_histogram: np.ndarray
    units: dict[str, np.ndarray]
    removed: dict[str, np.ndarray]
    removed_mean: dict[str, np.ndarray]
    removed_var: dict[str, np.ndarray]

    def fractions(self, kind: str, idx: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per ticket, over the layers ``idx`` (default all): the observed fraction of ``kind``
        removed, the chance fraction and its standard deviation, each of shape ``(T,)``."""
        idx = np.arange(len(self.layers)) if idx is None else idx
        units = float(self.units[kind][idx].sum())
        return (self.removed[kind][:, idx].sum(-1) / units,
                self.removed_mean[kind][:, idx].sum(-1) / units,
                np.sqrt(self.removed_var[kind][:, idx].sum(-1)) / units)


def _unit_sizes(shape: tuple[int, ...]) -> dict[str, tuple[int, int]]:
    """Per kind: (weights in one unit, number of units) of a conv weight ``(O, I, kh, kw)``."""
    out, inp, kh, kw = shape
    return {'kernels': (kh * kw, out * inp), 'input channels': (out * kh * kw, inp),
            'output channels': (inp * kh * kw, out)}


def kernel_stats(ms: MaskSet) -> KernelStats | None:
    """Kernel structure of every 3x3 conv mask of the tickets; ``None`` if there is none."""
    idx = [i for i, s in enumerate(ms.shapes) if len(s) == 4 and s[2:] == (3, 3)]
    if not idx:
        return None
    shapes = tuple(ms.shapes[i] for i in idx)
    count, numel, kept = len(ms.labels), ms.numel[idx], ms.kept[:, idx]
    histogram = np.zeros((count, len(idx), 10), dtype=np.int64)
    chance_histogram = np.zeros((count, len(idx), 10))
    sizes = [_unit_sizes(s) for s in shapes]
    units = {kind: np.array([s[kind][1] for s in sizes], dtype=np.int64) for kind in KINDS}
    removed = {kind: np.zeros((count, len(idx)), dtype=np.int64) for kind in KINDS}
    removed_mean = {kind: np.zeros((count, len(idx))) for kind in KINDS}
    removed_var = {kind: np.zeros((count, len(idx))) for kind in KINDS}
    for t in range(count):
        for pos, (layer, shape) in enumerate(zip(idx, shapes)):
            mask = ms.masks[t][layer].reshape(shape[0], shape[1], 9)
            per_kernel = mask.sum(axis=2, dtype=np.int64)
            histogram[t, pos] = np.bincount(per_kernel.ravel(), minlength=10)
            n, k = int(numel[pos]), int(kept[t, pos])
            chance_histogram[t, pos] = kept_per_unit_pmf(n, k, 9) * (shape[0] * shape[1])
            removed['kernels'][t, pos] = histogram[t, pos, 0]
            removed['input channels'][t, pos] = np.count_nonzero(~per_kernel.any(axis=0))
            removed['output channels'][t, pos] = np.count_nonzero(~per_kernel.any(axis=1))
            for kind, (m, unit_count) in sizes[pos].items():
                removed_mean[kind][t, pos], removed_var[kind][t, pos] = all_pruned_moments(
                    n, k, m, unit_count)
    return KernelStats(tuple(ms.names[i] for i in idx), shapes, numel, kept, histogram,
                       chance_histogram, units, removed, removed_mean, removed_var)


def choose_layer(layers: tuple[str, ...], wanted: str | None = None) -> str:
    """The 3x3 layer whose kernel patterns to draw.

    Args:
        layers: The 3x3 conv layers, in network order.
        wanted: A layer name, or its tail (``'layer3.0.conv2'`` matches
            ``'backbone.layer3.0.conv2.weight'``); default: the first 3x3 conv of ``layer3``,
            else the first 3x3 conv.

    Raises:
        ValueError: naming the 3x3 layers there are, if ``wanted`` matches none or several.
    """
    if wanted is None:
        return next((name for name in layers if stage_of(name) == 'layer3'), layers[0])
    tail = wanted if wanted.endswith('.weight') else wanted + '.weight'
    matches = [n for n in layers if n == wanted or n == tail or n.endswith('.' + tail)]
    if len(matches) == 1:
        return matches[0]
    what = f'matches {len(matches)} 3x3 conv layers' if matches else 'is no 3x3 conv layer'
    sample = ', '.join(layers[:6]) + (f' ... ({len(layers)} in all)' if len(layers) > 6 else '')
    raise ValueError(f'--layer {wanted!r} {what} of the tickets; 3x3 conv layers: {sample}')
