"""Self-supervised tickets on built-in data: IMP on MoCo v2 over digits, transferred to digits.

The paper's half on self-supervised pre-training, shrunk to scikit-learn's digits and a ResNet-18
of width 32:

1. pre-train densely with MMPretrain's MoCo v2 on the digits, labels unused;
2. find tickets on the MoCo task itself (``IMPHook`` with ``train_dense_round=False``: the
   pre-trained weights are pruned first; the mask is shared by the momentum encoder);
3. transfer to digits classification: for each chosen round, fine-tune once from the DENSE MoCo
   weights with (a) the MoCo ticket or (b) a random ticket of the same sparsity; (c) dense
   fine-tuning (round 0) and (d) dense training from scratch are the references;
4. a ticket report (``tools/ticket.py report``) of the MoCo ticket against the random ticket at
   each transferred sparsity.
"""
from __future__ import annotations

import argparse
from typing import List

from .base import WIDTH8, Demo, Run, positive, schedule, search_arguments, transfer_rounds
from .transfer import reports

CONFIGS = 'configs/demo/selfsup'
TICKETS = '{work}/imp/imp/tickets'
TRANSFER = f'{CONFIGS}/transfer_digits_resnet18_w32.py'
#: --quick: width 8 for the MoCo model too (its neck reads the backbone's 64 channels).
MOCO8 = WIDTH8[:2] + ('model.neck.in_channels=64', 'model.neck.hid_channels=64')


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--pretrain-epochs', type=positive, default=30,
                        help='epochs of dense MoCo pre-training (default: 30)')
    search_arguments(parser, 4, 0.5, 5, 'IMP rounds on the MoCo task', 'MoCo epochs per round',
                     '--round-epochs')
    parser.add_argument('--epochs', type=positive, default=12,
                        help='epochs per fine-tuning run (default: 12)')
    parser.add_argument('--transfer-rounds', type=positive, nargs='+',
                        help="which rounds' tickets to transfer (default: all)")


def runs(args: argparse.Namespace) -> List[Run]:
    chosen = transfer_rounds(args, 'selfsup')
    pretrained = f'load_from={{work}}/pretrain/epoch_{args.pretrain_epochs}.pth'
    moco = MOCO8 if args.quick else ()
    fine_tune = (*schedule(args.epochs), *(WIDTH8 if args.quick else ()), pretrained)
    dense = f'custom_hooks.0.ticket={TICKETS}/round_00.safetensors'
    out = [
        Run('pretrain', f'{CONFIGS}/mocov2_digits_resnet18_w32.py',
            (f'train_cfg.max_epochs={args.pretrain_epochs}',
             f'param_scheduler.0.T_max={args.pretrain_epochs}',
             f'param_scheduler.0.end={args.pretrain_epochs}', *moco)),
        Run('imp', f'{CONFIGS}/imp_mocov2_digits_resnet18_w32.py',
            (f'train_cfg.max_epochs={args.round_epochs}', f'custom_hooks.0.rounds={args.rounds}',
             f'custom_hooks.0.rate={args.rate}', pretrained, *moco), needs=('pretrain', )),
        Run('dense', TRANSFER, (*fine_tune, dense), ('MoCo ticket', 'random ticket'), 0,
            ('imp', )),
        Run('scratch', TRANSFER, (*fine_tune, 'load_from=None', dense), ('from scratch', ), 0,
            ('imp', )),
    ]
    for rnd in chosen:
        ticket = f'custom_hooks.0.ticket={TICKETS}/round_{rnd:02d}.safetensors'
        out += [Run(f'moco_round_{rnd:02d}', TRANSFER, (*fine_tune, ticket), ('MoCo ticket', ),
                    rnd, ('imp', )),
                Run(f'random_round_{rnd:02d}', TRANSFER,
                    (*fine_tune, ticket, 'custom_hooks.0.randomize=True',
                     'custom_hooks.0.seed={seed}'), ('random ticket', ), rnd, ('imp', ))]
    return out


DEMO = Demo(
    name='selfsup', title='MoCo v2 tickets on digits -> digits classification, ResNet-18 (w32)',
    notes='Test accuracy (%) at the best-validation epoch of digits classification, fine-tuned '
    'once from the dense MoCo v2 weights (pre-trained on the digits without labels) with the '
    'ticket IMP found on the MoCo task itself (MoCo ticket) or a random ticket of the same '
    'sparsity; round 0 is dense fine-tuning (both columns show the same run); from scratch: '
    'dense training from a random initialisation. The search itself records its MoCo loss per '
    'round in imp/imp/summary.csv.',
    runs=runs, arguments=arguments,
    quick=dict(pretrain_epochs=1, rounds=2, rate=0.5, round_epochs=1, epochs=1,
               default_transfer_rounds=[2]),
    columns=('MoCo ticket', 'random ticket', 'from scratch'), reports=reports)
