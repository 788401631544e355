"""The segmentation demo's configs chain together: classification pre-training, IMP on it, and the
transfer of its ticket into the small DeepLabv3+ on digit canvases.

Each step runs its own config, shortened (one epoch per round, two segmentation iterations, a few
canvases written here in the VOC 2012 layout) with the paths of the earlier steps, as the demo
runner will: the segmenter loads the classifier's weights whole (stem included) and holds the
IMP ticket (19 convs after the stem, MMPretrain names) with its pruned weights exactly zero and
the decode head dense.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Iterator

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from lth_mm.core import PruneScope, Ticket
from lth_mm.datasets import write_voc_segmentation
from lth_mm.hooks import TicketHook

from .segmentation_utils import SEG_DEMO, mmseg_default_scope, pruned_weights_are_zero

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def canvases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp('canvas')
    write_voc_segmentation(root, train=4, val=2, seed=2, canvas_size=(64, 64),
                           digit_size=(20, 40), digits_per_image=(1, 2))
    return root / 'VOCdevkit' / 'VOC2012'


@pytest.fixture(scope='module')
def classification(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Steps 1 and 2: one epoch of pre-training, then one IMP round of one epoch, each on 32
    digits per split (BaseDataset's ``indices``)."""
    work = tmp_path_factory.mktemp('demo')
    few = {f'{split}_dataloader.dataset.indices': 32 for split in ('train', 'val', 'test')}
    pretrain = Config.fromfile(str(SEG_DEMO / 'pretrain_digits_resnet18_w32.py'))
    pretrain.merge_from_dict({'train_cfg.max_epochs': 1, 'work_dir': str(work / 'pretrain'),
                              'param_scheduler.1.milestones': [1], **few})
    Runner.from_cfg(pretrain).train()
    imp = Config.fromfile(str(SEG_DEMO / 'imp_digits_resnet18_w32.py'))
    assert imp.load_from == 'work_dirs/demo_segmentation/pretrain/epoch_24.pth'
    imp.merge_from_dict({'train_cfg.max_epochs': 1, 'work_dir': str(work / 'imp'),
                         'param_scheduler.1.milestones': [1], 'custom_hooks.0.rounds': 1,
                         'load_from': str(work / 'pretrain' / 'epoch_1.pth'), **few})
    Runner.from_cfg(imp).train()
    return work


@pytest.fixture
def mmseg_scope() -> Iterator[None]:
    yield from mmseg_default_scope()


def segmenter_cfg(name: str, canvases: Path, work: Path, run: str) -> Config:
    cfg = Config.fromfile(str(SEG_DEMO / name))
    pretrained = cfg.model.backbone.init_cfg[-1]
    assert pretrained.checkpoint == 'work_dirs/demo_segmentation/pretrain/epoch_24.pth'
    pretrained.checkpoint = str(work / 'pretrain' / 'epoch_1.pth')
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].update(batch_size=2)
        cfg[f'{split}_dataloader'].dataset.data_root = str(canvases)
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.work_dir = str(work / run)
    return cfg


def test_segmenter_loads_the_classifier_whole(classification: Path, canvases: Path,
                                              mmseg_scope: None) -> None:
    from mmseg.registry import MODELS
    cfg = segmenter_cfg('deeplabv3plus_r18w32_digit_canvas.py', canvases, classification, 'x')
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = torch.load(classification / 'pretrain' / 'epoch_1.pth', map_location='cpu',
                       weights_only=False)['state_dict']
    backbone = {k: v for k, v in state.items() if k.startswith('backbone.')}
    assert 'backbone.conv1.weight' in backbone and len(backbone) == 120  # 20 convs, 20 BNs
    ours = model.state_dict()
    for key, value in backbone.items():
        assert torch.equal(ours[key], value), key


def test_ticket_transfers_into_the_segmenter(classification: Path, canvases: Path,
                                             mmseg_scope: None) -> None:
    ticket_path = classification / 'imp' / 'imp' / 'tickets' / 'round_01.safetensors'
    ticket = Ticket.load(ticket_path)
    assert len(ticket) == 19 and ticket.sparsity == pytest.approx(0.5, abs=1e-4)
    cfg = segmenter_cfg('transfer_deeplabv3plus_r18w32_digit_canvas.py', canvases,
                        classification, 'transfer')
    cfg.custom_hooks[0].ticket = str(ticket_path)
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    metrics = runner.test()
    assert set(metrics) == {'aAcc', 'mIoU', 'mAcc'}
    hook = next(h for h in runner.hooks if isinstance(h, TicketHook))
    assert hook.ticket == ticket  # the classifier's names are the segmenter's
    assert set(ticket) == set(PruneScope(prefix='backbone.').select(runner.model))
    assert not pruned_weights_are_zero(runner.model, ticket)
    params = dict(runner.model.named_parameters())
    head = [k for k in params if k.startswith('decode_head.') and params[k].dim() == 4]
    assert head and all(torch.count_nonzero(params[k]) == params[k].numel() for k in head)
    assert list(Path(cfg.work_dir).glob('best_mIoU_iter_2.pth'))
