"""Checks before a search starts: an occupied work dir, a folder of tickets to replay."""
from __future__ import annotations

import glob
import os
import os.path as osp
import shutil
from typing import Dict, List, Tuple

from mmengine.dist import barrier, is_main_process
from torch import nn

from ..core import PruneScope, Ticket
from ..core.pruning import count_to_prune

__all__ = ['check_outside', 'check_replay', 'check_schedule', 'check_work_dir', 'clear_work_dir',
           'earlier_search_files', 'expected_sparsity', 'first_round_files']

#: mmengine's checkpoints in a work dir, removed with an overwritten search.
CHECKPOINT_PATTERNS = ('epoch_*.pth', 'iter_*.pth', 'best_*.pth', 'last_checkpoint')


def expected_sparsity(rate: float, rounds: int) -> float:
    """Sparsity after ``rounds`` rounds that each prune ``rate`` of the surviving weights."""
    return 1.0 - (1.0 - rate) ** rounds


def earlier_search_files(out_dir: str) -> List[str]:
    """The files an IMP search wrote into ``out_dir`` (``<work_dir>/imp``), relative to it."""
    patterns = ('tickets/round_*.safetensors', 'round_*_best.pth', 'rewind.safetensors',
                'summary.json', 'summary.csv')
    return sorted(osp.relpath(p, out_dir) for pattern in patterns
                  for p in glob.glob(osp.join(out_dir, pattern)))


def first_round_files(rounds: int, first: int, oneshot: bool) -> frozenset:
    """What a search writes (relative to its ``imp/``) before its first trained round
    (``first``: 0, or 1 without the dense round) ends: its tickets so far (every round's, for
    one-shot pruning of the starting weights), the rewind point, the round's best or last
    weights. A run killed then, before any checkpoint, leaves no more than these."""
    tickets = range(rounds + 1) if first and oneshot else range(first + 1)
    return frozenset({'rewind.safetensors'}
                     | {f'tickets/round_{r:02d}.safetensors' for r in tickets}
                     | {f'round_{r:02d}_{kind}.pth' for r in range(first + 1)
                        for kind in ('best', 'last')})


def check_work_dir(work_dir: str, out_dir: str, overwrite: bool,
                   restart: frozenset = frozenset()) -> List[str]:
    """Refuse a work dir that holds an earlier search, unless ``overwrite``; writes nothing.

    Args:
        restart: When ``--resume`` was asked but the work dir has no checkpoint (a search
            killed before its first checkpoint), what its first round writes
            (:func:`first_round_files`): files within it are replaced, more are refused,
            saying so. Empty otherwise.

    Returns:
        The earlier search's files (relative to ``out_dir``) that :func:`clear_work_dir` will
        delete; empty when there are none.

    Raises:
        FileExistsError: naming what was found and the three ways on (resume, another work dir,
            ``overwrite=True``), when ``out_dir`` holds search files and ``overwrite`` is False.
    """
    found = earlier_search_files(out_dir)
    if found and not overwrite and restart:
        if set(found) <= restart:
            return found
        raise FileExistsError(
            f'IMPHook: --resume found no checkpoint in {work_dir}, but {out_dir} holds the files '
            f'of a search that got past its first round ({", ".join(found[:4])}): it was '
            'killed before '
            'its first checkpoint, or its checkpoints were deleted, so it cannot be continued. '
            'Start it again with IMPHook(overwrite=True) (--cfg-options '
            'custom_hooks.<i>.overwrite=True), which deletes those files, or choose another '
            '--work-dir.')
    if found and not overwrite:
        tickets = sum(name.startswith('tickets/') for name in found)
        others = [name for name in found if not name.startswith('tickets/')]
        raise FileExistsError(
            f'IMPHook: the work dir {work_dir} holds an earlier search ({tickets} tickets'
            + (', ' + ', '.join(others[:4]) if others else '') + f' in {out_dir}). Resume it with '
            f'`tools/train.py CONFIG --work-dir {work_dir} --resume`, choose another --work-dir, '
            'or set IMPHook(overwrite=True) (--cfg-options custom_hooks.<i>.overwrite=True) to '
            'delete its files and checkpoints first.')
    return found


def clear_work_dir(work_dir: str, out_dir: str) -> None:
    """Delete an earlier search's ``out_dir`` and mmengine's checkpoints in ``work_dir``: called
    once every check of the new run has passed and its weights are loaded, just before it
    writes its first file."""
    if is_main_process():
        shutil.rmtree(out_dir, ignore_errors=True)
        for pattern in CHECKPOINT_PATTERNS:
            for path in glob.glob(osp.join(work_dir, pattern)):
                os.remove(path)
    barrier()


def check_outside(folder: str, out_dir: str) -> None:
    """Refuse a ``masks_from`` folder inside the search's own ``out_dir``, which the search
    writes its tickets into (and ``overwrite`` deletes)."""
    inner, outer = osp.realpath(folder), osp.realpath(out_dir)
    if osp.commonpath([inner, outer]) == outer:
        raise ValueError(f'IMPHook: masks_from={folder} lies inside this search\'s own folder '
                         f'{out_dir}, where it writes (and with overwrite=True deletes) its '
                         'tickets. Replay from the earlier search\'s work dir and give this one '
                         'another --work-dir.')


def check_schedule(rate: float, rounds: int, sizes: Dict[str, int], mode: str,
                   oneshot: bool = False) -> None:
    """Refuse a ``rate`` and ``rounds`` that prune every weight (or, layerwise, every weight of
    a tensor) or prune nothing in a round, counted as pruning will count
    (:func:`~lth_mm.core.pruning.count_to_prune`), before any training.

    Args:
        sizes: Weights per prunable tensor (name -> numel).
    """
    hint = 'lower rate or rounds (or widen the scope)'
    total = sum(sizes.values())
    if oneshot:  # each round prunes the dense weights to its sparsity
        for rnd in range(1, rounds + 1):
            pruned = count_to_prune(expected_sparsity(rate, rnd), total)
            if pruned <= 0:
                raise ValueError(f'IMPHook: round {rnd} of rate {rate} prunes no weight (of '
                                 f'{total} in the scope); raise rate')
            if pruned >= total:
                raise ValueError(f'IMPHook: rate {rate} over {rounds} rounds prunes all {total} '
                                 f'weights of the scope by round {rnd}; {hint}')
        return
    if mode == 'global':
        alive = total
        for rnd in range(1, rounds + 1):
            pruned = count_to_prune(rate, alive)
            if pruned <= 0:
                raise ValueError(f'IMPHook: round {rnd} of rate {rate} prunes no weight (of '
                                 f'{alive} alive in the scope); raise rate or lower rounds')
            alive -= pruned
            if alive <= 0:
                raise ValueError(f'IMPHook: rate {rate} over {rounds} rounds prunes all {total} '
                                 f'weights of the scope by round {rnd}; {hint}')
        return
    alive = dict(sizes)
    for rnd in range(1, rounds + 1):
        pruned = {name: count_to_prune(rate, n) for name, n in alive.items()}
        if not any(pruned.values()):
            raise ValueError(f'IMPHook: round {rnd} of rate {rate} prunes no weight in any '
                             'tensor of the scope (layerwise); raise rate or lower rounds')
        for name, n in pruned.items():
            alive[name] -= n
            if alive[name] <= 0:
                raise ValueError(f'IMPHook: rate {rate} over {rounds} rounds prunes every '
                                 f'weight of {name} ({sizes[name]}) by round {rnd} '
                                 f'(layerwise); {hint}')


def _fit_problem(ticket: Ticket, wanted: dict) -> str:
    """'' if the ticket covers exactly ``wanted`` (name -> shape), else what differs."""
    got = {name: tuple(shape) for name, shape in ticket.shapes.items()}
    missing = [k for k in wanted if k not in got]
    unexpected = [k for k in got if k not in wanted]
    shapes = [f'{k} {list(got[k])} vs {list(wanted[k])}' for k in wanted
              if k in got and got[k] != wanted[k]]
    parts = [f'{what} {items[:3]}' for what, items in (
        ('lacks the model weights', missing), ('has keys the model lacks', unexpected),
        ('has other shapes:', shapes)) if items]
    return '; '.join(parts)


def check_replay(folder: str, rounds: int, rate: float, model: nn.Module,
                 scope: PruneScope) -> List[Tuple[float, str]]:
    """Check the tickets ``masks_from`` replays against the search; return each one's sparsity
    and digest (:meth:`Ticket.digest`), round 1 first.

    Every ``round_XX.safetensors`` for rounds 1..``rounds`` must exist, say it is of that round,
    have the sparsity ``rate`` gives after that many rounds (within 0.1 %), cover exactly the
    weights ``scope`` selects in ``model``, with their shapes, and keep only weights the round
    before kept (the tickets of one iterative search nest; those of two searches mixed in one
    folder do not; one-shot tickets, with a ``target_sparsity`` in their card, are exempt).

    Raises:
        FileNotFoundError: if ``folder`` is not a folder.
        ValueError: listing every mismatch, before any training.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'IMPHook: masks_from={folder} is not a folder; give the tickets '
                                'folder of an earlier search (<work_dir>/imp/tickets)')
    wanted = {name: tuple(p.shape) for name, p in scope.select(model).items()}
    problems, found = [], []
    before = None  # the previous round's ticket, when it fits
    for rnd in range(1, rounds + 1):
        name = f'round_{rnd:02d}.safetensors'
        path = osp.join(folder, name)
        if not osp.isfile(path):
            problems.append(f'{name} is missing')
            continue
        ticket = Ticket.load(path)
        expected = expected_sparsity(rate, rnd)
        if ticket.card.get('round') != rnd:
            problems.append(f'{name} is the ticket of round {ticket.card.get("round")!r}')
        if abs(ticket.sparsity - expected) > 1e-3:
            problems.append(f'{name} is {100 * ticket.sparsity:.2f} % sparse, the search expects '
                            f'{100 * expected:.2f} %')
        misfit = _fit_problem(ticket, wanted)
        if misfit:
            problems.append(f'{name} does not fit the model: {misfit}')
        elif before is not None and 'target_sparsity' not in ticket.card:
            # (one-shot tickets, pruned each from the dense one, need not nest)
            revived = sum(int((ticket[k] & ~before[k]).sum()) for k in wanted)
            if revived:
                problems.append(f'{name} keeps {revived} weights round_{rnd - 1:02d} pruned: the '
                                'two are not of one search')
        before = None if misfit else ticket
        found.append((ticket.sparsity, ticket.digest()))
    if problems:
        raise ValueError(
            f'IMPHook: masks_from={folder} does not hold the tickets of this search (rounds '
            f'1..{rounds} of rate {rate} on {type(model).__name__}): ' + '; '.join(problems[:6])
            + (f' ... ({len(problems)} problems)' if len(problems) > 6 else '')
            + '. Replay the tickets of a search with the same model, rounds and rate, or set '
            'rounds and rate to match them.')
    return found
