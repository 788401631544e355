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
        options: ``--cfg-options`` entries; ``{work}`` stands for the seed's work dir, ``{seed}``
            for the seed.
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
class Metric:
    """A test metric a demo tables, from each ``TicketHook`` run's test of its best weights.

    Args:
        label: Its name in the table (``'AP50'``).
        key: Its key in the test's metrics (``'pascal_voc/AP50'``).
        scale: Factor shown (100: a fraction as %).
    """

    label: str
    key: str
    scale: float = 1.0


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
        prepare: Makes what the runs read (offline data) under ``args.work_dir``: called once
            before the first run starts, whatever the seeds.
        finish: Makes more output once the tables are written (a picture, say), from the parsed
            arguments and the work dir of each seed; returns the files it wrote.
        metrics: One table per metric (the first is the summary's CSV rows and plot): the test
            metrics of each ``TicketHook`` run's best weights. Default: one table of the
            records' ``test_metric``.
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
    prepare: Optional[Callable[[argparse.Namespace], None]] = None
    metrics: Sequence[Metric] = ()
    finish: Optional[Callable[[argparse.Namespace, Dict[int, Path]], List[Path]]] = None


def at_least(low: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer >= ``low``, refused at parse time otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'{text!r} is not an integer') from None
        if value < low:
            raise argparse.ArgumentTypeError(f'{value} is below {low}')
        return value

    return parse


#: An integer >= 1 (rounds, epochs, iterations, jobs).
positive = at_least(1)


def fraction(text: str) -> float:
    """An argparse ``type``: a number strictly between 0 and 1 (a pruning rate)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a number') from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f'{value} is not in (0, 1)')
    return value


def schedule(epochs: int) -> Tuple[str, ...]:
    """Options for an ``epochs``-long round of the digits recipe (LR x0.1 at 50 % and 75 %)."""
    return (f'train_cfg.max_epochs={epochs}',
            f'param_scheduler.1.milestones=[{max(1, epochs // 2)},{max(1, 3 * epochs // 4)}]')


#: --quick: a width-8 network (the digits ResNet-18 is width 32).
WIDTH8 = ('model.backbone.stem_channels=8', 'model.backbone.base_channels=8',
          'model.head.in_channels=64')


def search_arguments(parser: argparse.ArgumentParser, rounds: int, rate: float, epochs: int,
                     rounds_help: str, epochs_help: str, epochs_flag: str = '--epochs') -> None:
    """``--rounds``, ``--rate`` and the epochs of a round (``epochs_flag``) of an IMP search."""
    parser.add_argument('--rounds', type=positive, default=rounds,
                        help=f'{rounds_help} (default: {rounds})')
    parser.add_argument('--rate', type=fraction, default=rate,
                        help=f'fraction pruned per round (default: {rate})')
    parser.add_argument(epochs_flag, type=positive, default=epochs,
                        help=f'{epochs_help} (default: {epochs})')


def transfer_arguments(parser: argparse.ArgumentParser, source: str, rounds: int, rate: float,
                       epochs: int, epochs_help: str, pretrain_epochs: int = 12,
                       transfer_help: str = 'all') -> None:
    """The arguments of a demo that transfers the tickets of an IMP search (``rounds`` of
    ``rate``, ``epochs`` each) on a network pre-trained on ``source`` (``pretrain_epochs``);
    ``transfer_help`` says which rounds are transferred by default."""
    parser.add_argument('--pretrain-epochs', type=positive, default=pretrain_epochs,
                        help=f'epochs of dense pre-training on {source} (default: '
                        f'{pretrain_epochs})')
    search_arguments(parser, rounds, rate, epochs, 'IMP pruning rounds after round 0',
                     epochs_help)
    parser.add_argument('--transfer-rounds', type=positive, nargs='+',
                        help=f"which rounds' tickets to transfer (default: {transfer_help})")


def transfer_rounds(args: argparse.Namespace, demo: str) -> List[int]:
    """The rounds whose tickets are transferred (``--transfer-rounds``, checked), by default
    all, or the demo's own choice (``default_transfer_rounds``) within ``--rounds`` (the last
    round where none of them is)."""
    chosen = args.transfer_rounds
    default = getattr(args, 'default_transfer_rounds', None)
    if not chosen:
        chosen = ([r for r in default if r <= args.rounds] or [args.rounds] if default
                  else range(1, args.rounds + 1))
    bad = [r for r in chosen if not 1 <= r <= args.rounds]
    if bad:
        raise SystemExit(f'demo {demo}: --transfer-rounds {bad} not in 1..{args.rounds}')
    return sorted(set(chosen))


def classification_ticket_runs(args: argparse.Namespace, demo: str, configs: str,
                               transfer: Tuple[str, Tuple[str, ...]],
                               random: Tuple[str, Tuple[str, ...]]) -> List[Run]:
    """The runs of a demo that transfers digits-classification tickets into another task.

    ``pretrain`` (dense digits classifier, ``configs/pretrain_digits_resnet18_w32.py``), ``imp``
    (IMP on that task from its last checkpoint, ``configs/imp_digits_resnet18_w32.py``), then the
    downstream runs: ``dense`` (round 0's ticket, both columns) and, for each chosen round,
    ``imp_round_XX`` (``transfer``: a config and its options, given the round's ticket as
    ``custom_hooks.0.ticket``) and ``random_round_XX`` (``random``: the same for a random ticket of
    that sparsity; ``{seed}`` in an option is the demo's seed).
    """
    pretrained = f'{{work}}/pretrain/epoch_{args.pretrain_epochs}.pth'  # step 1's last
    tickets = '{work}/imp/imp/tickets'
    (config, options), (random_config, random_options) = transfer, random
    out = [
        Run('pretrain', f'{configs}/pretrain_digits_resnet18_w32.py',
            schedule(args.pretrain_epochs)),
        Run('imp', f'{configs}/imp_digits_resnet18_w32.py',
            (*schedule(args.epochs), f'load_from={pretrained}',
             f'custom_hooks.0.rounds={args.rounds}', f'custom_hooks.0.rate={args.rate}'),
            needs=('pretrain', )),
        Run('dense', config, (*options, f'custom_hooks.0.ticket={tickets}/round_00.safetensors'),
            ('IMP ticket', 'random ticket'), round=0, needs=('imp', )),
    ]
    for rnd in transfer_rounds(args, demo):
        ticket = f'custom_hooks.0.ticket={tickets}/round_{rnd:02d}.safetensors'
        out += [Run(f'imp_round_{rnd:02d}', config, (*options, ticket), ('IMP ticket', ), rnd,
                    ('imp', )),
                Run(f'random_round_{rnd:02d}', random_config, (*random_options, ticket),
                    ('random ticket', ), rnd, ('imp', ))]
    return out
