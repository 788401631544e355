"""What a demo is: a list of training runs and the table their records make."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

#: The demo's own arguments (beyond the runner's) and the values --quick gives them.
Arguments = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Run:
    """One ``tools/train.py`` run of a demo.

    Args:
        name: Its folder under the demo's work dir (per seed), and its name in messages.
        config: The config, relative to the repository root.
        options: ``--cfg-options`` entries; ``{work}`` stands for the seed's work dir.
        columns: The table columns its record rows fill (none: not in the table); an ``IMPHook`` run
            gives one row per round, a ``TicketHook`` run one row, placed at ``round``.
        round: The round a ``TicketHook`` run's row stands at.
        needs: Runs (by name) that must have finished first.
    """

    name: str
    config: str
    options: Tuple[str, ...] = ()
    columns: Tuple[str, ...] = ()
    round: Optional[int] = None
    needs: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """A ticket report (``tools/ticket.py report``) a demo writes after its runs.

    Args:
        tickets: The ticket files, of one architecture.
        labels: One per ticket.
        out: Its folder (under the demo's work dir).
        title: What it compares, printed above its summary.
    """

    tickets: Tuple[Path, ...]
    labels: Tuple[str, ...]
    out: Path
    title: str = ''


#: Builds a demo's ticket reports once its runs are done, from the parsed arguments and the work
#: dir of each seed. It may first write ticket files the reports read (say, a ticket a run
#: trained under, read from its checkpoint), under the demo's work dir.
Reports = Callable[[argparse.Namespace, Dict[int, Path]], List[Report]]


@dataclass(frozen=True)
class Demo:
    """A demo: its runs, built from the parsed arguments, and how its table reads.

    Args:
        name: The command-line name (``python tools/demo.py NAME``).
        title: The summary's title.
        notes: What the table's numbers are (printed and written above it).
        runs: Builds the runs from the parsed arguments (``args.quick`` included).
        arguments: Adds the demo's own arguments to its parser.
        quick: Argument values ``--quick`` sets: a smoke test of the whole demo.
        columns: The table's column order (default: as the runs give them).
        plot_columns: The columns drawn in ``curve.png`` (default: all).
        reports: The ticket reports to write after the runs (default: none).
        results: Also write the results table over its runs (``tools/ticket.py results``) into
            ``<work_dir>/results``.
    """

    name: str
    title: str
    notes: str
    runs: Callable[[argparse.Namespace], List[Run]]
    arguments: Arguments = lambda parser: None
    quick: Dict[str, object] = field(default_factory=dict)
    columns: Optional[Sequence[str]] = None
    plot_columns: Optional[Sequence[str]] = None
    reports: Optional[Reports] = None
    results: bool = False


def schedule(epochs: int) -> Tuple[str, ...]:
    """Options for an ``epochs``-long round of the digits recipe (LR x0.1 at 50 % and 75 %)."""
    return (f'train_cfg.max_epochs={epochs}',
            f'param_scheduler.1.milestones=[{max(1, epochs // 2)},{max(1, 3 * epochs // 4)}]')


#: --quick: a width-8 network (the digits ResNet-18 is width 32).
WIDTH8 = ('model.backbone.stem_channels=8', 'model.backbone.base_channels=8',
          'model.head.in_channels=64')
