"""Every segmentation config parses and builds offline, and says what the paper says.

Nothing is trained here (see ``test_segmentation_end_to_end.py``): models, hooks, pipelines and
metrics are built from the merged configs with MMSegmentation's registries, and the recipe of the
paper (section 4 of the reference: DeepLabv3+ on a torchvision-stem ResNet-50 at output stride
16, VOC 2012, SGD 0.01 with the backbone at 0.1x, poly, 30k iterations of batch 4) is read back.
"""
from __future__ import annotations

import copy
import functools
import inspect
import re
from pathlib import Path
from typing import Iterator

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import HOOKS, WEIGHT_INITIALIZERS

from lth_mm.core import PruneScope
from lth_mm.hooks import IMPHook, TicketHook

from .conftest import CONFIGS, config_id
from .segmentation_utils import (
    PAPER_FILES,
    SEG,
    SEG_DEMO,
    datasets,
    mmseg_default_scope,
    segmentation_configs,
    walk,
)

ALL = segmentation_configs()
PAPER = [p for p in ALL if SEG in p.parents]
RANDOMIZE = 'randomize' in inspect.signature(TicketHook).parameters


@pytest.fixture
def mmseg_scope() -> Iterator[None]:
    yield from mmseg_default_scope()


@functools.lru_cache(maxsize=None)
def _parsed(path: Path) -> Config:
    return Config.fromfile(str(path))


def parsed(path: Path) -> Config:
    """The config at ``path``, parsed once per session (a copy: tests may change it)."""
    return copy.deepcopy(_parsed(path))


def hooks(cfg: Config, kind: str) -> list[dict]:
    return [dict(h) for h in cfg.get('custom_hooks', []) if h['type'] == kind]


def test_configs_are_found() -> None:
    names = {p.name for p in PAPER}
    model = 'deeplabv3plus_r50_voc12'
    for pt in ('imagenet', 'simclr', 'moco'):
        for kind in ('finetune', 'transfer', 'transfer_reversed', 'transfer_random',
                     'imp_pt_trans', 'imp_random'):
            assert f'{kind}_{pt}_{model}.py' in names
    assert {'finetune_imagenet_deeplabv3plus_r50_voc12aug.py',
            'finetune_imagenet_deeplabv3plus_r50-d8_voc12aug.py',
            'transfer_imagenet_deeplabv3plus_r50-d8_voc12aug.py'} <= names
    assert len(PAPER) == 21
    assert {p.name for p in ALL if SEG_DEMO in p.parents} == {
        'deeplabv3plus_r18w32_digit_canvas.py', 'transfer_deeplabv3plus_r18w32_digit_canvas.py'}


@pytest.mark.parametrize('path', ALL, ids=config_id)
def test_config_builds(path: Path, tmp_path: Path, mmseg_scope: None) -> None:
    from mmseg.registry import DATASETS, METRICS, MODELS, TRANSFORMS
    cfg = parsed(path)
    assert 'lth_mm' in cfg.custom_imports['imports'] and cfg.default_scope == 'mmseg'

    # Model: torchvision-stem ResNet, nothing downloaded, 52 (ResNet-50) prunable backbone convs.
    backbone = cfg.model.backbone
    assert cfg.model.get('pretrained') is None and backbone.get('pretrained') is None
    assert backbone.type == 'ResNet' and not backbone.get('deep_stem', False)
    assert backbone.norm_cfg.type == 'BN' and cfg.model.decode_head.norm_cfg.type == 'BN'
    model = MODELS.build(cfg.model)
    scope = PruneScope(prefix='backbone.').select(model)
    assert 'backbone.conv1.weight' not in scope and 'backbone.conv1.weight' in dict(
        model.named_parameters())
    assert len(scope) == {50: 52, 18: 19}[backbone.depth]  # every conv after the stem
    assert not any(k.startswith(('decode_head.', 'auxiliary_head.')) for k in scope)
    model.eval()
    x = torch.zeros(1, 3, 64, 64)
    with torch.no_grad():
        strides = [64 // f.shape[-1] for f in model.backbone(x)]
        out = model(x, mode='tensor')
    assert strides == ([4, 8, 16, 16] if backbone.strides == (1, 2, 2, 1) else [4, 8, 8, 8])
    assert out.shape[:2] == (1, cfg.model.decode_head.num_classes)

    # Data and metric: the stack's own dataset, transforms and IoUMetric.
    for split in ('train', 'val', 'test'):
        for dataset in datasets(cfg[f'{split}_dataloader']):
            assert DATASETS.get(dataset.type) is not None, dataset.type
            for step in dataset.pipeline:
                TRANSFORMS.build(step)
    for split in ('val', 'test'):
        metric = METRICS.build(cfg[f'{split}_evaluator'])
        assert type(metric).__name__ == 'IoUMetric' and metric.metrics == ['mIoU']

    # Pre-trained weights: MappedPretrained last in the backbone's init_cfg; the paper's files.
    inits = [d for d in walk(cfg.model) if d.get('type') == 'MappedPretrained']
    assert len(inits) == 1 and backbone.init_cfg[-1]['type'] == 'MappedPretrained'
    WEIGHT_INITIALIZERS.build(dict(inits[0]))  # does not read the file
    assert backbone.zero_init_residual is False
    if SEG in path.parents:
        assert inits[0]['checkpoint'] in PAPER_FILES and tuple(inits[0]['skip']) == ('fc', )

    # Hooks: a required ticket is documented in the header and refused until set.
    header = path.read_text()
    for index, hook_cfg in enumerate(dict(h) for h in cfg.get('custom_hooks', [])):
        if hook_cfg.get('ticket') == '???':
            assert f'custom_hooks.{index}.ticket=' in header, 'document how to set the ticket'
            if hook_cfg.get('randomize') and not RANDOMIZE:
                hook_cfg.pop('randomize')  # this TicketHook predates randomize (see the report)
            with pytest.raises(ValueError, match='cfg-options'):
                HOOKS.build(dict(hook_cfg))
            hook_cfg['ticket'] = str(tmp_path / 'round_10.safetensors')
        hook = HOOKS.build(hook_cfg)
        if isinstance(hook, IMPHook):
            assert hook.rewind == 'pt_trans' and hook.scope == PruneScope(prefix='backbone.')
            assert (hook.rounds, hook.rate, hook.metric) == (18, 0.2, 'mIoU')
            assert hook.round_length is None  # a round is the schedule's max_iters
            assert hook.criterion == ('random' if 'imp_random' in path.name else 'magnitude')
        if isinstance(hook, TicketHook):
            assert hook.key_map == 'auto'
            assert hook.reverse == ('reversed' in path.name)
            if RANDOMIZE:
                assert hook.randomize == ('random' in path.name)
    if 'transfer' in path.name:
        assert [h['type'] for h in cfg.custom_hooks] == ['TicketHook']
        assert hooks(cfg, 'TicketHook')[0].get('randomize', False) == ('random' in path.name)
    elif path.name.startswith('imp_'):
        assert [h['type'] for h in cfg.custom_hooks] == ['IMPHook']
    else:
        assert not cfg.get('custom_hooks')


@pytest.mark.parametrize('path', PAPER, ids=config_id)
def test_paper_recipe(path: Path) -> None:
    """The numbers of the paper (or of MMSegmentation's recipe for the -d8 variant)."""
    cfg = parsed(path)
    model, backbone, head = cfg.model, cfg.model.backbone, cfg.model.decode_head
    assert backbone.depth == 50 and backbone.out_indices == (0, 1, 2, 3)
    assert backbone.get('contract_dilation') is True
    assert (head.type, head.in_index, head.in_channels) == ('DepthwiseSeparableASPPHead', 3, 2048)
    assert (head.c1_in_channels, head.c1_channels) == (256, 48)  # layer1, the low-level features
    assert head.num_classes == 21
    optim = cfg.optim_wrapper.optimizer
    assert (optim.type, optim.lr, optim.momentum) == ('SGD', 0.01, 0.9)
    poly, = cfg.param_scheduler
    assert (poly.type, poly.power, poly.by_epoch) == ('PolyLR', 0.9, False)
    assert poly.end == cfg.train_cfg.max_iters and cfg.train_cfg.type == 'IterBasedTrainLoop'
    crops = [s.crop_size for d in datasets(cfg.train_dataloader) for s in d.pipeline
             if s.type == 'RandomCrop']
    assert set(crops) == {(512, 512)} and model.data_preprocessor.size == (512, 512)
    assert cfg.train_dataloader.batch_size == 4
    train_sets = datasets(cfg.train_dataloader)
    assert {d.type for d in train_sets} == {'PascalVOCDataset'}
    assert {d.data_root for d in train_sets} == {'data/VOCdevkit/VOC2012'}
    lists = {(d.ann_file, d.data_prefix.seg_map_path) for d in train_sets}
    if path.stem.endswith('voc12aug'):
        assert lists == {('ImageSets/Segmentation/train.txt', 'SegmentationClass'),
                         ('ImageSets/Segmentation/aug.txt', 'SegmentationClassAug')}
    else:
        assert lists == {('ImageSets/Segmentation/train.txt', 'SegmentationClass')}
    for split in ('val', 'test'):
        assert cfg[f'{split}_dataloader'].dataset.ann_file == 'ImageSets/Segmentation/val.txt'

    if '-d8' in path.name:  # MMSegmentation's deeplabv3plus_r50-d8_4xb4-20k_voc12aug recipe
        assert (backbone.strides, backbone.dilations) == ((1, 2, 1, 1), (1, 1, 2, 4))
        assert head.dilations == (1, 12, 24, 36)
        assert model.auxiliary_head.in_index == 2 and model.auxiliary_head.num_classes == 21
        assert optim.weight_decay == 5e-4 and cfg.train_cfg.max_iters == 20000
        assert poly.eta_min == 1e-4 and not cfg.optim_wrapper.get('paramwise_cfg')
    else:  # the original: output stride 16, no auxiliary head, 0.1x lr on the backbone
        assert (backbone.strides, backbone.dilations) == ((1, 2, 2, 1), (1, 1, 1, 2))
        assert head.dilations == (1, 6, 12, 18) and model.get('auxiliary_head') is None
        assert backbone.norm_cfg.momentum == 0.01
        assert head.loss_decode.avg_non_ignore is True
        assert optim.weight_decay == 1e-4 and cfg.train_cfg.max_iters == 30000
        assert cfg.optim_wrapper.paramwise_cfg.custom_keys == {'backbone': {'lr_mult': 0.1}}
        assert poly.eta_min == 1e-6
    if 'finetune' in path.name or 'transfer' in path.name:
        assert cfg.default_hooks.checkpoint.save_best == 'mIoU'


def test_configs_name_no_url() -> None:
    """No segmentation config downloads: no URL, no open-mmlab:// or torchvision:// scheme."""
    for path in list(SEG.rglob('*.py')) + list(SEG_DEMO.glob('*.py')):
        code = re.sub(r'#.*', '', path.read_text())  # comments may name what was replaced
        assert '://' not in code, path
    for path in ALL:
        for node in walk(parsed(path).to_dict()):
            for value in node.values():
                assert not (isinstance(value, str) and '://' in value), (path, value)


def test_missing_checkpoint_names_the_file(tmp_path: Path, mmseg_scope: None) -> None:
    from mmseg.registry import MODELS
    cfg = parsed(SEG / 'voc12' / 'finetune_moco_deeplabv3plus_r50_voc12.py')
    missing = tmp_path / 'checkpoints' / 'moco_v2_800ep_pretrain.pth.tar'
    cfg.model.backbone.init_cfg[-1].checkpoint = str(missing)
    model = MODELS.build(cfg.model)
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        model.init_weights()


def test_docs_name_every_segmentation_config() -> None:
    """docs/segmentation.md gives a command for every config, and names only real ones."""
    docs = (CONFIGS.parent / 'docs' / 'segmentation.md').read_text()
    named = set(re.findall(r'configs/(?:demo/)?segmentation/[\w/.-]+?\.py', docs))
    missing = [p for p in named if not (CONFIGS.parent / p).is_file()]
    assert not missing, f'docs name configs that do not exist: {missing}'
    absent = [config_id(p) for p in ALL if str(p.relative_to(CONFIGS.parent)) not in named]
    assert not absent, f'configs without a command in the docs: {absent}'
