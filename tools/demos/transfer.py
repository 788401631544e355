"""Ticket transfer on built-in data: IMP tickets of digits 0-4 fine-tuned on digits 5-9.

The paper's transfer experiment (section 3 of the reference), shrunk to scikit-learn's digits and
a ResNet-18 of width 32:

1. "pre-train" densely on digits 0-4 (the source task); its last checkpoint is the pre-trained
   weights;
2. find tickets on the source task with IMP, every round rewound to the pre-trained weights
   (``IMPHook(rewind='pt_trans')``, as the paper does for its ImageNet tickets);
3. transfer to digits 5-9 (relabelled 0-4): for every chosen round's sparsity, fine-tune once from
   the DENSE pre-trained weights with ``TicketHook`` holding (a) the IMP ticket or (b) a random
   ticket of exactly the same sparsity (``randomize=True``); (c) dense fine-tuning (the round-0
   ticket) and (d) dense training from scratch are the references. The classifier head is
   re-initialised for the new task (same seed in every run).

Then, per transferred round, the ticket report (``reports/round_XX``) of the IMP ticket against
the random ticket trained beside it, and the results table over all runs (``results/``).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict, List

from lth_mm.core import Ticket

from .base import WIDTH8, Demo, Report, Run, schedule, transfer_arguments, transfer_rounds

CONFIGS = 'configs/demo/transfer'
TICKETS = '{work}/imp/imp/tickets'


def arguments(parser: argparse.ArgumentParser) -> None:
    transfer_arguments(parser, 'digits 0-4', rounds=5, rate=0.6, epochs=6,
                       epochs_help='epochs per IMP round and per fine-tuning run')
    parser.add_argument('--no-scratch', action='store_true',
                        help='skip the from-scratch reference on digits 5-9')


def runs(args: argparse.Namespace) -> List[Run]:
    width = WIDTH8 if args.quick else ()
    pretrained = f'load_from={{work}}/pretrain/epoch_{args.pretrain_epochs}.pth'
    chosen = transfer_rounds(args, 'transfer')
    fine_tune = (*schedule(args.epochs), *width)
    out = [
        Run('pretrain', f'{CONFIGS}/pretrain_digits04_resnet18_w32.py',
            (*schedule(args.pretrain_epochs), *width)),
        Run('imp', f'{CONFIGS}/imp_digits04_resnet18_w32.py',
            (*fine_tune, pretrained, f'custom_hooks.0.rounds={args.rounds}',
             f'custom_hooks.0.rate={args.rate}'), ('IMP on 0-4', ), needs=('pretrain', )),
        Run('dense', f'{CONFIGS}/transfer_digits59_resnet18_w32.py',
            (*fine_tune, pretrained, f'custom_hooks.0.ticket={TICKETS}/round_00.safetensors'),
            ('IMP ticket', 'random ticket'), round=0, needs=('imp', )),
    ]
    for rnd in chosen:
        ticket = f'custom_hooks.0.ticket={TICKETS}/round_{rnd:02d}.safetensors'
        out += [Run(f'imp_round_{rnd:02d}', f'{CONFIGS}/transfer_digits59_resnet18_w32.py',
                    (*fine_tune, pretrained, ticket), ('IMP ticket', ), rnd, ('imp', )),
                Run(f'random_round_{rnd:02d}', f'{CONFIGS}/transfer_digits59_resnet18_w32.py',
                    (*fine_tune, pretrained, ticket, 'custom_hooks.0.randomize=True',
                     'custom_hooks.0.seed={seed}'),
                    ('random ticket', ), rnd, ('imp', ))]
    if not args.no_scratch:  # dense (the round-0 ticket) from a random initialisation
        out.append(Run('scratch', f'{CONFIGS}/transfer_digits59_resnet18_w32.py',
                       (*fine_tune, 'load_from=None',
                        f'custom_hooks.0.ticket={TICKETS}/round_00.safetensors'),
                       ('from scratch', ), 0, ('imp', )))
    return out


def trained_ticket(work_dir: Path) -> Path:
    """The ticket a TicketHook run trained under (it saves it), checked against its record."""
    recorded = json.loads((work_dir / 'ticket' / 'summary.json').read_text())[0]['ticket_digest']
    path = work_dir / 'ticket' / 'ticket.safetensors'
    if Ticket.load(path).digest() != recorded:
        raise SystemExit(f'demo transfer: {path} is not the ticket {recorded} its run recorded')
    return path


def reports(args: argparse.Namespace, seed_dirs: Dict[int, Path]) -> List[Report]:
    """At each transferred sparsity, the IMP ticket against the random ticket fine-tuned beside
    it (read from that run's checkpoint), every seed in one report; random tickets that are the
    same mask for several seeds (TicketHook draws them with its own seed) are shown once."""
    several = len(seed_dirs) > 1
    out = []
    for rnd in transfer_rounds(args, args.demo):  # the rounds transferred, as the runs
        tickets = [folder / f'imp/imp/tickets/round_{rnd:02d}.safetensors'
                   for folder in seed_dirs.values()]
        labels = [f'IMP s{seed}' if several else 'IMP' for seed in seed_dirs]
        randoms: Dict[str, List[int]] = {}
        for seed, folder in seed_dirs.items():
            run = folder / f'random_round_{rnd:02d}'
            digest = json.loads((run / 'ticket' / 'summary.json').read_text())[0]['ticket_digest']
            if digest not in randoms:
                tickets.append(trained_ticket(run))
            randoms.setdefault(digest, []).append(seed)
        labels += [f'random s{",".join(map(str, seeds))}' if several else 'random'
                   for seeds in randoms.values()]
        sparsity = 100 * (1 - (1 - args.rate) ** rnd)
        out.append(Report(tuple(tickets), tuple(labels),
                          args.work_dir / 'reports' / f'round_{rnd:02d}',
                          f'transferred IMP ticket vs random ticket at round {rnd} '
                          f'({sparsity:.2f} % sparse)'))
    return out


DEMO = Demo(
    name='transfer', title='Ticket transfer: digits 0-4 -> digits 5-9, ResNet-18 (width 32)',
    notes='Test accuracy (%) at the best-validation epoch. IMP ticket / random ticket: digits '
    '5-9, fine-tuned once from the dense weights pre-trained on digits 0-4 with the IMP ticket of '
    'that round (found on 0-4, rewinding to the pre-trained weights) or a random ticket of the '
    'same sparsity; round 0 is dense fine-tuning (both columns show the same run). From scratch: '
    'dense training on 5-9 from a random initialisation. IMP on 0-4: the search on the source '
    'task itself.',
    runs=runs, arguments=arguments,
    quick=dict(pretrain_epochs=1, rounds=2, rate=0.6, epochs=1, default_transfer_rounds=[2]),
    columns=('IMP ticket', 'random ticket', 'from scratch', 'IMP on 0-4'),
    plot_columns=('IMP ticket', 'random ticket', 'from scratch'), reports=reports, results=True)
