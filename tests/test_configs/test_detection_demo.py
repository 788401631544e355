"""The detection demo's chain, shrunk: a classification ticket transferred into the detector.

Step 1 pre-trains the digits classifier (one epoch), step 2 finds a ticket with IMP on
classification (one round of 50 %, rewinding to the pre-trained weights), step 3 trains the
demo's detector on digit canvases from the dense pre-trained backbone: densely, with that ticket
(an lth_mm file written by a real classification search) and with a random ticket of the same
sparsity. Two iterations each on 64-px canvases; the configs are otherwise as shipped.
"""
from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from lth_mm.compat import load_local_checkpoint
from lth_mm.core import Ticket
from lth_mm.datasets.digit_canvas import write_voc_detection

from .conftest import DET_DEMO, load_cfg, shrink_detection
from .test_detection_end_to_end import METRICS, assert_backbone_ticket

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures('mmdet_scope', 'fast_runner')]

#: Step 1's last checkpoint, where steps 2 and 3 read the pre-trained weights by default.
PRETRAINED = 'work_dirs/demo_detection/pretrain/epoch_12.pth'


def train(cfg: Config) -> Runner:
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    return runner


@pytest.fixture(scope='module')
def classification(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """Steps 1 and 2: the pre-trained weights and the round-1 ticket of the IMP search."""
    work = tmp_path_factory.mktemp('demo_detection')
    schedule = {'train_cfg.max_epochs': 1, 'param_scheduler.1.milestones': [1],
                'randomness.seed': 0,  # and 32 digits per split (BaseDataset's ``indices``)
                **{f'{split}_dataloader.dataset.indices': 32 for split in ('train', 'val', 'test')}}
    cfg = load_cfg(DET_DEMO / 'pretrain_digits_resnet18_w32.py')
    cfg.merge_from_dict(dict(schedule, work_dir=str(work / 'pretrain')))
    train(cfg)
    pretrained = work / 'pretrain' / 'epoch_1.pth'  # read by load_from and MappedPretrained
    state = load_local_checkpoint(str(pretrained), map_location='cpu')['state_dict']

    cfg = load_cfg(DET_DEMO / 'imp_digits_resnet18_w32.py')
    assert cfg.load_from == PRETRAINED
    cfg.merge_from_dict(dict(schedule, work_dir=str(work / 'imp'), load_from=str(pretrained),
                             **{'custom_hooks.0.rounds': 1}))
    train(cfg)
    return pretrained, work / 'imp' / 'imp' / 'tickets' / 'round_01.safetensors', state


@pytest.fixture(scope='module')
def canvases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp('digit_canvas')
    write_voc_detection(root, trainval=6, test=4, canvas_size=(64, 64), digit_size=(20, 40))
    return root


def detector(name: str, canvases: Path, work_dir: Path, pretrained: Path) -> Config:
    cfg = shrink_detection(load_cfg(DET_DEMO / name), canvases, work_dir)
    assert cfg.model.backbone.init_cfg[-1].checkpoint == PRETRAINED
    cfg.model.backbone.init_cfg[-1].checkpoint = str(pretrained)
    return cfg


def assert_from_classifier(model: torch.nn.Module, state: dict, masks: dict) -> None:
    """Every backbone tensor but the stem comes from the classifier (kept weights after two
    small steps); the 7x7 RGB stem is the detector's own."""
    params = dict(model.named_parameters())
    assert params['backbone.conv1.weight'].shape == (32, 3, 7, 7)
    assert state['backbone.conv1.weight'].shape == (32, 1, 3, 3)
    for name in ('backbone.layer1.0.conv1.weight', 'backbone.layer4.1.conv2.weight'):
        kept = masks.get(name, torch.ones_like(state[name], dtype=torch.bool))
        assert torch.allclose(params[name].detach()[kept], state[name][kept], atol=1e-2), name
        assert not torch.allclose(params[name].detach(), torch.zeros_like(state[name]))


def test_the_per_class_table_names_the_digits(canvases: Path, tmp_path: Path) -> None:
    """VOCMetric prints VOC's class names for a set VOCDataset marks 'VOC2007'; the demo's
    XMLDataset leaves it unmarked, so the AP table names the digits."""
    from mmdet.evaluation import VOCMetric
    from mmdet.registry import DATASETS

    cfg = shrink_detection(load_cfg(DET_DEMO / 'yolo_r18w32_digit_canvas.py'), canvases, tmp_path)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(dataset) == 4 and dataset.metainfo.get('dataset_type') is None
    assert dataset.metainfo['classes'] == tuple('0123456789')
    metric = VOCMetric(iou_thrs=[0.5])
    metric.dataset_meta = dataset.metainfo
    instances = dataset.get_data_info(0)['instances']
    gt = dict(bboxes=np.array([i['bbox'] for i in instances], np.float32),
              labels=np.array([i['bbox_label'] for i in instances], np.int64),
              bboxes_ignore=np.zeros((0, 4), np.float32), labels_ignore=np.zeros(0, np.int64))
    found = [np.zeros((0, 5), np.float32) for _ in range(10)]
    printed = []
    log = logging.getLogger('lth_mm-test-voc-table')
    log.setLevel(logging.INFO)
    log.propagate = False
    log.addHandler(_ListHandler(printed))
    with patch('mmdet.evaluation.metrics.voc_metric.MMLogger.get_current_instance',
               return_value=log):
        metric.compute_metrics([(gt, found)])
    table = next(text for text in printed if '| class' in text)
    assert '| 9     |' in table and 'aeroplane' not in table


class _ListHandler(logging.Handler):
    def __init__(self, out: list) -> None:
        super().__init__()
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        self.out.append(record.getMessage())


def test_dense_detector_starts_from_the_classifier(classification: tuple, canvases: Path,
                                                   tmp_path: Path) -> None:
    pretrained, _, state = classification
    runner = train(detector('yolo_r18w32_digit_canvas.py', canvases, tmp_path, pretrained))
    metrics = runner.test()
    assert all(0.0 <= metrics[k] <= 1.0 for k in METRICS)
    assert_from_classifier(runner.model, state, {})


def test_classification_ticket_transfers(classification: tuple, canvases: Path,
                                         tmp_path: Path) -> None:
    pretrained, ticket_path, state = classification
    ticket = Ticket.load(ticket_path)
    assert ticket.sparsity == pytest.approx(0.5, abs=1e-4) and len(ticket) == 19
    cfg = detector('transfer_yolo_r18w32_digit_canvas.py', canvases, tmp_path, pretrained)
    cfg.custom_hooks[0].ticket = str(ticket_path)
    runner = train(cfg)
    assert_backbone_ticket(runner.model, dict(ticket.items()))
    assert_from_classifier(runner.model, state, dict(ticket.items()))
    metrics = runner.test()
    assert all(0.0 <= metrics[k] <= 1.0 for k in METRICS)


def test_random_ticket_of_the_same_sparsity(classification: tuple, canvases: Path,
                                            tmp_path: Path) -> None:
    pretrained, ticket_path, state = classification
    imp = Ticket.load(ticket_path)
    cfg = detector('random_yolo_r18w32_digit_canvas.py', canvases, tmp_path, pretrained)
    cfg.custom_hooks[0].ticket = str(ticket_path)
    runner = train(cfg)
    (hook, ) = [h for h in runner.hooks if type(h).__name__ == 'TicketHook']
    random = hook.ticket
    assert set(random) == set(imp) and random.kept == imp.kept  # exactly the same sparsity
    assert random.overlap(imp).overall < 0.5  # and another mask (random: about 1/3)
    assert_backbone_ticket(runner.model, dict(random.items()))
    assert_from_classifier(runner.model, state, dict(random.items()))
    (row, ) = json.loads((tmp_path / 'ticket' / 'summary.json').read_text())
    assert row['randomized'] is True and row['sparsity'] == imp.sparsity
    assert row['metric'] == 'pascal_voc/mAP' and 0.0 <= row['test_metric'] <= 1.0
