"""The report's text: ``report.md`` (figures with their numbers), ``report.json``, console lines."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from ..version import __version__
from .stats import KINDS

if TYPE_CHECKING:
    from .report import Analysis

__all__ = ['console_summary', 'report_json', 'report_markdown']

_CARD_KEYS = ('criterion', 'mode', 'round', 'rate', 'model_class', 'reversed', 'notes')

CHANCE_TEXT = (
    '**Chance.** Every chance value is what independent random masks give that keep exactly as '
    "many weights of each layer as the ticket does (uniformly random subsets, no replacement). "
    'Counts under such masks are hypergeometric and computed exactly, not sampled. For the IoU, '
    'chance is the expected intersection over the expected union, summed over the layers of the '
    "group; ± is the standard deviation of a random pair's IoU (delta method), and for whole "
    'units removed the exact standard deviation of the count. A difference of many standard '
    'deviations is structure, not noise.')


def _pct(value: float) -> str:
    """A fraction as a percentage; tiny non-zero values in scientific notation."""
    value = 100 * float(value)
    return f'{value:.2f} %' if value == 0 or value >= 0.01 else f'{value:.1e} %'


def _cell(text: str) -> str:
    return str(text).replace('|', '\\|').replace('\n', ' ')


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ['| ' + ' | '.join(_cell(h) for h in header) + ' |',
             '|' + '|'.join(' --- ' for _ in header) + '|']
    lines += ['| ' + ' | '.join(_cell(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def _card(card: dict[str, Any]) -> str:
    return ', '.join(f'{k}={card[k]}' for k in _CARD_KEYS if card.get(k) not in (None, ''))


def _pairs(count: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(count) for j in range(i + 1, count)]


def _header(analysis: Analysis) -> list[str]:
    ms = analysis.masks
    rows = [[label, f'`{path}`', _pct(ms.kept[t].sum() / ms.numel.sum()),
             f'{ms.kept[t].sum():,} / {ms.numel.sum():,}', f'`{ticket.digest()}`',
             _card(ticket.card)]
            for t, (label, path, ticket) in enumerate(zip(ms.labels, analysis.files,
                                                          analysis.tickets))]
    return ['# Ticket report', '',
            f'{len(ms.labels)} ticket(s) over {len(ms.names)} masks ({ms.numel.sum():,} weights) '
            f'of one architecture, keys in the {analysis.scheme} scheme; written by '
            f'`tools/ticket.py report` (lth_mm {__version__}).', '',
            _table(['ticket', 'file', 'remaining', 'kept / weights', 'digest', 'card'], rows),
            '', CHANCE_TEXT, '']


def _layer_section(analysis: Analysis) -> list[str]:
    ms = analysis.masks
    rows = [[i, f'`{name}`', 'x'.join(map(str, shape)), f'{n:,}',
             *(_pct(k / n) for k in ms.kept[:, i])]
            for i, (name, shape, n) in enumerate(zip(ms.names, ms.shapes, ms.numel))]
    return ['## Layer profile', '',
            'Remaining weights per layer in network order, for each ticket (dotted lines: the '
            "ticket's overall remaining weights; grey bars: the layer's size). Global magnitude "
            'pruning prunes large layers hardest; a random or layer-wise ticket is flat.', '',
            '![layer profile](layer_profile.png)', '',
            _table(['#', 'layer', 'shape', 'weights', *ms.labels], rows), '']


def _overlap_section(analysis: Analysis) -> list[str]:
    ms, ov = analysis.masks, analysis.overlap
    rows = [[f'{ms.labels[i]} vs {ms.labels[j]}',
             *(f'{ov.iou[g, i, j]:.4f} ({ov.chance[g, i, j]:.4f} ± {ov.chance_sd[g, i, j]:.4f})'
               for g in range(len(ov.groups)))]
            for i, j in _pairs(len(ms.labels))]
    return ['## Overlap', '',
            'IoU of the kept weights of each pair of tickets, overall and per ResNet stage; in '
            'brackets the chance IoU ± its standard deviation.', '',
            '![overlap](overlap.png)', '',
            _table(['pair', *ov.groups], rows), '',
            'Per layer (solid: the tickets, dashed: chance; all pairs for up to four tickets, '
            'else the first ticket against each other one):', '',
            '![overlap per layer](overlap_layers.png)', '']


def _kernel_section(analysis: Analysis) -> list[str]:
    ms, ks = analysis.masks, analysis.kernels
    kernels = ks.histogram[0].sum()
    hist_rows = []
    for t, label in enumerate(ms.labels):
        hist_rows.append([label, *(_pct(v / kernels) for v in ks.histogram[t].sum(0))])
        hist_rows.append([f'chance ({label})',
                          *(_pct(v / kernels) for v in ks.chance_histogram[t].sum(0))])
    removal_rows = []
    for t, label in enumerate(ms.labels):
        cells = []
        for kind in KINDS:
            observed, chance, sd = (a[t] for a in ks.fractions(kind))
            cells += [_pct(observed), f'{_pct(chance)} ± {_pct(sd)}']
        removal_rows.append([label, *cells])
    groups = ms.groups(ks.layers)
    stage_rows = [[label] for label in ms.labels]
    for _, idx in groups:
        observed, chance, sd = ks.fractions('kernels', idx)
        for t in range(len(ms.labels)):
            stage_rows[t].append(f'{_pct(observed[t])} ({_pct(chance[t])} ± {_pct(sd[t])})')
    pos = ks.layers.index(analysis.layer)
    shape = ks.shapes[pos]
    return ['## Kernel structure (3x3 convs)', '',
            f'Kept weights per 3x3 kernel over the {kernels:,} kernels of the {len(ks.layers)} '
            '3x3 convs, against the hypergeometric a random mask of the same layer sparsity '
            'gives (the binomial of the issue is its with-replacement approximation).', '',
            '![kernel histogram](kernel_histogram.png)', '',
            _table(['ticket', *(str(j) for j in range(10))], hist_rows), '',
            'Whole kernels, whole input channels (all C_out x 3 x 3 weights reading one input '
            'channel) and whole output channels (all C_in x 3 x 3 weights of one filter) '
            'pruned, as a fraction of all such units in the 3x3 convs, against chance:', '',
            '![whole units removed](kernel_removal.png)', '',
            _table(['ticket', *(f'{h}{kind}' for kind in KINDS for h in ('', 'chance: '))],
                   removal_rows), '',
            'Whole kernels pruned per stage (chance ± sd in brackets):', '',
            _table(['ticket', *(name for name, _ in groups)], stage_rows), '',
            f'Kernel patterns of `{analysis.layer}` ({"x".join(map(str, shape))}): the first '
            f'{min(analysis.block, shape[0])} x {min(analysis.block, shape[1])} kernels (rows: '
            'output channels, columns: input channels; dark = kept), each ticket above a random '
            'mask of the same layer sparsity, as in the paper\'s mask figure.', '',
            '![kernel patterns](kernel_patterns.png)', '']


def report_markdown(analysis: Analysis, files: list[str]) -> str:
    """``report.md``: the header, then each figure with its numbers beside it."""
    lines = _header(analysis) + _layer_section(analysis)
    if analysis.overlap is not None:
        lines += _overlap_section(analysis)
    else:
        lines += ['## Overlap', '', 'One ticket: no pairs to compare.', '']
    if analysis.kernels is not None:
        lines += _kernel_section(analysis)
    else:
        lines += ['## Kernel structure', '', 'The tickets have no 3x3 conv masks.', '']
    lines += ['Files: ' + ', '.join(f'[{name}]({name})' for name in files
                                    if name != 'report.md'), '']
    return '\n'.join(lines)


def _pair_matrix(values: np.ndarray, labels: tuple[str, ...]) -> dict[str, dict[str, float]]:
    return {a: {b: float(values[i, j]) for j, b in enumerate(labels)}
            for i, a in enumerate(labels)}


def report_json(analysis: Analysis) -> str:
    """``report.json``: every number of the report, keyed by label, layer and group."""
    ms, ov, ks = analysis.masks, analysis.overlap, analysis.kernels
    data: dict[str, Any] = {
        'lth_mm_version': __version__,
        'scheme': analysis.scheme,
        'tickets': [{'label': label, 'file': path, 'digest': ticket.digest(),
                     'kept': int(ms.kept[t].sum()), 'numel': int(ms.numel.sum()),
                     'sparsity': 1 - float(ms.kept[t].sum() / ms.numel.sum()), 'card': ticket.card}
                    for t, (label, path, ticket) in enumerate(zip(ms.labels, analysis.files,
                                                                  analysis.tickets))],
        'layers': [{'name': name, 'shape': list(shape), 'numel': int(n), 'stage': stage,
                    'kept': dict(zip(ms.labels, map(int, ms.kept[:, i])))}
                   for i, (name, shape, n, stage) in enumerate(zip(ms.names, ms.shapes, ms.numel,
                                                                   ms.stages))],
    }
    if ov is not None:
        data['overlap'] = {
            'groups': {g: {'iou': _pair_matrix(ov.iou[n], ms.labels),
                           'chance': _pair_matrix(ov.chance[n], ms.labels),
                           'chance_sd': _pair_matrix(ov.chance_sd[n], ms.labels)}
                       for n, g in enumerate(ov.groups)},
            'layers': {name: {'iou': _pair_matrix(ov.layer_iou[..., n], ms.labels),
                              'chance': _pair_matrix(ov.layer_chance[..., n], ms.labels)}
                       for n, name in enumerate(ms.names)}}
    if ks is not None:
        data['kernels'] = {
            'layers': list(ks.layers),
            'pattern_layer': analysis.layer,
            'histogram': {label: ks.histogram[t].sum(0).tolist()
                          for t, label in enumerate(ms.labels)},
            'chance_histogram': {label: ks.chance_histogram[t].sum(0).tolist()
                                 for t, label in enumerate(ms.labels)},
            'removed': {kind: {g: {label: dict(zip(('observed', 'chance', 'chance_sd'),
                                                   (float(a[t]) for a in ks.fractions(kind, idx))))
                                   for t, label in enumerate(ms.labels)}
                               for g, idx in ms.groups(ks.layers)}
                        for kind in KINDS}}
    return json.dumps(data, indent=1, default=str)


def console_summary(analysis: Analysis) -> str:
    """A few lines: each ticket's sparsity and empty kernels, each pair's IoU, against chance."""
    ms, ov, ks = analysis.masks, analysis.overlap, analysis.kernels
    lines = [f'{len(ms.labels)} ticket(s), {len(ms.names)} masks, {ms.numel.sum():,} weights '
             f'({analysis.scheme} keys)']
    for t, label in enumerate(ms.labels):
        line = f'  {label}: {_pct(ms.kept[t].sum() / ms.numel.sum())} remaining'
        if ks is not None:
            observed, chance, _ = (a[t] for a in ks.fractions('kernels'))
            line += f', 3x3 kernels empty {_pct(observed)} (chance {_pct(chance)})'
        lines.append(line)
    if ov is not None:
        lines.append('  IoU of kept weights (chance):')
        lines += [f'    {ms.labels[i]} vs {ms.labels[j]}: {ov.iou[0, i, j]:.4f} '
                  f'({ov.chance[0, i, j]:.4f})' for i, j in _pairs(len(ms.labels))]
    return '\n'.join(lines)
