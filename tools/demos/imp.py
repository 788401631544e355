"""The main demo: an IMP ticket search on scikit-learn's digits beside two baselines.

Three searches of an MMPretrain ResNet-18 (CIFAR stem, width 32) on the 8x8 digits, each
``rounds + 1`` rounds at the same sparsities: IMP (magnitude pruning, rewound to the random
initialisation: the lottery ticket), iterative random pruning (a random mask of the same
sparsity), and the IMP masks with a fresh random initialisation every round.
"""
from __future__ import annotations

import argparse
from typing import List

from .base import WIDTH8, Demo, Run, schedule

CONFIGS = 'configs/demo'


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--rounds', type=int, default=10, help='pruning rounds after round 0')
    parser.add_argument('--rate', type=float, default=0.4, help='fraction pruned per round')
    parser.add_argument('--epochs', type=int, default=12, help='epochs per round')


def runs(args: argparse.Namespace) -> List[Run]:
    common = (f'custom_hooks.0.rounds={args.rounds}', f'custom_hooks.0.rate={args.rate}',
              *schedule(args.epochs), *(WIDTH8 if args.quick else ()))
    return [
        Run('imp', f'{CONFIGS}/imp_digits_resnet18_w32.py', common, ('IMP ticket', )),
        Run('random', f'{CONFIGS}/random_digits_resnet18_w32.py', common, ('random mask', )),
        Run('reinit', f'{CONFIGS}/reinit_digits_resnet18_w32.py',
            common + ('custom_hooks.0.masks_from={work}/imp/imp/tickets', ),
            ('IMP mask, re-init', ), needs=('imp', )),
    ]


DEMO = Demo(
    name='imp', title='IMP ticket search on digits, ResNet-18 (width 32)',
    notes='Test accuracy (%) at the best-validation epoch of each round; every column prunes to '
    'the same sparsities. IMP ticket: magnitude pruning, rewound to the random initialisation. '
    'Random mask: iterative random pruning. IMP mask, re-init: the IMP masks, each round from a '
    'fresh random initialisation.',
    runs=runs, arguments=arguments, quick=dict(rounds=2, rate=0.6, epochs=1))
