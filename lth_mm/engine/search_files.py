"""Checks before a search starts: an occupied work dir, a folder of tickets to replay."""
from __future__ import annotations

import glob
import os
import os.path as osp
import shutil
from typing import List

from mmengine.dist import barrier, is_main_process
from torch import nn

from ..core import PruneScope, Ticket

__all__ = ['check_replay', 'claim_work_dir', 'earlier_search_files', 'expected_sparsity']

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


def claim_work_dir(work_dir: str, out_dir: str, overwrite: bool) -> None:
    """Refuse a work dir that holds an earlier search, or delete that search's files.

    Raises:
        FileExistsError: naming what was found and the three ways on (resume, another work dir,
            ``overwrite=True``), when ``out_dir`` holds search files and ``overwrite`` is False.
    """
    found = earlier_search_files(out_dir)
    if not found:
        return
    if not overwrite:
        tickets = sum(name.startswith('tickets/') for name in found)
        others = [name for name in found if not name.startswith('tickets/')]
        raise FileExistsError(
            f'IMPHook: the work dir {work_dir} holds an earlier search ({tickets} tickets'
            + (', ' + ', '.join(others[:4]) if others else '') + f' in {out_dir}). Resume it with '
            f'`tools/train.py CONFIG --work-dir {work_dir} --resume`, choose another --work-dir, '
            'or set IMPHook(overwrite=True) (--cfg-options custom_hooks.<i>.overwrite=True) to '
            'delete its files and checkpoints first.')
    if is_main_process():
        shutil.rmtree(out_dir)
        for pattern in CHECKPOINT_PATTERNS:
            for path in glob.glob(osp.join(work_dir, pattern)):
                os.remove(path)
    barrier()


def _fit_problem(ticket: Ticket, wanted: dict) -> str:
    """'' if the ticket covers exactly ``wanted`` (name -> shape), else what differs."""
    got = {name: tuple(mask.shape) for name, mask in ticket.items()}
    missing = [k for k in wanted if k not in got]
    unexpected = [k for k in got if k not in wanted]
    shapes = [f'{k} {list(got[k])} vs {list(wanted[k])}' for k in wanted
              if k in got and got[k] != wanted[k]]
    parts = [f'{what} {items[:3]}' for what, items in (
        ('lacks the model weights', missing), ('has keys the model lacks', unexpected),
        ('has other shapes:', shapes)) if items]
    return '; '.join(parts)


def check_replay(folder: str, rounds: int, rate: float, model: nn.Module,
                 scope: PruneScope) -> List[float]:
    """Check the tickets ``masks_from`` replays against the search; return their sparsities.

    Every ``round_XX.safetensors`` for rounds 1..``rounds`` must exist, say it is of that round,
    have the sparsity ``rate`` gives after that many rounds (within 0.1 %), and cover exactly the
    weights ``scope`` selects in ``model``, with their shapes.

    Raises:
        FileNotFoundError: if ``folder`` is not a folder.
        ValueError: listing every mismatch, before any training.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'IMPHook: masks_from={folder} is not a folder; give the tickets '
                                'folder of an earlier search (<work_dir>/imp/tickets)')
    wanted = {name: tuple(p.shape) for name, p in scope.select(model).items()}
    problems, sparsities = [], []
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
        sparsities.append(ticket.sparsity)
    if problems:
        raise ValueError(
            f'IMPHook: masks_from={folder} does not hold the tickets of this search (rounds '
            f'1..{rounds} of rate {rate} on {type(model).__name__}): ' + '; '.join(problems[:6])
            + (f' ... ({len(problems)} problems)' if len(problems) > 6 else '')
            + '. Replay the tickets of a search with the same model, rounds and rate, or set '
            'rounds and rate to match them.')
    return sparsities
