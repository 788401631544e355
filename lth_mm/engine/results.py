"""Results across runs: one table over IMP searches and ticket transfers.

Every run records its numbers in its work dir: ``IMPHook`` one row per round in
``imp/summary.json`` (with each round's ticket file and digest), ``TicketHook`` one row in
``ticket/summary.json`` (the ticket it used: path, digest, card; randomized / reversed). This
module finds those records under the given folders, reads each run's config from mmengine's dump
(:mod:`.config_dump`, as data), places every transfer on the search round its ticket came from,
and merges runs that differ only in their seeds.

The table:

- **Rows: source tickets**: the search's ``pre-training`` (the weights it started from),
  ``task`` (its training set), ``ticket`` (how it was found: ``IMP``, ``OMP``, ``random
  pruning``, ``IMP masks`` for a replay), ``rewind``, then ``mask`` (``ticket``; ``random`` and
  ``reversed`` for transfers of a random or reversed ticket of it, rows of their own) and the
  round and sparsity of the mask trained.
- **Columns: where the mask was trained**: a downstream task with its metric (one column per
  transfer config; configs of the same task that differ in more than the ticket and the seeds get
  a column each, named by what differs), and ``<task> (search)``: the searches' own rounds.
- **Cells**: the test metric at the best-validation epoch (the best validation metric where a
  run has no test set), the mean over runs that differ only in ``randomness.seed`` and the hooks'
  ``seed``, with min, max, standard deviation and n.

A transfer is placed on the search round its ticket came from, known by the ticket's digest (a
random ticket's card names the digest of the ticket it was drawn for) or, for a reversed or
renamed ticket, by its card (the hash of the weights it was pruned from, the round, how it was
pruned): first the round whose file is the one the run read, if that file still holds that
ticket, else a round with the same ticket anywhere among the searches given (a moved work dir;
a replay's tickets count as its origin's). Transfers that cannot be placed, or that fit searches
of several configs, and repeats of a run (same config and seed) are listed beside the table
with the reason, never dropped silently.
"""
from __future__ import annotations

import inspect
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ..core import Ticket
from .config_dump import dataset_label, find_config, flatten, start_weights, weights_label
from .round_report import aggregate_seeds, read_summary

__all__ = ['Cell', 'Column', 'Results', 'ResultsInputError', 'Row', 'RunRecord', 'Source',
           'collect_results', 'find_runs', 'read_run']

PathLike = Union[str, os.PathLike]
HOOKS = {'search': ('IMPHook', 'imp'), 'transfer': ('TicketHook', 'ticket')}
MASKS = ('ticket', 'random', 'reversed', 'reversed random')
#: Config keys that do not change what a run measures: left out when runs are compared.
BOOKKEEPING = ('work_dir', 'experiment_name', 'resume', 'launcher', 'env_cfg', 'log_level',
               'log_processor', 'visualizer', 'vis_backends', 'custom_imports',
               'default_hooks.logger', 'default_hooks.timer', 'default_hooks.checkpoint',
               'default_hooks.visualization')
BOOKKEEPING_TAILS = ('num_workers', 'persistent_workers')
#: The hooks' arguments that do not change the result, or that define the row (transfers).
HOOK_BOOKKEEPING = ('overwrite', 'allow_other_ticket', 'allow_pickle')
TRANSFER_ROW_ARGS = ('ticket', 'randomize', 'reverse')
SEED_KEYS = ('randomness.seed', )
#: How ``Ticket.random_like`` names the ticket a random ticket was drawn for.
RANDOM_NOTES = re.compile(r'random ticket with the sparsity of ([0-9a-f]{16})')


class ResultsInputError(ValueError):
    """Input the results table cannot use (nothing has been written)."""


@dataclass
class RunRecord:
    """One run's record and what its work dir says about it.

    Attributes:
        kind: ``'search'`` (IMPHook) or ``'transfer'`` (TicketHook).
        work_dir: The run's work dir.
        rows: Its record rows (``imp/summary.json``: one per round; ``ticket/summary.json``: one).
        config_file: The config dump read (None when there is none).
        hook: The hook's arguments, defaults filled in (``{}`` without a config).
        task: The training set (``Digits 5-9``).
        metric: The metric of its rows.
        weights: The weights it started from (:func:`.config_dump.weights_label`).
        identity: Its config without seeds and bookkeeping (and, for a transfer, without the
            ticket it reads), paths inside the folder holding the work dir written
            ``{runs}/...``: runs with equal identities differ only in seeds.
        exact: Its config without bookkeeping, as it is (a transfer's ticket digest added):
            runs with equal ``exact`` repeat one another.
        note: Why there is no config; then the task is the work dir's name, pre-training,
            rewind and the hook's arguments are unknown, and the run merges with no other.
        launch_dir: The folder the run was started in, where its config's relative paths
            point (:func:`_launch_dir`); None when its config does not tell.
    """

    kind: str
    work_dir: Path
    rows: List[Dict[str, Any]]
    config_file: Optional[Path]
    hook: Dict[str, Any]
    task: str
    metric: str
    weights: str
    identity: Tuple[Tuple[str, str], ...]
    exact: Tuple[Tuple[str, str], ...]
    note: str = ''
    launch_dir: Optional[Path] = None
    _cards: Dict[int, Dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def replay(self) -> bool:
        return bool(self.hook.get('masks_from'))

    def locate(self, value: str) -> Optional[Path]:
        """Where a path in this run's config points (:func:`_locate`)."""
        return _locate(value, self.work_dir, self.launch_dir)

    def ticket_path(self, row: Dict[str, Any]) -> Optional[Path]:
        return _resolve(self.work_dir / row['ticket']) if row.get('ticket') else None

    def card(self, row: Dict[str, Any]) -> Dict[str, Any]:
        """The card of a search round's ticket file (read once; ``{}`` if it is gone)."""
        rnd = int(row['round'])
        if rnd not in self._cards:
            path = self.ticket_path(row)
            self._cards[rnd] = _read_ticket(path).card if path and path.is_file() else {}
        return self._cards[rnd]


@dataclass(frozen=True)
class Source:
    """The searches of one config (seeds merged): the row group of their tickets."""

    weights: str
    task: str
    method: str
    rewind: str
    identity: Tuple[Tuple[str, str], ...]
    options: str = ''

    @property
    def label(self) -> str:
        return (f'{self.method} ({self.rewind}) on {self.task}, from {self.weights}'
                + (f' {self.options}' if self.options else ''))


@dataclass(frozen=True)
class Column:
    """Where masks were trained: a transfer config's task, or the searches' own rounds."""

    task: str
    metric: str
    setting: str
    identity: Tuple[Tuple[str, str], ...] = ()
    options: str = ''

    @property
    def label(self) -> str:
        if self.setting == 'search':
            return f'{self.task} (search)'
        return self.task + (f' {self.options}' if self.options else '')


@dataclass(frozen=True)
class Row:
    """A row of the table: a source, the mask trained (ticket, random, reversed), a round."""

    source: Source
    mask: str
    round: int
    sparsity: float


@dataclass
class Cell:
    """A cell: the merged record row (:func:`aggregate_seeds`), the value shown, its runs."""

    merged: Dict[str, Any]
    runs: List[Path]

    @property
    def key(self) -> str:
        """``test_metric``, or ``best_val_metric`` where the runs have no test metric."""
        return 'test_metric' if self.merged.get('test_metric') is not None else 'best_val_metric'

    def stat(self, name: str = '') -> Any:
        """The mean (``''``), ``'min'``, ``'max'``, ``'sd'`` or ``'n'`` of the value shown."""
        return self.merged.get(f'{self.key}_{name}' if name else self.key)


@dataclass
class Results:
    """The table and what went into it.

    Attributes:
        runs: Every run read.
        rows, columns: The table's rows and columns, in order.
        cells: By (row, column).
        unplaced: Runs not in the table: ``run`` (work dir), ``reason``, ``value``.
        unfinished: Searches whose record stops before their last round (stopped, or still
            running): ``run``, ``last`` (the last round recorded), ``rounds`` (the config's);
            the rounds they have are in the table.
    """

    runs: List[RunRecord]
    rows: List[Row]
    columns: List[Column]
    cells: Dict[Tuple[Row, Column], Cell]
    unplaced: List[Dict[str, Any]]
    unfinished: List[Dict[str, Any]] = field(default_factory=list)


# Reading ----------------------------------------------------------------------------------------
def _resolve(path: PathLike) -> Path:
    return Path(os.path.realpath(path))


def _is_run(folder: Path) -> bool:
    return any((folder / sub / 'summary.json').is_file() for _, sub in HOOKS.values())


def find_runs(paths: Sequence[PathLike]) -> List[Path]:
    """The work dirs of IMPHook and TicketHook runs given by ``paths``: work dirs, folders holding
    work dirs at any depth (work dirs inside work dirs too), or
    ``<work_dir>/{imp,ticket}/summary.json`` files.

    Raises:
        ResultsInputError: for a missing path, a file that is no run record, or a folder that
            holds no run.
    """
    if not paths:
        raise ResultsInputError('no work dirs given')
    found: Dict[Path, None] = {}
    for given in map(Path, paths):
        if not given.exists():
            raise ResultsInputError(f'{given} does not exist')
        if given.is_file():
            if given.name != 'summary.json' or given.parent.name not in ('imp', 'ticket'):
                raise ResultsInputError(
                    f'{given} is a file, not a work dir: give the work dir of an IMPHook or '
                    'TicketHook run (or a folder holding such work dirs); tickets go to '
                    '`tools/ticket.py info` or `report`')
            found.setdefault(_resolve(given.parent.parent))
            continue
        runs = []
        records = {sub for _, sub in HOOKS.values()}
        for folder, subfolders, _ in os.walk(given):
            is_run = _is_run(Path(folder))
            if is_run:
                runs.append(_resolve(folder))
            subfolders[:] = sorted(s for s in subfolders if not s.startswith('.')
                                   and not (is_run and s in records))
        if not runs:
            raise ResultsInputError(
                f'{given} holds no ticket search (<work_dir>/imp/summary.json, written by '
                'IMPHook) and no transfer (<work_dir>/ticket/summary.json, written by '
                'TicketHook): give the work dirs of such runs, or a folder holding them')
        found.update(dict.fromkeys(runs))
    return list(found)


def _read_ticket(path: Optional[Path]) -> Ticket:
    from ..analysis import ReportInputError, read_ticket
    try:
        return read_ticket(path)
    except ReportInputError as err:
        raise ResultsInputError(str(err)) from err


def _hook_defaults(name: str) -> Dict[str, Any]:
    from .. import hooks
    signature = inspect.signature(getattr(hooks, name).__init__)
    return {k: p.default for k, p in signature.parameters.items()
            if p.default is not inspect.Parameter.empty}


def _transfer_rows(path: Path) -> List[Dict[str, Any]]:
    rows = read_summary(path)
    wanted = ('ticket', 'ticket_digest', 'sparsity')
    if len(rows) != 1 or any(rows[0].get(k) is None for k in wanted):
        raise ResultsInputError(f'{path} is not the record of a TicketHook run: expected one row '
                                f'with {", ".join(wanted)}')
    return rows


def read_run(work_dir: PathLike) -> List[RunRecord]:
    """The records of one work dir (a search, a transfer; both if both hooks wrote there).

    Raises:
        ResultsInputError: a record that is no IMPHook / TicketHook summary.
    """
    work_dir = Path(work_dir)
    records = []
    for kind, (hook_type, sub) in HOOKS.items():
        summary = work_dir / sub / 'summary.json'
        if not summary.is_file():
            continue
        try:
            rows = _transfer_rows(summary) if kind == 'transfer' else read_summary(summary)
        except (OSError, ValueError) as err:
            raise ResultsInputError(str(err)) from err
        if not rows:
            raise ResultsInputError(f'{summary} holds no rows: the run recorded nothing yet')
        config_file, config, note = find_config(work_dir, summary.stat().st_mtime)
        records.append(_record(kind, hook_type, work_dir, rows, config_file, config, note))
    return records


#: Suffixes of the files a config names (checkpoints, tickets); other strings are paths when
#: they hold a ``/``.
_FILE_SUFFIXES = ('.pth', '.pt', '.ckpt', '.tar', '.bin', '.safetensors')


def _launch_dir(work_dir: Path, config: Dict[str, Any]) -> Optional[Path]:
    """The folder a run was started in: its work dir less the config's ``work_dir`` where that
    is relative (``tools/train.py`` writes ``./work_dirs/<config name>``, or ``--work-dir`` as
    given) and names the work dir's last folders; else None."""
    given = config.get('work_dir')
    if not isinstance(given, str) or not given or os.path.isabs(given):
        return None
    parts = Path(os.path.normpath(given)).parts
    if parts == ('.', ) or '..' in parts or len(parts) >= len(work_dir.parts):
        return None
    if work_dir.parts[-len(parts):] != parts:
        return None  # the work dir was moved or renamed since
    return Path(*work_dir.parts[:-len(parts)])


def _locate(value: Any, work_dir: Path, launch_dir: Optional[Path]) -> Optional[Path]:
    """The file or folder a path-like config string names, as an absolute path; None for
    strings that are no path. MMEngine reads a relative path from the folder the run was started
    in, ``launch_dir``; where that is unknown, from the nearest folder above the work dir where
    it exists (not the work dir itself: the run created it; ``./`` would name each run's own).
    A relative path counts only where it exists (``accuracy/top1`` is a metric).
    """
    if not isinstance(value, str) or not value or '://' in value:
        return None
    path = Path(value)
    if path.is_absolute():
        return Path(os.path.normpath(path))
    if '/' not in value and path.suffix not in _FILE_SUFFIXES:
        return None
    folders = (launch_dir, ) if launch_dir is not None else work_dir.parents
    return next((Path(os.path.normpath(folder / path)) for folder in folders
                 if (folder / path).exists()), None)


def _record(kind: str, hook_type: str, work_dir: Path, rows: List[Dict[str, Any]],
            config_file: Optional[Path], config: Optional[Dict[str, Any]], note: str
            ) -> RunRecord:
    metric = next((r['metric'] for r in rows if r.get('metric')), '?')
    if config is None:
        alone = (('work_dir', str(work_dir)), )
        return RunRecord(kind, work_dir, rows, None, {}, work_dir.name, metric, '?', alone, alone,
                         note)
    hooks = list(config.get('custom_hooks') or [])
    index = next((i for i, h in enumerate(hooks) if isinstance(h, dict)
                  and str(h.get('type', '')).rsplit('.', 1)[-1] == hook_type), None)
    hook = dict(_hook_defaults(hook_type), **(hooks[index] if index is not None else {}))
    flat = flatten(dict(config, custom_hooks=[hook if i == index else h
                                              for i, h in enumerate(hooks)]))
    prefix = f'custom_hooks.{index}.'
    seeds = (*SEED_KEYS, prefix + 'seed')
    row_args = {prefix + a for a in TRANSFER_ROW_ARGS} if kind == 'transfer' else set()
    exact, identity = {}, {}
    parent = str(work_dir.parent) + os.sep
    launch_dir = _launch_dir(work_dir, config)
    for key, value in flat.items():
        if (key in BOOKKEEPING or key.startswith(tuple(f'{b}.' for b in BOOKKEEPING))
                or key.rsplit('.', 1)[-1] in BOOKKEEPING_TAILS
                or key in {prefix + a for a in HOOK_BOOKKEEPING}):
            continue
        exact[key] = repr(value)
        if key in seeds or key in row_args:
            continue
        where = _locate(value, work_dir, launch_dir)
        if where is not None:  # relative or absolute, the same file is the same option
            value = ('{runs}/' + str(where)[len(parent):] if str(where).startswith(parent)
                     else str(where))
        identity[key] = repr(value)
    if kind == 'transfer':  # the file it read may hold another ticket by now
        exact['ticket_digest'] = rows[0]['ticket_digest']
    if flat.get('randomness.seed') is None:  # mmengine drew a seed: no run repeats another
        exact['work_dir'] = str(work_dir)
    weights = start_weights(config)
    where = _locate(weights, work_dir, launch_dir)
    if where is not None:
        weights = str(where)
    # a relative path not found where the run started is not read from the current folder
    label = weights_label(weights, read=where is not None)
    return RunRecord(kind, work_dir, rows, config_file, hook, dataset_label(config), metric,
                     label, tuple(sorted(identity.items())), tuple(sorted(exact.items())),
                     launch_dir=launch_dir)


# Rows and columns ------------------------------------------------------------------------------
def _method(search: RunRecord, searches: Sequence[RunRecord]) -> str:
    """How a search found its tickets: IMP, OMP, random pruning, one-shot random, or the method
    of the search whose masks it replays (``IMP masks``)."""
    hook = search.hook
    if search.replay:
        folder = _resolve(search.locate(str(hook['masks_from'])) or hook['masks_from'])
        origin = next((s for s in searches if not s.replay and any(
            s.ticket_path(r) is not None and s.ticket_path(r).parent == folder
            for r in s.rows)), None)
        return f'{_method(origin, searches)} masks' if origin else 'replayed masks'
    if search.config_file is None:  # no config: what the last ticket's card says
        card = search.card(search.rows[-1]) if search.rows[-1].get('ticket') else {}
        criterion = card.get('criterion', '?')
        oneshot = 'one-shot' in str(card.get('notes', ''))
        mode = card.get('mode', 'global')
    else:
        criterion, oneshot, mode = hook['criterion'], hook['oneshot'], hook['mode']
    name = {('magnitude', False): 'IMP', ('magnitude', True): 'OMP',
            ('random', False): 'random pruning', ('random', True): 'one-shot random'}.get(
                (criterion, bool(oneshot)), f'{criterion} pruning')
    return name + (' (layerwise)' if mode == 'layerwise' else '')


def _is_weights_key(key: str) -> bool:
    return key == 'load_from' or key.startswith('model.') and key.endswith('.checkpoint')


def _options(groups: Dict[Any, RunRecord]) -> Dict[Any, str]:
    """``[what differs]`` between groups of the same label, each named by one of its runs."""
    if len(groups) < 2:
        return dict.fromkeys(groups, '')
    identities = {key: dict(run.identity) for key, run in groups.items()}
    keys = sorted(set().union(*identities.values()))
    differ = [k for k in keys if len({ids.get(k) for ids in identities.values()}) > 1]
    weights = _weights_texts(groups, identities, [k for k in differ if _is_weights_key(k)])
    others = [k for k in differ if not _is_weights_key(k)]
    labels = {}
    for key in groups:
        ids = identities[key]
        parts = [f'weights: {weights[key]}'] if weights else []
        for name in others[:3]:
            value = ids[name].strip("'") if name in ids else 'unset'
            short = name.split('.', 2)[-1] if name.startswith('custom_hooks.') else name
            parts.append(f'{short}={value if len(value) <= 40 else value[:37] + "..."}')
        if len(others) > 3:
            parts.append(f'+{len(others) - 3} more')
        labels[key] = '[' + ', '.join(parts) + ']'
    return _numbered(labels)


def _weights_texts(groups: Dict[Any, RunRecord], identities: Dict[Any, Dict[str, str]],
                   keys: Sequence[str]) -> Dict[Any, str]:
    """What each group starts from, where that differs between them (``{}`` where it does
    not): the weights' label, and where two other checkpoints share a label (two runs'
    ``epoch_100.pth``) as many of the checkpoints' last folders as tell them apart."""
    if not keys:
        return {}
    texts = {key: run.weights for key, run in groups.items()}
    paths = {key: ' '.join(identities[key].get(k, 'unset').strip("'") for k in keys)
             for key in groups}
    for label in set(texts.values()):
        same = [key for key in groups if texts[key] == label]
        distinct = len({paths[key] for key in same})
        if distinct < 2:
            continue
        parts = {key: paths[key].split('/') for key in same}
        for depth in range(1, max(map(len, parts.values())) + 1):  # the whole paths differ
            tails = {key: '/'.join(p[-depth:]) for key, p in parts.items()}
            if len(set(tails.values())) == distinct:
                break
        texts.update({key: tails[key] if tails[key].rsplit('/', 1)[-1].startswith(label)
                      else f'{label} ({tails[key]})' for key in same})
    return texts


def _numbered(labels: Dict[Any, str]) -> Dict[Any, str]:
    """Labels that are still equal (more options than a label shows) numbered ``#1``, ``#2``
    in the order of their identities, so no two groups share one."""
    numbered = dict(labels)
    for text in set(labels.values()):
        same = sorted((key for key, label in labels.items() if label == text), key=repr)
        if len(same) > 1:
            numbered.update({key: f'{text[:-1]} #{i}]' for i, key in enumerate(same, 1)})
    return numbered


def _sources(searches: Sequence[RunRecord]) -> Dict[int, Source]:
    """The row group of each search (by ``id``), options naming what differs within a label."""
    bare = {id(s): (s.weights, s.task, _method(s, searches), str(s.hook.get('rewind', '?')))
            for s in searches}
    groups: Dict[Tuple, Dict[Tuple, RunRecord]] = {}
    for s in searches:
        groups.setdefault(bare[id(s)], {}).setdefault(s.identity, s)
    options = {(label, identity): text for label, members in groups.items()
               for identity, text in _options(members).items()}
    return {id(s): Source(*bare[id(s)], s.identity, options[bare[id(s)], s.identity])
            for s in searches}


def _columns(transfers: Sequence[RunRecord]) -> Dict[int, Column]:
    groups: Dict[Tuple[str, str], Dict[Tuple, RunRecord]] = {}
    for t in transfers:
        groups.setdefault((t.task, t.metric), {}).setdefault(t.identity, t)
    columns = {}
    for (task, metric), members in groups.items():
        options = _options(members)
        for t in transfers:
            if (t.task, t.metric) == (task, metric):
                columns[id(t)] = Column(task, metric, 'transfer', t.identity,
                                        options[t.identity])
    return columns


# Placing transfers -----------------------------------------------------------------------------
def _mask(row: Dict[str, Any]) -> str:
    return {(False, False): 'ticket', (True, False): 'random', (False, True): 'reversed',
            (True, True): 'reversed random'}[bool(row.get('randomized')), bool(row.get('reversed'))]


def _source_digest(row: Dict[str, Any]) -> Optional[str]:
    """The digest of the ticket a transfer's mask was made from, where its record tells: the
    mask's own for a plain ticket; for a random ticket, the one its card's notes name
    (``Ticket.random_like``); None for a reversed ticket. Records of lth_mm >= 0.2 name it
    (``source_digest``: the ticket file's, before any key mapping)."""
    if row.get('source_digest'):
        return row['source_digest']
    if row.get('randomized'):
        found = RANDOM_NOTES.search(str((row.get('ticket_card') or {}).get('notes', '')))
        return found.group(1) if found else None
    return None if row.get('reversed') else row['ticket_digest']


def _fingerprint(card: Optional[Dict[str, Any]], randomized: bool) -> Optional[Tuple]:
    """What else identifies the search round a ticket came from (a renamed or moved ticket): the
    hash of the weights it was pruned from and the round; and, unless a random ticket's card
    replaced them, how it was pruned."""
    card = card or {}
    if not card.get('weights_hash'):
        return None
    keys = ('weights_hash', 'round') + (() if randomized else ('criterion', 'mode', 'rate'))
    return tuple(card.get(k) for k in keys)


def _place(transfer: RunRecord, searches: Sequence[RunRecord], sources: Dict[int, Source]
           ) -> Tuple[Optional[Tuple[RunRecord, Dict[str, Any]]], str]:
    """The search and round a transfer's ticket came from, or None and why not."""
    row = transfer.rows[0]
    mask = _mask(row)
    randomized = bool(row.get('randomized'))
    digest = _source_digest(row)
    fingerprint = _fingerprint(row.get('ticket_card'), randomized)

    def fits(search: RunRecord, source_row: Dict[str, Any]) -> bool:
        sparsity = float(source_row['sparsity'])
        expected = 1.0 - sparsity if 'reversed' in mask else sparsity
        return abs(expected - float(row['sparsity'])) < 1e-6

    def same(search: RunRecord, source_row: Dict[str, Any]) -> bool:
        if digest is not None and source_row.get('ticket_digest') == digest:
            return True
        return (fingerprint is not None and source_row.get('ticket') is not None
                and _fingerprint(search.card(source_row), randomized) == fingerprint)

    rounds = [(s, r) for s in searches for r in s.rows if fits(s, r)]
    target = _resolve(row['ticket'])
    by_path = [(s, r) for s, r in rounds if s.ticket_path(r) == target]
    for s, r in by_path:
        if same(s, r):
            return (s, r), ''
    found = [(s, r) for s, r in rounds if same(s, r)]
    found = [(s, r) for s, r in found if not s.replay] or found  # the masks' origin
    groups = {sources[id(s)] for s, _ in found}
    if len(groups) == 1:
        return found[0], ''
    if len(groups) > 1:
        return None, ('its ticket is a round ticket of searches of different configs ('
                      + '; '.join(sorted({str(s.work_dir) for s, _ in found})[:3])
                      + '): give only the one it came from')
    if by_path:
        return None, (f'{target} now holds another ticket than the one this run trained with '
                      '(digest and card differ): the search was run again after this transfer')
    return None, (f'its ticket {row["ticket"]} (digest {row["ticket_digest"]}) is no round ticket '
                  'of the searches given: add the work dir of the search it came from')


# The table -------------------------------------------------------------------------------------
def _check_architectures(searches: Sequence[RunRecord]) -> None:
    """The searches' tickets must cover the same weights (after key mapping)."""
    from ..analysis import ReportInputError, align_tickets
    tickets, files = [], []
    for search in searches:
        paths = [search.ticket_path(r) for r in search.rows if r.get('ticket')]
        path = next((p for p in paths if p.is_file()), None)
        if path is None:
            raise ResultsInputError(
                f'{search.work_dir}: its round tickets ({search.work_dir}/imp/tickets) are '
                'missing; the results table reads one to check that all searches share one '
                'architecture')
        tickets.append(_read_ticket(path))
        files.append(str(path))
    if len(tickets) > 1:
        try:
            align_tickets(tickets, files)
        except ReportInputError as err:
            raise ResultsInputError(f'the searches are not of one architecture: {err}. A '
                                    'results table holds the tickets of one architecture: '
                                    'make one table per architecture') from err


def _value(row: Dict[str, Any]) -> Optional[float]:
    value = row.get('test_metric')
    return value if value is not None else row.get('best_val_metric')


def collect_results(paths: Sequence[PathLike]) -> Results:
    """Read the runs under ``paths`` and build the table (nothing is written).

    Raises:
        ResultsInputError: a path that is missing, a file that is no run record, a folder
            without runs, a search ticket that is no ticket file, searches of different
            architectures, or runs of which no number can be placed.
    """
    runs = [record for work_dir in find_runs(paths) for record in read_run(work_dir)]
    searches = [r for r in runs if r.kind == 'search']
    transfers = [r for r in runs if r.kind == 'transfer']
    _check_architectures(searches)
    sources = _sources(searches)
    columns = _columns(transfers)
    # (source, mask, column) -> one entry per run: rows with their round, and the run.
    entries: List[Tuple[Tuple[Source, str, Column], Dict[str, Any], RunRecord]] = []
    unplaced: List[Dict[str, Any]] = []
    for search in searches:
        column = Column(search.task, search.metric, 'search')
        entries += [((sources[id(search)], 'ticket', column), row, search) for row in search.rows]
    for transfer in transfers:
        row = transfer.rows[0]
        placed, reason = _place(transfer, searches, sources)
        if placed is None:
            unplaced.append(dict(run=str(transfer.work_dir), reason=reason, value=_value(row)))
            continue
        search, source_row = placed
        entries.append(((sources[id(search)], _mask(row), columns[id(transfer)]),
                        dict(row, round=int(source_row['round'])), transfer))
    seen: Dict[Tuple, RunRecord] = {}
    per_run, cell_runs = [], {}
    for series, row, run in entries:
        key = (series, int(row['round']))
        first = seen.setdefault(key + (run.exact, ), run)
        if first is not run:
            unplaced.append(dict(run=str(run.work_dir), value=_value(row), reason=(
                f'repeats {first.work_dir} (the same config and seed): counted once')))
            continue
        per_run.append({series: [row]})
        cell_runs.setdefault(key, []).append(run.work_dir)
    if not per_run:
        raise ResultsInputError('no run could be placed in the table: '
                                + '; '.join(f'{u["run"]}: {u["reason"]}' for u in unplaced[:3]))
    merged = aggregate_seeds(per_run)
    cells = {}
    for (source, mask, column), rows in merged.items():
        for row in rows:
            key = Row(source, mask, int(row['round']), float(row['sparsity']))
            cells[key, column] = Cell(row, cell_runs[(source, mask, column), int(row['round'])])
    order = {column: i for i, column in enumerate(MASKS)}
    rows = sorted({row for row, _ in cells}, key=lambda r: (
        r.source.weights, r.source.task, r.source.method, r.source.rewind, r.source.options,
        order[r.mask], r.round, r.source.identity))
    table_columns = sorted({column for _, column in cells}, key=lambda c: (
        c.setting == 'search', c.task, c.metric, c.options, c.identity))
    return Results(runs, rows, table_columns, cells, unplaced, _unfinished(searches))


def _unfinished(searches: Sequence[RunRecord]) -> List[Dict[str, Any]]:
    """The searches whose record ends before the config's last round."""
    unfinished = []
    for search in searches:
        rounds, last = search.hook.get('rounds'), max(int(r['round']) for r in search.rows)
        if isinstance(rounds, int) and not isinstance(rounds, bool) and last < rounds:
            unfinished.append(dict(run=str(search.work_dir), last=last, rounds=rounds))
    return sorted(unfinished, key=lambda u: u['run'])
