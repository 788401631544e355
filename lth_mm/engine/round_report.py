"""Per-round records of a ticket search: JSON and CSV summaries and the sparsity plot."""
from __future__ import annotations

import csv
import io
import json
import os
import os.path as osp
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ..core.atomic import atomic_write_bytes, atomic_write_text

__all__ = ['aggregate_seeds', 'format_table', 'plot_runs', 'read_summary', 'runs_csv',
           'runs_png', 'write_summary']

PathLike = Union[str, os.PathLike]
CSV_FIELDS = ('round', 'sparsity', 'remaining', 'best_val_metric', 'best_epoch', 'best_iter',
              'test_metric', 'metric', 'train_loss', 'trained', 'comparable', 'wall_time_s',
              'ticket', 'ticket_digest', 'best_checkpoint', 'last_checkpoint', 'reversed',
              'randomized')


def write_summary(rows: Sequence[Mapping[str, Any]], out_dir: PathLike) -> None:
    """Write ``summary.json`` (everything, per-layer sparsity included) and ``summary.csv``."""
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / 'summary.json', json.dumps(list(rows), indent=1, default=str))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction='ignore')
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k) for k in CSV_FIELDS})
    atomic_write_text(out_dir / 'summary.csv', buffer.getvalue())


def read_summary(path: PathLike) -> List[Dict[str, Any]]:
    """Read a ``summary.json`` (or the work dir / ``imp`` folder holding one)."""
    path = Path(path)
    for candidate in (path, path / 'summary.json', path / 'imp' / 'summary.json'):
        if candidate.is_file():
            return _checked_rows(candidate)
    raise FileNotFoundError(f'no summary.json at {path} (expected <work_dir>/imp/summary.json)')


def _checked_rows(path: Path) -> List[Dict[str, Any]]:
    """The rows of a summary file, or a ValueError naming the file and what is wrong."""
    try:
        rows = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f'{path} is not a JSON file ({err})') from err
    wanted = ('round', 'sparsity')
    if not isinstance(rows, list) or not all(
            isinstance(row, dict) and all(isinstance(row.get(k), (int, float)) for k in wanted)
            for row in rows):
        raise ValueError(f'{path} is not a ticket-search summary: expected a list of rows with '
                         f'numeric {wanted} (the summary.json IMPHook writes)')
    return rows


#: What a row reports, in order of preference: the test metric at the best validation, the best
#: validation metric, the training loss of the round's last epoch (searches without validation).
VALUE_KEYS = ('test_metric', 'best_val_metric', 'train_loss')


def _value_key(row: Mapping[str, Any]) -> Optional[str]:
    return next((k for k in VALUE_KEYS if row.get(k) is not None), None)


def _metric_value(row: Mapping[str, Any]) -> Optional[float]:
    key = _value_key(row)
    return row[key] if key else None


def aggregate_seeds(per_seed: Sequence[Mapping[str, Sequence[Mapping[str, Any]]]]
                    ) -> Dict[str, List[Dict[str, Any]]]:
    """Merge the rows of several seeds of the same runs, by column and round.

    Each merged row is the first seed's row with ``test_metric``, ``best_val_metric`` and
    ``train_loss`` replaced by their mean over the seeds, ``<key>_min`` / ``<key>_max`` /
    ``<key>_sd`` (the sample standard deviation, None below two values) and ``<key>_n`` (the
    values averaged) beside them, and ``n`` (the number of seeds with that row). A round is
    ``comparable`` only if it is in every seed (early-bird stops may differ between seeds).
    """
    merged: Dict[str, List[Dict[str, Any]]] = {}
    for column in dict.fromkeys(c for seed in per_seed for c in seed):
        by_round: Dict[int, List[Mapping[str, Any]]] = {}
        for seed in per_seed:
            for row in seed.get(column, ()):
                by_round.setdefault(int(row['round']), []).append(row)
        rows = []
        for rnd in sorted(by_round):
            group = by_round[rnd]
            row = dict(group[0], n=len(group))
            if any(r.get('comparable') is False for r in group):
                row['comparable'] = False  # one seed's early-stopped round: not a full one
            for key in VALUE_KEYS:
                row.update(_spread(key, [r[key] for r in group if r.get(key) is not None]))
            rows.append(row)
        merged[column] = rows
    return merged


def _spread(key: str, values: Sequence[float]) -> Dict[str, Any]:
    """``key``: the mean of ``values``, with ``key_min``, ``key_max``, ``key_sd`` and ``key_n``."""
    n = len(values)
    mean = sum(values) / n if n else None
    sd = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5 if n > 1 else None
    return {key: mean, f'{key}_min': min(values) if n else None,
            f'{key}_max': max(values) if n else None, f'{key}_sd': sd, f'{key}_n': n}


def _cell(row: Optional[Mapping[str, Any]], width: int) -> str:
    value = _metric_value(row) if row else None
    if value is None:
        return f'{"-":>{width}}'
    key = _value_key(row)
    mark = '*' if row.get('comparable') is False else ''
    if row.get('n', 1) > 1 and row.get(f'{key}_min') is not None:
        text = f'{value:.2f} ({row[f"{key}_min"]:.2f}-{row[f"{key}_max"]:.2f}){mark}'
        return f'{text:>{width}}'
    return f'{f"{value:.2f}{mark}":>{width}}'


def format_table(runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """A plain-text table: one line per round, one column per run (metric at best validation).

    Rows merged over seeds (:func:`aggregate_seeds`) show the mean and the range.
    """
    labels = list(runs)
    rounds = sorted({int(r['round']) for rows in runs.values() for r in rows})
    by_round = {label: {int(r['round']): r for r in rows} for label, rows in runs.items()}
    spread = any(r.get('n', 1) > 1 for rows in runs.values() for r in rows)
    width = max([22 if spread else 16] + [len(label) for label in labels])
    header = f'{"round":>5} {"sparsity %":>10} ' + ' '.join(f'{label:>{width}}'
                                                              for label in labels)
    lines = [header, '-' * len(header)]
    for rnd in rounds:
        sample = next(by_round[label][rnd] for label in labels if rnd in by_round[label])
        cells = [_cell(by_round[label].get(rnd), width) for label in labels]
        lines.append(f'{rnd:>5} {100 * sample["sparsity"]:>10.2f} ' + ' '.join(cells))
    if any(r.get('comparable') is False for rows in runs.values() for r in rows):
        lines.append('* an early-bird round, stopped before the end of its schedule: its own '
                     'accuracy is not comparable to a full round\'s')
    return '\n'.join(lines)


RUN_FIELDS = ('round', 'sparsity', 'best_val_metric', 'test_metric')


def runs_csv(runs: Mapping[str, Sequence[Mapping[str, Any]]],
             fields: Sequence[str] = RUN_FIELDS) -> str:
    """Rows of several runs as CSV: a ``run`` column, then ``fields`` (sparsity to 6 places;
    a missing value an empty cell, as in ``summary.csv``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(('run', *fields))
    for label, rows in runs.items():
        for row in rows:
            writer.writerow((label, *(f'{row[k]:.6f}' if k == 'sparsity' else row.get(k)
                                      for k in fields)))
    return buffer.getvalue()


def _or(value: Optional[float], default: float) -> float:
    return default if value is None else value


def plot_runs(runs: Mapping[str, Sequence[Mapping[str, Any]]], path: PathLike,
              title: str = '') -> None:
    """Plot the metric against remaining weights (log-scale x axis, decreasing), one line a run;
    rows merged over seeds get their range as error bars. The format follows the file name:
    ``.png``, ``.pdf`` or ``.svg``."""
    fmt = osp.splitext(str(path))[1].lower().lstrip('.')
    if fmt not in PLOT_FORMATS:
        raise ValueError(f'cannot plot to {path}: name the file .png, .pdf or .svg')
    atomic_write_bytes(path, runs_png({title: runs}, fmt=fmt))


#: File formats of :func:`plot_runs`.
PLOT_FORMATS = ('png', 'pdf', 'svg')


def runs_png(panels: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]],
             title: str = '', fmt: str = 'png') -> bytes:
    """The image (PNG, or ``fmt``) of :func:`plot_runs` with one panel per entry of ``panels``
    (its key is the panel's title), side by side, up to three a row; ``title`` goes above them
    all."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    columns = min(3, max(1, len(panels)))
    rows = -(-max(1, len(panels)) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.4 * columns, 4.2 * rows), squeeze=False)
    for ax, (name, runs) in zip(axes.flat, panels.items()):
        _draw_runs(ax, runs)
        ax.set_title(name)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    if title and len(panels) > 1:
        fig.suptitle(title, y=1.0 + 0.06 / rows, fontsize='large')
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=120, bbox_inches='tight')
    plt.close(fig)
    return buffer.getvalue()


def _percent(value: float, _: Any = None) -> str:
    """A log-axis tick as a plain number (``30``, ``0.6``); minor ticks other than 2, 3 and 5
    unlabelled."""
    mantissa = f'{value:.6e}'[0]
    return f'{value:g}' if mantissa in '1235' and value > 0 else ''


def _draw_runs(ax: Any, runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    from matplotlib.ticker import FuncFormatter
    metric, tested, losses = '', False, False
    for label, rows in runs.items():
        shown = [r for r in rows if _metric_value(r) is not None]
        if shown:
            xs = [100 * (1 - r['sparsity']) for r in shown]
            ys = [_metric_value(r) for r in shown]
            key = _value_key(shown[0])
            if any(r.get('n', 1) > 1 for r in shown):
                low = [y - _or(r.get(f'{key}_min'), y) for r, y in zip(shown, ys)]
                high = [_or(r.get(f'{key}_max'), y) - y for r, y in zip(shown, ys)]
                ax.errorbar(xs, ys, yerr=[low, high], marker='o', capsize=3,
                            label=f'{label} (n={max(r.get("n", 1) for r in shown)})')
            else:
                ax.plot(xs, ys, marker='o', label=label)
            metric = metric or rows[0].get('metric') or ''
            tested = tested or key == 'test_metric'
            losses = losses or key == 'train_loss'
    ax.set_xscale('log')
    ax.invert_xaxis()
    left, right = ax.get_xlim()
    ax.set_xlim(min(left, 120), right)  # no room beyond 100 % remaining
    ax.xaxis.set_major_formatter(FuncFormatter(_percent))
    ax.xaxis.set_minor_formatter(FuncFormatter(_percent))
    ax.set_xlabel('remaining weights (%)')
    when = 'test at best validation' if tested else 'best validation'
    ax.set_ylabel(f'{metric} ({when})' if metric else
                  'training loss (last epoch of the round)' if losses else 'metric')
    ax.grid(True, which='both', alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize='small')
