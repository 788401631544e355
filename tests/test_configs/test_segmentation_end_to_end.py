"""The segmentation experiment configs train and evaluate on VOC files written here, on the CPU.

By default a covering subset runs (``COVERING``: every kind of run, every pre-training and both
kinds of ticket file); ``LTH_MM_ALL_CONFIGS=1`` runs all 21.

Each config runs two iterations of batch 2 on 64 x 64 digit canvases written in the Pascal VOC
2012 layout (lth_mm.datasets.write_voc_segmentation), read by MMSegmentation's own
PascalVOCDataset (ConcatDataset with the augmented set for the voc12aug configs) and scored by its
IoUMetric, then tests its weights. The model is the full-size ResNet-50 DeepLabv3+; the
pre-trained weights are files in the paper's layouts with random values (conftest.py). Only data
paths, image sizes, batch sizes, iteration counts and checkpoint paths are overridden
(segmentation_utils.shrink).

Tickets: the transfer configs get a ticket of an MMPretrain ResNet-50 classifier saved by lth_mm
(``backbone.layer1.0.conv1.weight`` ...), except the MoCo ones, which get a mask file of the
original code (``module.encoder_q.*.weight_mask`` beside ``weight_orig``, with different
``encoder_k`` masks that must be ignored). After training, every pruned weight is exactly zero,
the kept ones still hold the pre-trained values (two steps move them by a few per cent) and the
decode head is dense.
"""
from __future__ import annotations

import copy
import csv
import inspect
from pathlib import Path
from typing import Callable, Dict, Iterator

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.runner import Runner

from lth_mm.core import PruneScope, Ticket
from lth_mm.hooks import IMPHook, TicketHook

from .conftest import config_id, covering, load_cfg
from .segmentation_utils import (
    SEG,
    mmseg_default_scope,
    pruned_weights_are_zero,
    segmentation_configs,
    shrink,
    write_small_voc,
)

pytestmark = pytest.mark.slow

PAPER = [p for p in segmentation_configs() if SEG in p.parents]
RANDOMIZE = 'randomize' in inspect.signature(TicketHook).parameters


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_small_voc(tmp_path_factory.mktemp('voc'))


@pytest.fixture(scope='module')
def tickets(tmp_path_factory: pytest.TempPathFactory,
            tv_state: Dict[str, torch.Tensor]) -> Dict[str, tuple[Path, Ticket]]:
    """A classification ticket in lth_mm's format (50 %) and an original-code MoCo mask file."""
    from mmpretrain.registry import MODELS
    folder = tmp_path_factory.mktemp('tickets')
    cfg = Config.fromstring("_base_ = ['mmpretrain::_base_/models/resnet50.py']", '.py')
    classifier = MODELS.build(cfg.model)
    classified = Ticket.dense(classifier).prune(classifier, 0.5)  # backbone.layer1.0.conv1.weight
    classified.save(folder / 'round_03.safetensors')

    tv = torchvision.models.resnet50()
    tv.load_state_dict(tv_state)
    moco = Ticket.dense(tv).prune(tv, 0.6)  # layer1.0.conv1.weight ...
    state = {}
    for encoder, ticket in (('encoder_q', moco), ('encoder_k', moco.reverse())):
        for name, mask in ticket.to_torch_prune().items():
            state[f'module.{encoder}.{name}'] = mask
            state[f'module.{encoder}.{name[:-len("_mask")]}_orig'] = tv_state[
                name[:-len('_mask')]]
    torch.save({'epoch': 10, 'state_dict': state}, folder / '10model_SA_best.pth.tar')
    return {'lth_mm': (folder / 'round_03.safetensors', classified),
            'original': (folder / '10model_SA_best.pth.tar',
                         moco.add_prefix('backbone.'))}


@pytest.fixture
def mmseg_scope() -> Iterator[None]:
    yield from mmseg_default_scope()


@pytest.fixture(autouse=True)
def plain_config_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Config.pretty_text`` runs yapf over the whole config for the log and for every
    checkpoint's meta (seconds a time); the plain dict text changes no result."""
    monkeypatch.setattr(Config, 'pretty_text', property(lambda cfg: repr(cfg.to_dict())))


def run(cfg: Config) -> tuple[Runner, dict]:
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    return runner, runner.test()


#: Every kind of run with each pre-training at least twice, both original-code and lth_mm ticket
#: files, the augmented set and output stride 8 (the other configs differ from one of these only
#: in the pre-trained file, which these cover).
COVERING = {f'segmentation/voc12/{name}.py' for name in (
    'finetune_simclr_deeplabv3plus_r50_voc12', 'transfer_moco_deeplabv3plus_r50_voc12',
    'transfer_reversed_simclr_deeplabv3plus_r50_voc12',
    'transfer_random_imagenet_deeplabv3plus_r50_voc12',
    'imp_pt_trans_moco_deeplabv3plus_r50_voc12', 'imp_random_imagenet_deeplabv3plus_r50_voc12',
    'finetune_imagenet_deeplabv3plus_r50_voc12aug',
    'transfer_imagenet_deeplabv3plus_r50-d8_voc12aug')}


@pytest.mark.parametrize('path', covering(
    PAPER, COVERING, 'the same kind of run as a covering config, another pre-trained file',
    ids=config_id))
def test_experiment_config_runs(path: Path, voc_root: Path, tmp_path: Path, mmseg_scope: None,
                                checkpoint_files: Callable[[str], Path],
                                tv_state: Dict[str, torch.Tensor],
                                tickets: Dict[str, tuple[Path, Ticket]]) -> None:
    cfg = shrink(load_cfg(path), voc_root, tmp_path / 'work', checkpoint=checkpoint_files)
    hook_cfg = cfg.custom_hooks[0] if cfg.get('custom_hooks') else {}
    given = None
    if hook_cfg.get('type') == 'TicketHook':
        source = 'original' if '_moco_' in path.name else 'lth_mm'
        ticket_path, given = tickets[source]
        hook_cfg.ticket = str(ticket_path)
        if hook_cfg.get('randomize') and not RANDOMIZE:
            # This TicketHook predates randomize: the same baseline from lth_mm.core, a random
            # ticket with the given ticket's sparsity over the same convs, as a file.
            from mmseg.registry import MODELS
            hook_cfg.pop('randomize')
            model = MODELS.build(copy.deepcopy(cfg.model))
            random = Ticket.dense(model, PruneScope(prefix='backbone.')).prune_to(
                model, given.sparsity, 'random', generator=torch.Generator().manual_seed(0))
            random.save(tmp_path / 'random.safetensors')
            hook_cfg.ticket = str(tmp_path / 'random.safetensors')
    if hook_cfg:  # the hook keeps the best weights itself: no 170 MB best checkpoint to write
        cfg.default_hooks.checkpoint.save_best = None
    if hook_cfg.get('type') == 'IMPHook':
        hook_cfg.rounds = 2
        cfg.train_cfg.update(max_iters=1, val_interval=1)

    runner, metrics = run(cfg)

    # The real metric of MMSegmentation on the real dataset.
    assert set(metrics) == {'aAcc', 'mIoU', 'mAcc'}
    assert 0 <= metrics['mIoU'] <= 100 and metrics['aAcc'] > 0
    model = runner.model
    params = dict(model.named_parameters())
    head = [k for k, p in params.items() if k.startswith('decode_head.') and p.dim() == 4]
    assert head and all(torch.count_nonzero(params[k]) == params[k].numel() for k in head)
    hook = next((h for h in runner.hooks if isinstance(h, (IMPHook, TicketHook))), None)

    if isinstance(hook, TicketHook):
        ticket = hook.ticket
        assert set(ticket) == set(PruneScope(prefix='backbone.').select(model))
        assert len(ticket) == 52 and 'backbone.conv1.weight' not in ticket
        assert not pruned_weights_are_zero(model, ticket)  # pruned weights exactly zero
        if 'reversed' in path.name:
            assert ticket == given.reverse()
        elif 'random' in path.name:
            assert ticket.kept == given.kept and ticket != given
            assert abs(ticket.overlap(given).overall - given.kept / (2 * given.numel - given.kept)
                       ) < 0.02  # as unrelated to the given ticket as chance allows
        else:
            assert ticket == given
        for name, mask in ticket.items():  # kept weights: the dense pre-trained ones, barely moved
            kept, source = params[name].detach()[mask], tv_state[name[len('backbone.'):]][mask]
            assert (kept - source).norm() < 0.2 * source.norm(), name
        assert (hook.best['metric'], hook.best['iter']) == ('mIoU', 2)
    elif isinstance(hook, IMPHook):
        with open(Path(cfg.work_dir) / 'imp' / 'summary.csv', newline='') as f:
            rows = list(csv.DictReader(f))
        assert [int(r['round']) for r in rows] == [0, 1, 2]
        assert [round(float(r['sparsity']), 3) for r in rows] == [0.0, 0.2, 0.36]
        assert all(r['metric'] == 'mIoU' and r['test_metric'] not in ('', None) for r in rows)
        last = Ticket.load(Path(cfg.work_dir) / 'imp' / 'tickets' / 'round_02.safetensors')
        assert last == hook.ticket and len(last) == 52
        assert set(last) == set(PruneScope(prefix='backbone.').select(model))
        assert not pruned_weights_are_zero(model, last)
    else:  # dense fine-tuning: every weight trained, best checkpoint kept
        assert list(Path(cfg.work_dir).glob('best_mIoU_iter_2.pth'))
        assert 'backbone.layer1.0.conv1.weight' in params
        assert all(torch.count_nonzero(p) > 0.99 * p.numel() for k, p in params.items()
                   if k.startswith('backbone.') and p.dim() == 4)
