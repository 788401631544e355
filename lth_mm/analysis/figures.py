"""The report's figures, rendered to PNG bytes with matplotlib's Agg canvas.

No pyplot and no global backend switch: each figure is a ``matplotlib.figure.Figure`` drawn by
the Agg canvas, so importing this module changes nothing for a caller's own plotting.
"""
from __future__ import annotations

import io
import math
import os

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from .stats import KINDS, KernelStats, MaskSet, Overlap

__all__ = ['kernel_grid', 'kernel_histogram_png', 'kernel_patterns_png', 'kernel_removal_png',
           'layer_overlap_png', 'layer_profile_png', 'overlap_pairs', 'overlap_png', 'random_like',
           'short_names']

_KEPT_CMAP = ListedColormap(['#e8e8e8', '#1d3f73']).with_extremes(bad='white')  # pruned, kept
_CHANCE = dict(color='black', marker='_', markersize=14, markeredgewidth=2, linestyle='none')


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=110, bbox_inches='tight')
    return buffer.getvalue()


def _ticks(labels: tuple[str, ...], width: int = 24) -> list[str]:
    """Labels for axis ticks: long ones keep their end (``...imp/tickets/round_05``)."""
    return [label if len(label) <= width else '...' + label[3 - width:] for label in labels]


def _color(i: int) -> str:
    return f'C{i % 10}'


def short_names(names: tuple[str, ...] | list[str]) -> list[str]:
    """Layer names without the prefix they all share (``backbone.``) and without ``.weight``."""
    names = [n[:-len('.weight')] if n.endswith('.weight') else n for n in names]
    common = os.path.commonprefix(names) if len(names) > 1 else ''
    prefix = common[:common.rfind('.') + 1]
    return [n[len(prefix):] for n in names]


def _stage_bands(ax, stages: list[str]) -> None:
    """Shade alternate runs of layers of one ResNet stage and name them above the axis."""
    if len(set(stages)) < 2:
        return
    bounds = [0] + [i for i in range(1, len(stages)) if stages[i] != stages[i - 1]]
    for n, (start, end) in enumerate(zip(bounds, bounds[1:] + [len(stages)])):
        ax.axvspan(start - 0.5, end - 0.5, color='0.91' if n % 2 else '0.97', zorder=0)
        ax.text((start + end - 1) / 2, 1.01, stages[start], transform=ax.get_xaxis_transform(),
                ha='center', va='bottom', fontsize=8)


def layer_profile_png(ms: MaskSet) -> bytes:
    """Remaining weights per layer (network order), one line per ticket, layer sizes behind."""
    count = len(ms.names)
    remaining = 100 * ms.kept / ms.numel
    fig = Figure(figsize=(max(7.0, 0.17 * count + 2.5), 4.4))
    ax = fig.add_subplot()
    sizes = ax.twinx()
    _stage_bands(sizes, ms.stages)
    sizes.bar(np.arange(count), ms.numel, color='0.8', width=0.8)
    sizes.set_yscale('log')
    sizes.set_ylabel('weights in the layer (grey bars)', color='0.45')
    ax.set_zorder(sizes.get_zorder() + 1)
    ax.patch.set_visible(False)
    for t, label in enumerate(ms.labels):
        overall = 100 * ms.kept[t].sum() / ms.numel.sum()
        ax.plot(remaining[t], marker='o', markersize=3, linewidth=1.2, color=_color(t),
                label=f'{label} ({overall:.2f} % overall)')
        ax.axhline(overall, color=_color(t), linestyle=':', linewidth=0.8)
    positive = remaining[remaining > 0]
    if positive.size and positive.max() / positive.min() > 20:
        ax.set_yscale('log')
    ax.set_xticks(np.arange(count), short_names(ms.names), rotation=90,
                  fontsize=7 if count > 30 else 8)
    ax.set_xlim(-0.6, count - 0.4)
    ax.set_ylabel('remaining weights in the layer (%)')
    ax.set_title('Layer profile: remaining weights per layer (dotted: overall)', pad=16)
    ax.grid(True, axis='y', alpha=0.3)
    ax.legend(fontsize=8, loc='best')
    return _png(fig)


def overlap_png(ms: MaskSet, ov: Overlap) -> bytes:
    """IoU heatmaps, overall and per stage; each cell: observed IoU over chance."""
    count, groups = len(ms.labels), len(ov.groups)
    cols = min(groups, 3)
    rows = math.ceil(groups / cols)
    side = max(3.2, 0.62 * count + 1.6)
    fig = Figure(figsize=(cols * side + 0.8, rows * side + 0.9), layout='constrained')
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    size = max(5.0, 10.5 - 0.55 * count)
    image = None
    for g, ax in enumerate(axes):
        if g >= groups:
            ax.set_visible(False)
            continue
        image = ax.imshow(ov.iou[g], vmin=0, vmax=1, cmap='viridis')
        for i in range(count):
            for j in range(count):
                value = ov.iou[g, i, j]
                text = f'{value:.3f}' if i == j else f'{value:.3f}\n({ov.chance[g, i, j]:.3f})'
                ax.text(j, i, text, ha='center',
                        va='center', fontsize=size, color='black' if value > 0.55 else 'white')
        ax.set_xticks(range(count), _ticks(ms.labels), rotation=40, ha='right', fontsize=8)
        ax.set_yticks(range(count), _ticks(ms.labels), fontsize=8)
        ax.set_title(ov.groups[g], fontsize=10)
    fig.colorbar(image, ax=list(axes[:groups]), shrink=0.8, label='IoU of kept weights')
    fig.suptitle('Overlap: IoU of kept weights; in brackets what independent random masks\n'
                 'with the same per-layer sparsities give (expected intersection / expected union)',
                 fontsize=10)
    return _png(fig)


def overlap_pairs(count: int) -> list[tuple[int, int]]:
    """Pairs drawn per layer: all of them for up to 4 tickets, else the first ticket's."""
    if count <= 4:
        return [(i, j) for i in range(count) for j in range(i + 1, count)]
    return [(0, j) for j in range(1, count)]


def layer_overlap_png(ms: MaskSet, ov: Overlap) -> bytes:
    """IoU per layer for pairs of tickets (solid) beside chance (dashed)."""
    count = len(ms.names)
    fig = Figure(figsize=(max(7.0, 0.17 * count + 2.5), 4.2))
    ax = fig.add_subplot()
    _stage_bands(ax, ms.stages)
    for n, (i, j) in enumerate(overlap_pairs(len(ms.labels))):
        ax.plot(ov.layer_iou[i, j], marker='o', markersize=3, color=_color(n),
                label=f'{ms.labels[i]} vs {ms.labels[j]}')
        ax.plot(ov.layer_chance[i, j], linestyle='--', linewidth=1, color=_color(n))
    ax.set_xticks(np.arange(count), short_names(ms.names), rotation=90,
                  fontsize=7 if count > 30 else 8)
    ax.set_xlim(-0.6, count - 0.4)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel('IoU of kept weights in the layer')
    ax.set_title('Overlap per layer (dashed: independent random masks, same layer sparsities)',
                 pad=16)
    ax.grid(True, axis='y', alpha=0.3)
    ax.legend(fontsize=8, loc='best')
    return _png(fig)


def kernel_histogram_png(ks: KernelStats, labels: tuple[str, ...]) -> bytes:
    """Kept weights per 3x3 kernel (0-9), one panel per ticket, against chance."""
    count = len(labels)
    cols = min(count, 4)
    rows = math.ceil(count / cols)
    fig = Figure(figsize=(3.4 * cols + 0.4, 2.9 * rows + 0.6), layout='constrained')
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True).ravel()
    kernels = float(ks.histogram[0].sum())
    bins = np.arange(10)
    for t, ax in enumerate(axes):
        if t >= count:
            ax.set_visible(False)
            continue
        observed = ks.histogram[t].sum(0) / kernels
        chance = ks.chance_histogram[t].sum(0) / kernels
        ax.bar(bins, observed, color=_color(t), width=0.8, label='ticket')
        ax.plot(bins, chance, label='random mask, same layer sparsities', **_CHANCE)
        remaining = 100 * ks.kept[t].sum() / ks.numel.sum()
        ax.set_title(f'{labels[t]} ({remaining:.1f} % of 3x3 weights kept)', fontsize=9)
        ax.set_xticks(bins)
        ax.set_xlabel('kept weights in a 3x3 kernel')
        ax.grid(True, axis='y', alpha=0.3)
    axes[0].set_ylabel('fraction of 3x3 kernels')
    axes[0].legend(fontsize=7, loc='upper right')
    fig.suptitle(f'Kernel structure: kept weights per kernel over {int(kernels):,} kernels of '
                 f'{len(ks.layers)} 3x3 convs (black: chance, hypergeometric)', fontsize=10)
    return _png(fig)


def _fmt_fraction(value: float) -> str:
    return f'{100 * value:.2f} %' if value == 0 or value >= 1e-4 else f'{100 * value:.1e} %'


def kernel_removal_png(ks: KernelStats, labels: tuple[str, ...]) -> bytes:
    """Fractions of whole kernels / input channels / output channels pruned, against chance."""
    count = len(labels)
    fig = Figure(figsize=(max(9.0, 3 * (0.7 * count + 1.2)), 3.6), layout='constrained')
    axes = fig.subplots(1, len(KINDS), squeeze=False).ravel()
    x = np.arange(count)
    for ax, kind in zip(axes, KINDS):
        observed, chance, _ = ks.fractions(kind)
        ax.bar(x - 0.2, 100 * observed, width=0.4, color=[_color(t) for t in range(count)],
               label='ticket')
        ax.bar(x + 0.2, 100 * chance, width=0.4, color='white', edgecolor='black', hatch='//',
               label='random mask, same layer sparsities')
        top = max(100 * max(observed.max(), chance.max()), 1.0)  # zeros show as zeros
        for t in range(count):
            ax.text(x[t] - 0.2, 100 * observed[t] + 0.02 * top, _fmt_fraction(observed[t]),
                    ha='center', va='bottom', fontsize=6.5, rotation=90)
            ax.text(x[t] + 0.2, 100 * chance[t] + 0.02 * top, _fmt_fraction(chance[t]),
                    ha='center', va='bottom', fontsize=6.5, rotation=90)
        ax.set_ylim(0, top * 1.45)
        ax.set_xticks(x, _ticks(labels), rotation=30, ha='right', fontsize=8)
        ax.set_title(f'whole {kind} pruned', fontsize=10)
        ax.set_ylabel('% of all in 3x3 convs')
        ax.grid(True, axis='y', alpha=0.3)
    axes[0].legend(fontsize=7, loc='upper left')
    fig.suptitle('Kernel structure: whole units removed (hatched: chance, exact)', fontsize=10)
    return _png(fig)


def kernel_grid(mask: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """The first ``rows`` x ``cols`` kernels of a ``(O, I, 3, 3)`` mask as an image.

    Kernel ``(o, i)`` fills pixels ``[4 o, 4 o + 3) x [4 i, 4 i + 3)`` with 1 (kept) or 0
    (pruned); the one-pixel gaps between kernels are NaN.
    """
    block = mask[:rows, :cols].astype(np.float64)  # (r, c, 3, 3)
    r, c = block.shape[:2]
    canvas = np.full((r, 4, c, 4), np.nan)
    canvas[:, :3, :, :3] = block.transpose(0, 2, 1, 3)
    return canvas.reshape(4 * r, 4 * c)[:-1, :-1]


def random_like(mask: np.ndarray, seed: int) -> np.ndarray:
    """A random mask of ``mask``'s shape keeping exactly as many weights (seeded)."""
    flat = np.zeros(mask.size, dtype=bool)
    flat[np.random.default_rng(seed).choice(mask.size, np.count_nonzero(mask), replace=False)] = 1
    return flat.reshape(mask.shape)


def kernel_patterns_png(ms: MaskSet, ks: KernelStats, layer: str, block: int = 16,
                        seed: int = 0) -> bytes:
    """Kept/pruned cells of the first ``block`` x ``block`` kernels of one 3x3 layer.

    One panel per ticket, and under each a random mask of the same layer sparsity (``seed``),
    as in the paper's mask figure.
    """
    index, pos = ms.names.index(layer), ks.layers.index(layer)
    count = len(ms.labels)
    cols = min(count, 5)
    rows = 2 * math.ceil(count / cols)
    fig = Figure(figsize=(2.7 * cols + 0.2, 2.95 * rows + 0.5), layout='constrained')
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    shape = ms.shapes[index]
    height, width = min(block, shape[0]), min(block, shape[1])
    kernels = ks.units['kernels'][pos]
    for t, label in enumerate(ms.labels):
        row, col = 2 * (t // cols), t % cols
        mask = ms.masks[t][index]
        kept = 100 * ks.kept[t, pos] / ks.numel[pos]
        empty = 100 * ks.removed['kernels'][t, pos] / kernels
        chance = 100 * ks.removed_mean['kernels'][t, pos] / kernels
        for r, (pattern, title) in enumerate((
                (mask, f'{label}\n{kept:.1f} % kept, {empty:.1f} % kernels empty'),
                (random_like(mask, seed + t), f'random, same sparsity\n'
                                              f'expected {chance:.1f} % kernels empty'))):
            ax = axes[row + r, col]
            ax.imshow(kernel_grid(pattern, height, width), cmap=_KEPT_CMAP, vmin=0, vmax=1,
                      interpolation='nearest')
            ax.set_title(title, fontsize=8)
    fig.suptitle(f'Kernel patterns of {layer} {list(shape)}: the first {height} x {width} '
                 'kernels (rows: output channels, columns: input channels; dark = kept)',
                 fontsize=10)
    return _png(fig)
