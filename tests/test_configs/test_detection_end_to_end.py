"""The detection experiment configs train and evaluate on VOC files, on the CPU.

By default the fine-tuning and random-ticket configs run for one pre-training each (the transfer
tests run all three pre-trained files); ``LTH_MM_ALL_CONFIGS=1`` runs every one.

The data are digit canvases in the VOC07+12 layout (``conftest.voc_digits``), read by
MMDetection's own ``VOCDataset`` through the configs' ``voc0712`` datasets and scored by its
``VOCMetric``; the pre-trained weights are full-size ResNet-50 files in the paper's layouts
(``conftest.LAYOUTS``), the tickets an lth_mm ticket of a classification model and the original
code's ``*.weight_mask`` files. Only the image size (64 px), the batch size, the iterations (2
per round), the rounds and the file paths are overridden (``conftest.shrink_detection``).
"""
from __future__ import annotations

import copy
import csv
import json
import re
from pathlib import Path
from typing import Callable, Dict

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from lth_mm.core import PruneScope, Ticket

from .conftest import CLS, DET, covering, load_cfg, shrink_detection

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures('mmdet_scope', 'fast_runner')]

VOC = DET / 'voc0712'
LAYOUT = {'imagenet': 'torchvision', 'simclr': 'simclr', 'moco': 'moco_v2'}
METRICS = ('pascal_voc/mAP', 'pascal_voc/AP50', 'pascal_voc/AP75')


def detection_cfg(name: str, voc_digits: Path, work_dir: Path,
                  checkpoint_files: Callable[[str], Path]) -> Config:
    """The config ``name`` of configs/detection/voc0712, shrunk, its weights from a test file."""
    cfg = shrink_detection(load_cfg(VOC / name), voc_digits, work_dir)
    pretrain = re.search(r'_(imagenet|simclr|moco)_', name).group(1)
    init = cfg.model.backbone.init_cfg[-1]
    assert init.type == 'MappedPretrained' and init.checkpoint.startswith('checkpoints/')
    init.checkpoint = str(checkpoint_files(LAYOUT[pretrain]))
    return cfg


def torchvision_masks(sparsity: float, seed: int) -> Dict[str, torch.Tensor]:
    """Random masks of a torchvision ResNet-50's 52 prunable convs (stem excluded)."""
    tv = torchvision.models.resnet50()
    gen = torch.Generator().manual_seed(seed)
    return {name: torch.rand(p.shape, generator=gen) >= sparsity
            for name, p in Ticket.dense(tv).check(tv).items()}


def original_mask_file(path: Path, masks: Dict[str, torch.Tensor], wrapped: bool) -> Path:
    """The original code's mask file: bare ``layerX.Y.convZ.weight_mask`` floats (its detection
    scripts) or a DataParallel checkpoint with ``weight_orig`` / ``weight_mask`` pairs."""
    state = {f'{k[:-len(".weight")]}.weight_mask': v.float() for k, v in masks.items()}
    if wrapped:
        state.update({f'{k[:-len(".weight")]}.weight_orig': torch.randn(v.shape)
                      for k, v in masks.items()})
        state = {'state_dict': {f'module.{k}': v for k, v in state.items()}}
    torch.save(state, path)
    return path


def classification_ticket(path: Path) -> Ticket:
    """An lth_mm ticket as a classification search saves it: IMPHook's round 1 (50 %) on the
    CIFAR-10 ResNet-50 (MMPretrain names, ``backbone.layer1.0.conv1.weight``)."""
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(load_cfg(CLS / 'cifar10' / 'imp_lt_resnet50_cifar10.py').model)
    ticket = Ticket.dense(model).prune(model, 0.5)
    ticket.save(path)
    return ticket


def assert_backbone_ticket(model: torch.nn.Module, masks: Dict[str, torch.Tensor]) -> None:
    """Pruned backbone weights exactly zero, the backbone's convs covered, neck and head dense."""
    params = dict(model.named_parameters())
    assert set(masks) == set(PruneScope(prefix='backbone.').select(model))
    assert len(masks) == {50: 52, 18: 19}[model.backbone.depth]  # every conv after the stem
    assert 'backbone.conv1.weight' not in masks
    for name, mask in masks.items():
        weight = params[name].detach()
        assert torch.count_nonzero(weight[~mask]) == 0, name
        assert torch.count_nonzero(weight[mask]) == int(mask.sum()), name
    dense = [(n, p) for n, p in params.items() if n.startswith(('neck.', 'bbox_head.'))
             and p.dim() > 1]
    assert len(dense) > 20
    for name, param in dense:
        assert torch.count_nonzero(param.detach()) == param.numel(), name


def assert_from_pretrained(model: torch.nn.Module, tv_state: Dict[str, torch.Tensor],
                           masks: Dict[str, torch.Tensor] | None = None) -> None:
    """The backbone started from the file (MoCo: the query encoder), stem included: after two
    warm-up steps at lr ~1e-7 every kept weight is still the file's."""
    backbone = dict(model.backbone.named_parameters())
    for name in ('conv1.weight', 'bn1.weight', 'layer1.0.conv1.weight', 'layer4.2.conv3.weight'):
        kept = masks[f'backbone.{name}'] if masks and f'backbone.{name}' in masks else ...
        assert torch.allclose(backbone[name].detach()[kept], tv_state[name][kept], atol=2e-3), name


def run(cfg: Config) -> Runner:
    """Train; test the final weights unless IMPHook already tested each round's best ones."""
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    if not any(hook.type == 'IMPHook' for hook in cfg.get('custom_hooks', [])):
        metrics = runner.test()
        for key in METRICS:
            assert 0.0 <= metrics[key] <= 1.0, (key, metrics)
    return runner


def read_summary(work_dir: Path) -> list[dict]:
    with open(work_dir / 'imp' / 'summary.csv', newline='') as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize('pretrain', covering(
    list(LAYOUT), {'imagenet'}, 'its pre-trained file is read by a transfer test too'))
def test_finetune_config_runs(pretrain: str, voc_digits: Path, tmp_path: Path,
                              checkpoint_files: Callable[[str], Path],
                              tv_state: Dict[str, torch.Tensor]) -> None:
    cfg = detection_cfg(f'finetune_{pretrain}_yolov3_r50_voc0712.py', voc_digits,
                        tmp_path / 'finetune', checkpoint_files)
    runner = run(cfg)
    assert (tmp_path / 'finetune' / 'best_pascal_voc_mAP_iter_2.pth').is_file()
    assert_from_pretrained(runner.model, tv_state)


# pre-training -> (ticket source, reverse)
TRANSFERS = {
    'imagenet': ('original-bare', False),
    'simclr': ('classification', False),
    'moco': ('original-state_dict', True),
}


@pytest.mark.parametrize('pretrain', list(TRANSFERS))
def test_transfer_config_runs(pretrain: str, voc_digits: Path, tmp_path: Path,
                              checkpoint_files: Callable[[str], Path],
                              tv_state: Dict[str, torch.Tensor]) -> None:
    """Transfer and reversed-transfer configs with each kind of ticket file."""
    source, reverse = TRANSFERS[pretrain]
    if source == 'classification':
        masks = dict(classification_ticket(tmp_path / 'round_01.safetensors').items())
        path = tmp_path / 'round_01.safetensors'
    else:
        raw = torchvision_masks(0.7, seed=1)
        path = original_mask_file(tmp_path / 'mask.pth.tar', raw, source.endswith('state_dict'))
        masks = {f'backbone.{k}': v for k, v in raw.items()}
    if reverse:
        masks = {k: ~v for k, v in masks.items()}
    kind = 'transfer_reversed' if reverse else 'transfer'
    cfg = detection_cfg(f'{kind}_{pretrain}_yolov3_r50_voc0712.py', voc_digits,
                        tmp_path / kind, checkpoint_files)
    assert cfg.custom_hooks[0].reverse is reverse
    cfg.custom_hooks[0].ticket = str(path)
    runner = run(cfg)
    assert_backbone_ticket(runner.model, masks)
    assert_from_pretrained(runner.model, tv_state, masks)
    assert (tmp_path / kind / 'best_pascal_voc_mAP_iter_2.pth').is_file()


@pytest.mark.parametrize('pretrain', covering(
    list(LAYOUT), {'moco'}, 'its pre-trained file is read by a transfer test too'))
def test_random_ticket_config_runs(pretrain: str, voc_digits: Path, tmp_path: Path,
                                   checkpoint_files: Callable[[str], Path],
                                   tv_state: Dict[str, torch.Tensor]) -> None:
    """The random-ticket baseline of a transfer: a random mask with exactly the ticket's kept
    count over the same weights, on the pre-trained weights, trained once and recorded."""
    raw = torchvision_masks(0.7, seed=2)
    path = original_mask_file(tmp_path / 'mask.pth.tar', raw, wrapped=False)
    source = {f'backbone.{k}': v for k, v in raw.items()}
    cfg = detection_cfg(f'transfer_random_{pretrain}_yolov3_r50_voc0712.py', voc_digits,
                        tmp_path / 'random', checkpoint_files)
    cfg.custom_hooks[0].ticket = str(path)
    runner = run(cfg)
    (hook, ) = [h for h in runner.hooks if type(h).__name__ == 'TicketHook']
    masks = dict(hook.ticket.items())
    assert_backbone_ticket(runner.model, masks)  # the random masks, held through training
    assert_from_pretrained(runner.model, tv_state, masks)
    kept = sum(int(m.sum()) for m in source.values())
    assert sum(int(m.sum()) for m in masks.values()) == kept  # exactly the ticket's sparsity
    same = sum(int((masks[k] & source[k]).sum()) for k in source)
    assert 0.2 < same / kept < 0.4  # another mask: about 30 % of its kept weights, by chance
    (row, ) = json.loads((tmp_path / 'random' / 'ticket' / 'summary.json').read_text())
    assert row['randomized'] is True and row['metric'] == 'pascal_voc/mAP'
    assert row['sparsity'] == pytest.approx(1 - kept / sum(m.numel() for m in source.values()))
    assert row['ticket_digest'] == hook.ticket.digest() and 0.0 <= row['test_metric'] <= 1.0


@pytest.mark.parametrize('criterion', ['magnitude', 'random'])
def test_imp_config_runs_two_rounds(criterion: str, voc_digits: Path, tmp_path: Path,
                                    checkpoint_files: Callable[[str], Path]) -> None:
    """IMP on the detection task and its random baseline: two rounds, backbone-only tickets."""
    name = 'imp_pt_trans' if criterion == 'magnitude' else 'imp_random'
    work_dir = tmp_path / name
    cfg = detection_cfg(f'{name}_imagenet_yolov3_r50_voc0712.py', voc_digits, work_dir,
                        checkpoint_files)
    hook = cfg.custom_hooks[0]
    assert (hook.criterion if 'criterion' in hook else 'magnitude') == criterion
    hook.rounds = 2
    runner = run(cfg)

    rows = read_summary(work_dir)
    trained = [0, 1, 2] if criterion == 'magnitude' else [1, 2]
    assert [int(r['round']) for r in rows] == trained
    for row in rows:
        assert float(row['sparsity']) == pytest.approx(1 - 0.8 ** int(row['round']), abs=1e-6)
        assert row['metric'] == 'pascal_voc/mAP' and 0.0 <= float(row['test_metric']) <= 1.0
    tickets = [Ticket.load(work_dir / 'imp' / 'tickets' / f'round_{r:02d}.safetensors')
               for r in (1, 2)]
    for ticket in tickets:
        assert all(k.startswith('backbone.') for k in ticket)
    assert_backbone_ticket(runner.model, dict(tickets[1].items()))
    revived = [k for k in tickets[1] if bool((tickets[1][k] & ~tickets[0][k]).any())]
    if criterion == 'magnitude':
        assert not revived  # iterative: round 2 prunes among round 1's survivors
    else:
        assert revived  # one-shot random: each round's mask is drawn afresh
