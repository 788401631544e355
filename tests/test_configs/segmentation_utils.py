"""Shared pieces of the segmentation config tests.

The segmentation configs (``configs/segmentation`` and the demo's segmentors in
``configs/demo/segmentation``), small Pascal VOC 2012 data written by
:func:`lth_mm.datasets.write_voc_segmentation`, and :func:`shrink`, which turns a config into a
few CPU iterations on that data while everything else (model, pipelines, losses, metric, hooks)
stays as configured.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope

from lth_mm.datasets import write_voc_segmentation

from .conftest import CONFIGS, own_outputs
from .test_config_build import walk

SEG = CONFIGS / 'segmentation'
SEG_DEMO = CONFIGS / 'demo' / 'segmentation'

#: The paper's checkpoint files and the layout tests/test_configs/conftest.py writes for each.
PAPER_FILES = {
    'checkpoints/imagenet_weight.pt': 'torchvision',
    'checkpoints/simclr_weight.pt': 'simclr',
    'checkpoints/moco_v2_800ep_pretrain.pth.tar': 'moco_v2',
}
#: Small canvases for the tests (the generator's default is 128 x 128).
CANVAS_OPTIONS = dict(canvas_size=(64, 64), digit_size=(16, 32), digits_per_image=(1, 3))


def is_segmentor(path: Path) -> bool:
    """The demo's segmentation configs are named ``*deeplabv3plus*``; its other steps classify."""
    return 'deeplabv3plus' in path.name


def segmentation_configs() -> list[Path]:
    """Every segmentor config meant to be run: ``configs/segmentation`` and the demo's."""
    found = [p for p in SEG.rglob('*.py') if '_base_' not in p.relative_to(CONFIGS).parts]
    found += [p for p in SEG_DEMO.glob('*.py') if is_segmentor(p)]
    return sorted(found)


def mmseg_default_scope() -> Iterator[None]:
    """Build from MMSegmentation's registries, as a Runner with ``default_scope='mmseg'``."""
    import mmseg.utils
    mmseg.utils.register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def write_small_voc(root: Path) -> Path:
    """4 train, 2 val and 2 augmented-set canvases of 64 x 64; returns ``.../VOC2012``."""
    write_voc_segmentation(root, train=4, val=2, aug=2, seed=1, **CANVAS_OPTIONS)
    return root / 'VOCdevkit' / 'VOC2012'


def datasets(loader: ConfigDict) -> list[ConfigDict]:
    """The datasets of a dataloader config (the children of a ``ConcatDataset``)."""
    dataset = loader.dataset
    return list(dataset.datasets) if dataset.type == 'ConcatDataset' else [dataset]


def shrink(cfg: Config, data_root: Path, work_dir: Path, size: int = 64, iters: int = 2,
           checkpoint: Callable[[str], Path] | None = None) -> Config:
    """A few CPU iterations on small data; only sizes, counts and paths change.

    The datasets read ``data_root``; the resize scales and crops of the pipelines become
    ``(2 * size, size)`` and ``size`` (512 in the paper's configs), batches 2 images (validation 1,
    as MMSegmentation's), the schedule ``iters`` iterations with one validation at the end; a
    ``MappedPretrained`` checkpoint of the paper is replaced by ``checkpoint(layout)`` (a file in
    the same layout, see conftest.py).
    """
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(batch_size=2 if split == 'train' else 1, num_workers=0,
                      persistent_workers=False)
        for dataset in datasets(loader):
            dataset.data_root = str(data_root)
            dataset.serialize_data = False  # no pickling + gc.collect() of a few file names
            for step in dataset.pipeline:
                if step.type in ('RandomResize', 'Resize') and 'scale' in step:
                    step.scale = (2 * size, size)
                elif step.type == 'RandomCrop':
                    step.crop_size = (size, size)
                elif step.type == 'Pad':
                    step.size = (size, size)
    cfg.model.data_preprocessor.size = (size, size)
    cfg.train_cfg.update(max_iters=iters, val_interval=iters)
    cfg.default_hooks.logger.interval = 1
    own_outputs(cfg, work_dir, 'test_segmentation')  # best checkpoint only (330 MB otherwise)
    if checkpoint is not None:
        for init in walk(cfg.model):
            if init.get('type') == 'MappedPretrained' and init['checkpoint'] in PAPER_FILES:
                init.checkpoint = str(checkpoint(PAPER_FILES[init['checkpoint']]))
    return cfg


def pruned_weights_are_zero(model: torch.nn.Module, ticket: Any) -> list[str]:
    """The ticket's tensors with a non-zero pruned weight in ``model`` (empty: all are zero)."""
    params = dict(model.named_parameters())
    return [name for name, mask in ticket.items()
            if torch.count_nonzero(params[name].detach()[~mask])]
