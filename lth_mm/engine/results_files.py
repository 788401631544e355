"""The files of a results table: ``results.md``, ``results.csv``, ``results.json``, ``results.png``.

:func:`write_results` reads every run and renders every file in memory before it creates the
output folder; each file is then written atomically, ``results.md`` last.
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ..core.atomic import atomic_write_bytes
from .results import Cell, Column, Results, ResultsInputError, Row, collect_results
from .round_report import runs_png

__all__ = ['cell_text', 'render_results', 'results_csv', 'results_json', 'results_markdown',
           'unfinished_text', 'write_results']

PathLike = Union[str, os.PathLike]
KEY_FIELDS = ('pre-training', 'task', 'ticket', 'rewind', 'mask', 'sparsity %', 'round')
CELL_NOTE = ('Cells: the test metric at the best-validation epoch (the best validation metric, '
             'marked `†`, where the runs have no test set); over runs that differ only in their '
             'seeds, the mean with the range and n. `*`: an early-bird round of a search, ended '
             "before its schedule's end in at least one run: not comparable to a full round.")


def _keys(row: Row) -> Tuple[str, ...]:
    source = row.source
    ticket = source.method + (f' {source.options}' if source.options else '')
    return (source.weights, source.task, ticket, source.rewind, row.mask,
            f'{100 * row.sparsity:.2f}', str(row.round))


def cell_text(cell: Optional[Cell]) -> str:
    """``97.77``, or ``96.65 (95.53-97.77, n=3)`` over seeds; ``†`` for validation values, ``*``
    for early-bird rounds that ended early (not comparable to a full round)."""
    if cell is None or cell.stat() is None:
        return '-'
    mark = ('†' if cell.key == 'best_val_metric' else '') + (
        '*' if cell.merged.get('comparable') is False else '')
    if cell.stat('n') > 1:
        return (f'{cell.stat():.2f}{mark} ({cell.stat("min"):.2f}-{cell.stat("max"):.2f}, '
                f'n={cell.stat("n")})')
    return f'{cell.stat():.2f}{mark}'


def _md_row(cells: Sequence[str]) -> str:
    return '| ' + ' | '.join(str(c).replace('|', '\\|') for c in cells) + ' |'


def _column_labels(results: Results) -> Dict[Column, str]:
    labels: Dict[Column, str] = {}
    for column in results.columns:
        label = column.label
        count = sum(1 for other in labels.values() if other.split(' #')[0] == label)
        labels[column] = f'{label} #{count + 1}' if count else label
    return labels


def _runs_of(results: Results, column: Column) -> List[str]:
    runs = {run for (_, col), cell in results.cells.items() if col == column for run in cell.runs}
    return sorted(str(run) for run in runs)


def results_markdown(results: Results, title: str = 'Results across runs',
                     figure: Optional[str] = None) -> str:
    """The table with its legend: what each column and row group is, the runs in it, and the
    runs left out with the reason."""
    labels = _column_labels(results)
    header = [*KEY_FIELDS, *labels.values()]
    lines = [f'# {title}', '', CELL_NOTE, '', _md_row(header),
             '|' + '|'.join('---' if i < 5 else '---:' for i in range(len(header))) + '|']
    for row in results.rows:
        cells = [cell_text(results.cells.get((row, column))) for column in results.columns]
        lines.append(_md_row([*_keys(row), *cells]))
    if figure:
        lines += ['', f'![results]({figure})']
    lines += ['', '## Columns', '']
    for column, label in labels.items():
        runs = _runs_of(results, column)
        what = ("the searches' own rounds" if column.setting == 'search'
                else 'TicketHook transfers')
        lines.append(f'- **{label}**: {column.metric}, {what}; {len(runs)} run(s): '
                     + ', '.join(f'`{run}`' for run in runs[:6])
                     + (f' and {len(runs) - 6} more' if len(runs) > 6 else ''))
    lines += ['', '## Row groups', '']
    for source in dict.fromkeys(row.source for row in results.rows):
        searches = sorted({str(r.work_dir) for r in results.runs if r.kind == 'search'
                           and r.identity == source.identity})
        lines.append(f'- **{source.label}**: searches ' + ', '.join(f'`{s}`' for s in searches))
    notes = [r for r in results.runs if r.note]
    if notes:
        lines += ['', '## Runs without a config dump', '']
        lines += [f'- `{r.work_dir}`: {r.note}; named after its folder' for r in notes]
    if results.unfinished:
        lines += ['', '## Searches not finished', '']
        lines += [f'- `{item["run"]}`: {unfinished_text(item)}' for item in results.unfinished]
    if results.unplaced:
        lines += ['', '## Runs not in the table', '']
        for item in results.unplaced:
            value = '' if item['value'] is None else f' (value {item["value"]:.2f})'
            lines.append(f'- `{item["run"]}`{value}: {item["reason"]}')
    return '\n'.join(lines) + '\n'


def unfinished_text(item: Dict[str, Any]) -> str:
    """Why an unfinished search's rounds stand alone in the table."""
    return (f'recorded up to round {item["last"]} of {item["rounds"]} (stopped, or still '
            'running): the rounds it has are in the table, the later rounds have fewer runs')


def results_csv(results: Results) -> str:
    """The table as CSV: the row keys, then per column its mean, sd, min, max and n."""
    labels = _column_labels(results)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    stats = ('', 'sd', 'min', 'max', 'n')
    writer.writerow([*KEY_FIELDS[:5], 'sparsity', 'round',
                     *(f'{label} {s}'.strip() for label in labels.values() for s in stats)])
    for row in results.rows:
        keys = _keys(row)
        values: List[Any] = [*keys[:5], f'{row.sparsity:.6f}', row.round]
        for column in results.columns:
            cell = results.cells.get((row, column))
            values += ['' if cell is None or cell.stat(s) is None else cell.stat(s)
                       for s in stats]
        writer.writerow(values)
    return buffer.getvalue()


def results_json(results: Results) -> str:
    """Every cell with its keys, statistics and runs; the columns, and the runs left out."""
    labels = _column_labels(results)
    cells = []
    for (row, column), cell in results.cells.items():
        cells.append(dict(
            zip(KEY_FIELDS[:5], _keys(row)), sparsity=row.sparsity, round=row.round,
            column=labels[column], column_task=column.task, metric=column.metric,
            value_from='test' if cell.key == 'test_metric' else 'best validation',
            mean=cell.stat(), sd=cell.stat('sd'), min=cell.stat('min'), max=cell.stat('max'),
            n=cell.stat('n'), comparable=cell.merged.get('comparable') is not False,
            runs=[str(run) for run in cell.runs]))
    columns = [dict(label=labels[c], task=c.task, metric=c.metric, setting=c.setting,
                    options=c.options, runs=_runs_of(results, c)) for c in results.columns]
    return json.dumps(dict(columns=columns, cells=cells, unplaced=results.unplaced,
                           unfinished=results.unfinished), indent=1)


def results_png(results: Results, title: str = '') -> bytes:
    """One panel per column: the metric against remaining weights, a line per row group and
    mask, the range over seeds as error bars."""
    labels = _column_labels(results)
    panels: Dict[str, Dict[str, List[Dict[str, Any]]]] = {}
    for column in results.columns:
        lines: Dict[str, List[Dict[str, Any]]] = {}
        for row in results.rows:
            cell = results.cells.get((row, column))
            if cell is not None:
                line = row.source.label + ('' if row.mask == 'ticket' else f', {row.mask}')
                lines.setdefault(line, []).append(cell.merged)
        panels[f'{labels[column]}: {column.metric}'] = lines
    return runs_png(panels, title)


def render_results(results: Results, title: str = 'Results across runs') -> Dict[str, bytes]:
    """Every file by name, in memory, ``results.md`` last."""
    return {'results.csv': results_csv(results).encode(),
            'results.json': results_json(results).encode(),
            'results.png': results_png(results, title),
            'results.md': results_markdown(results, title, 'results.png').encode()}


def write_results(paths: Sequence[PathLike], out: PathLike, title: str = 'Results across runs'
                  ) -> Tuple[Results, List[Path]]:
    """Write the table over the runs under ``paths`` into the folder ``out``.

    Returns:
        The results and the files written (``results.md`` last).

    Raises:
        ResultsInputError: before anything is written, for any bad input
            (:func:`.results.collect_results`) or an ``out`` that is a file.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ResultsInputError(f'--out {out} exists and is not a folder')
    results = collect_results(paths)
    files = render_results(results, title)
    return results, [atomic_write_bytes(out / name, data) for name, data in files.items()]
