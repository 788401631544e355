"""Segmentation tickets on built-in data: classification tickets transferred into DeepLabv3+.

The paper's segmentation transfer (its ImageNet tickets fine-tuned on VOC 2012), shrunk to
scikit-learn's digits and the demo segmenter of ``configs/demo/segmentation/``:

1. "pre-train" a digits classifier densely (ResNet-18 of width 32 with the torchvision stem, the
   digits placed at random in a 64-px frame); its last checkpoint is the pre-trained weights;
2. find tickets on that classification task with IMP, every round rewound to the pre-trained
   weights (``IMPHook(rewind='pt_trans')``);
3. train DeepLabv3+ (output stride 16) on digit canvases in the Pascal VOC 2012 layout from the
   DENSE pre-trained backbone, for every chosen round's sparsity with ``TicketHook`` holding (a)
   the IMP ticket or (b) a random ticket of exactly the same sparsity (``randomize=True``, drawn
   with the demo's seed); the round-0 ticket (dense) is the reference. Only the backbone is
   pruned; the decode head stays dense;
4. draw predicted masks of a few validation canvases beside the ground truth (``masks.png``).

The canvases are written into the demo's work dir before the first run (offline, deterministic).
The table gives the mIoU (%) of each segmenter's best-validation weights on the validation
canvases (unseen handwriting; as VOC, validation is the reported set).
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Dict, List, Tuple

from .base import (
    Demo,
    Run,
    classification_ticket_runs,
    positive,
    transfer_arguments,
    transfer_rounds,
)

CONFIGS = 'configs/demo/segmentation'
CANVAS = dict(canvas_size=(64, 64), digit_size=(20, 40), digits_per_image=(1, 2))


def arguments(parser: argparse.ArgumentParser) -> None:
    transfer_arguments(parser, 'digits classification', rounds=4, rate=0.5, epochs=12,
                       epochs_help='epochs per IMP round', pretrain_epochs=24,
                       transfer_help='2 and 4, those within --rounds, else the last round')
    parser.set_defaults(default_transfer_rounds=[2, 4])
    parser.add_argument('--iters', type=positive, default=500,
                        help='iterations of each segmenter run (batch 16; default: 500)')
    parser.add_argument('--canvases', type=positive, nargs=2, default=(800, 200),
                        metavar=('TRAIN', 'VAL'), help='digit canvases written: train and val')


def _data(args: argparse.Namespace) -> Path:
    return args.work_dir / 'digit_canvas_seg' / 'VOCdevkit' / 'VOC2012'


def prepare(args: argparse.Namespace) -> None:
    """Write the digit canvases under ``<work_dir>/digit_canvas_seg/VOCdevkit`` (afresh)."""
    from lth_mm.datasets.digit_canvas import write_voc_segmentation

    root = args.work_dir / 'digit_canvas_seg'
    shutil.rmtree(root, ignore_errors=True)
    train, val = args.canvases
    write_voc_segmentation(root, train=train, val=val, seed=0, **CANVAS)


def segmenter(args: argparse.Namespace, pretrained: str) -> Tuple[str, ...]:
    """Options of every segmenter run: the canvases, the pre-trained weights, the schedule
    (``iters`` iterations of poly decay, five validations)."""
    every = max(1, args.iters // 5)
    return (*(f'{split}_dataloader.dataset.data_root={_data(args)}'
              for split in ('train', 'val', 'test')),
            f'model.backbone.init_cfg.2.checkpoint={pretrained}',
            f'train_cfg.max_iters={args.iters}', f'train_cfg.val_interval={every}',
            f'param_scheduler.0.end={args.iters}')


def runs(args: argparse.Namespace) -> List[Run]:
    seg = segmenter(args, f'{{work}}/pretrain/epoch_{args.pretrain_epochs}.pth')  # step 1's last
    transfer = f'{CONFIGS}/transfer_deeplabv3plus_r18w32_digit_canvas.py'
    return classification_ticket_runs(
        args, 'segmentation', CONFIGS, (transfer, seg),
        (transfer, (*seg, 'custom_hooks.0.randomize=True', 'custom_hooks.0.seed={seed}')))


def draw_masks(args: argparse.Namespace, seed_dirs: Dict[int, Path]) -> List[Path]:
    """``masks.png``: four validation canvases, their ground truth, and the masks predicted by
    the best weights of the dense run and of the sparsest IMP and random tickets (first seed)."""
    import numpy as np
    from mmseg.apis import inference_model, init_model
    from PIL import Image

    from lth_mm.visualization import draw_segmentation

    folder = next(iter(seed_dirs.values()))
    last = transfer_rounds(args, 'segmentation')[-1]
    sparsity = 100 * (1 - (1 - args.rate) ** last)
    columns = {'dense': 'dense', f'IMP ticket {sparsity:.2f} %': f'imp_round_{last:02d}',
               f'random ticket {sparsity:.2f} %': f'random_round_{last:02d}'}
    data = _data(args)
    ids = (data / 'ImageSets' / 'Segmentation' / 'val.txt').read_text().split()[:4]
    images = [np.array(Image.open(data / 'JPEGImages' / f'{i}.jpg').convert('RGB')) for i in ids]
    truths = [np.array(Image.open(data / 'SegmentationClass' / f'{i}.png')) for i in ids]
    predictions = {}
    for title, run in columns.items():
        best = sorted((folder / run).glob('best_mIoU_iter_*.pth'))
        if len(best) != 1:
            raise SystemExit(f'demo segmentation: expected one best checkpoint in {folder / run}')
        config = next((folder / run).glob('*/vis_data/config.py'))
        model = init_model(str(config), str(best[0]), device='cpu')
        if 'test_pipeline' not in model.cfg:  # inference_model reads it; the test loader's
            model.cfg.test_pipeline = model.cfg.test_dataloader.dataset.pipeline
        predictions[title] = [
            inference_model(model, image[..., ::-1].copy()).pred_sem_seg.data[0].numpy()
            for image in images]
    path = args.work_dir / 'masks.png'
    draw_segmentation(images, truths, predictions, path=path, scale=3)
    return [path]


DEMO = Demo(
    name='segmentation',
    title='Segmentation tickets: digits classification -> DeepLabv3+ on digit canvases, '
    'ResNet-18 (w32)',
    notes='mIoU (%, 11 classes: background and the ten digits) of the best-validation weights of '
    'DeepLabv3+ (output stride 16) on 64-px digit canvases of unseen handwriting. Its ResNet-18 '
    'backbone starts from the DENSE weights pre-trained on digits classification and holds, '
    'through training, the IMP ticket of that round (found on classification, rewinding to the '
    'pre-trained weights) or a random ticket of exactly the same sparsity; the decode head is '
    'dense. Round 0 is the dense backbone (both columns show the same run).',
    runs=runs, arguments=arguments, prepare=prepare, finish=draw_masks,
    quick=dict(pretrain_epochs=1, rounds=1, epochs=1, iters=6, default_transfer_rounds=[1],
               canvases=(32, 16)),
    columns=('IMP ticket', 'random ticket'))
