"""The main demo: an IMP ticket search on scikit-learn's digits beside two baselines.

Three searches of an MMPretrain ResNet-18 (CIFAR stem, width 32) on the 8x8 digits, each
``rounds + 1`` rounds at the same sparsities: IMP (magnitude pruning, rewound to the random
initialisation: the lottery ticket), iterative random pruning (a random mask of the same
sparsity), and the IMP masks with a fresh random initialisation every round. Then the ticket
report (``reports/round_XX``) of the IMP tickets against the random masks at the round nearest
the sparsity of the paper's mask figure.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List

from .base import WIDTH8, Demo, Report, Run, positive, schedule, search_arguments

CONFIGS = 'configs/demo'
#: The sparsity of the paper's mask figure (7 rounds of 20 %): the default round of the report.
FIGURE_SPARSITY = 1 - 0.8 ** 7


def arguments(parser: argparse.ArgumentParser) -> None:
    search_arguments(parser, 10, 0.4, 12, 'pruning rounds after round 0', 'epochs per round')
    parser.add_argument('--report-round', type=positive,
                        help='round of the ticket report, IMP ticket against random mask '
                        '(default: the round nearest 79.03 %% sparsity, the paper\'s figure)')


def runs(args: argparse.Namespace) -> List[Run]:
    report_round(args)  # a bad --report-round fails now, not after the runs
    common = (f'custom_hooks.0.rounds={args.rounds}', f'custom_hooks.0.rate={args.rate}',
              *schedule(args.epochs), *(WIDTH8 if args.quick else ()))
    return [
        Run('imp', f'{CONFIGS}/imp_digits_resnet18_w32.py', common, ('IMP ticket', )),
        Run('random', f'{CONFIGS}/random_digits_resnet18_w32.py', common, ('random mask', )),
        Run('reinit', f'{CONFIGS}/reinit_digits_resnet18_w32.py',
            common + ('custom_hooks.0.masks_from={work}/imp/imp/tickets', ),
            ('IMP mask, re-init', ), needs=('imp', )),
    ]


def report_round(args: argparse.Namespace) -> int:
    """``--report-round``, or the round whose sparsity is nearest the paper's mask figure."""
    if args.report_round is not None:
        if not 1 <= args.report_round <= args.rounds:
            raise SystemExit(f'demo imp: --report-round {args.report_round} not in '
                             f'1..{args.rounds}')
        return args.report_round
    return min(range(1, args.rounds + 1),
               key=lambda r: abs(1 - (1 - args.rate) ** r - FIGURE_SPARSITY))


def reports(args: argparse.Namespace, seed_dirs: Dict[int, Path]) -> List[Report]:
    """The IMP tickets against the random masks at one round, all seeds in one report. (The
    re-init run replays the IMP masks, so its masks are the IMP ticket's.)"""
    rnd = report_round(args)
    name = f'imp/tickets/round_{rnd:02d}.safetensors'
    several = len(seed_dirs) > 1
    tickets, labels = [], []
    for run, label in (('imp', 'IMP'), ('random', 'random')):
        for seed, folder in seed_dirs.items():
            tickets.append(folder / run / name)
            labels.append(f'{label} s{seed}' if several else label)
    sparsity = 100 * (1 - (1 - args.rate) ** rnd)
    return [Report(tuple(tickets), tuple(labels), args.work_dir / 'reports' / f'round_{rnd:02d}',
                   f'IMP ticket vs random mask at round {rnd} ({sparsity:.2f} % sparse)')]


DEMO = Demo(
    name='imp', title='IMP ticket search on digits, ResNet-18 (width 32)',
    notes='Test accuracy (%) at the best-validation epoch of each round; every column prunes to '
    'the same sparsities. IMP ticket: magnitude pruning, rewound to the random initialisation. '
    'Random mask: iterative random pruning. IMP mask, re-init: the IMP masks, each round from a '
    'fresh random initialisation.',
    runs=runs, arguments=arguments, quick=dict(rounds=2, rate=0.6, epochs=1), reports=reports)
