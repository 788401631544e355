"""Detection tickets on built-in data: classification tickets transferred into a YOLO detector.

The paper's detection transfer (its ImageNet tickets fine-tuned on VOC), shrunk to scikit-learn's
digits and the demo detector of ``configs/demo/detection/``:

1. "pre-train" the digits classifier densely (ResNet-18 of width 32, all ten digits); its last
   checkpoint is the pre-trained weights;
2. find tickets on digits classification with IMP, every round rewound to the pre-trained weights
   (``IMPHook(rewind='pt_trans')``, as the paper's ImageNet tickets);
3. train the YOLO detector (that ResNet-18 as its backbone, MMDetection's YOLOv3 neck and head)
   on digit canvases in the Pascal VOC layout, from the DENSE pre-trained backbone, for every
   chosen round's sparsity with ``TicketHook`` holding (a) the IMP ticket or (b) a random ticket
   of exactly the same sparsity (``randomize=True``, drawn with the demo's seed); the round-0
   ticket (dense) is the reference. Only the backbone is pruned; neck and head stay dense.

The canvases are written into the demo's work dir before the first run (offline and
deterministic: the same images every time), and the detectors read them there. The tables give
the test AP, AP50 and AP75 (%) of each detector's best-validation weights.
"""
from __future__ import annotations

import argparse
import shutil
from typing import List, Tuple

from .base import (
    Demo,
    Metric,
    Run,
    at_least,
    classification_ticket_runs,
    positive,
    transfer_arguments,
)

CONFIGS = 'configs/demo/detection'


def arguments(parser: argparse.ArgumentParser) -> None:
    transfer_arguments(parser, 'digits classification', rounds=2, rate=0.75, epochs=12,
                       epochs_help='epochs per IMP round')
    parser.add_argument('--iters', type=at_least(2), default=300,
                        help='iterations of each detector run (batch 16; at least 2: warm-up, '
                        'then cosine decay; default: 300)')
    parser.add_argument('--canvases', type=positive, nargs=2, default=(800, 400),
                        metavar=('TRAINVAL', 'TEST'),
                        help='digit canvases written: trainval (half train, half val) and test')


def prepare(args: argparse.Namespace) -> None:
    """Write the digit canvases under ``<work_dir>/digit_canvas/VOCdevkit`` (afresh)."""
    from lth_mm.datasets.digit_canvas import write_voc_detection

    root = args.work_dir / 'digit_canvas'
    shutil.rmtree(root, ignore_errors=True)
    trainval, test = args.canvases
    write_voc_detection(root, trainval=trainval, test=test, seed=0)


def detector(args: argparse.Namespace, pretrained: str) -> Tuple[str, ...]:
    """Options of every detector run: the canvases, the pre-trained weights, the schedule
    (``iters`` iterations: warm-up, cosine decay, validations halfway and at the end)."""
    data = f'{args.work_dir / "digit_canvas" / "VOCdevkit"}/'
    iters = args.iters
    warmup, every = max(1, min(50, iters // 8)), max(1, iters // 2)
    return (*(f'{split}_dataloader.dataset.data_root={data}' for split in ('train', 'val', 'test')),
            f'model.backbone.init_cfg.2.checkpoint={pretrained}',
            f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={every}',
            f'default_hooks.checkpoint.interval={every}', f'param_scheduler.0.end={warmup}',
            f'param_scheduler.1.begin={warmup}', f'param_scheduler.1.end={iters}',
            f'param_scheduler.1.T_max={iters - warmup}')


def runs(args: argparse.Namespace) -> List[Run]:
    det = detector(args, f'{{work}}/pretrain/epoch_{args.pretrain_epochs}.pth')  # step 1's last
    return classification_ticket_runs(
        args, 'detection', CONFIGS, (f'{CONFIGS}/transfer_yolo_r18w32_digit_canvas.py', det),
        (f'{CONFIGS}/random_yolo_r18w32_digit_canvas.py', (*det, 'custom_hooks.0.seed={seed}')))


DEMO = Demo(
    name='detection',
    title='Detection tickets: digits classification -> YOLO on digit canvases, ResNet-18 (w32)',
    notes='Test AP, AP50 and AP75 (%, VOC 11-point AP; AP is the mean over IoU 0.50:0.95) of the '
    'best-validation weights of the YOLO detector on digit canvases. Its ResNet-18 backbone '
    'starts from the DENSE weights pre-trained on digits classification and holds, through '
    'training, the IMP ticket of that round (found on classification, rewinding to the '
    'pre-trained weights) or a random ticket of exactly the same sparsity; neck and head are '
    'dense. Round 0 is the dense backbone (both columns show the same run).',
    runs=runs, arguments=arguments, prepare=prepare,
    quick=dict(pretrain_epochs=1, rounds=1, epochs=1, iters=8, default_transfer_rounds=[1],
               canvases=(32, 16)),
    columns=('IMP ticket', 'random ticket'),
    metrics=(Metric('AP', 'pascal_voc/mAP', 100), Metric('AP50', 'pascal_voc/AP50', 100),
             Metric('AP75', 'pascal_voc/AP75', 100)))
