"""Every detection config parses, builds its MMDetection model, hooks, data and metric, offline.

Nothing is trained and no checkpoint is read (``MappedPretrained`` loads in ``init_weights``, see
``test_detection_end_to_end.py``). The recipe test reads the paper's numbers back from the merged
configs (the original code's YOLOv4 recipe on VOC07+12, section "MMDetection" of the reference).
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import torch
from mmdet.registry import DATASETS, METRICS, MODELS, TRANSFORMS
from mmengine.registry import HOOKS, WEIGHT_INITIALIZERS

from lth_mm.core import PruneScope
from lth_mm.hooks import IMPHook, TicketHook

from .conftest import CONFIGS, DET, DET_DEMO, config_id, detection_configs, load_cfg
from .test_config_build import parsed, walk

pytestmark = pytest.mark.usefixtures('mmdet_scope')

ALL = detection_configs()
VOC = [p for p in ALL if DET in p.parents]
DEMO = [p for p in ALL if DET_DEMO in p.parents]
PAPER_FILES = {'imagenet': 'checkpoints/imagenet_weight.pt',
               'simclr': 'checkpoints/simclr_weight.pt',
               'moco': 'checkpoints/moco_v2_800ep_pretrain.pth.tar'}
DEMO_PRETRAINED = 'work_dirs/demo_detection/pretrain/epoch_12.pth'  # step 1's checkpoint
IOU_THRS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]


def values(node: Any) -> Iterator[Any]:
    """Every value inside a config node, depth first."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from values(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from values(value)


def test_detection_configs_are_found() -> None:
    names = {p.name for p in VOC}
    expected = {'imp_pt_trans_imagenet_yolov3_r50_voc0712.py',
                'imp_random_imagenet_yolov3_r50_voc0712.py'}
    for pretrain in PAPER_FILES:
        expected |= {f'{kind}_{pretrain}_yolov3_r50_voc0712.py' for kind in (
            'finetune', 'transfer', 'transfer_reversed', 'transfer_random')}
    assert names == expected
    assert {p.name for p in DEMO} == {'yolo_r18w32_digit_canvas.py',
                                      'transfer_yolo_r18w32_digit_canvas.py',
                                      'random_yolo_r18w32_digit_canvas.py'}


@pytest.mark.parametrize('path', ALL, ids=config_id)
def test_detection_config_builds(path: Path, tmp_path: Path) -> None:
    cfg = parsed(path)
    assert 'lth_mm' in cfg.custom_imports['imports'] and cfg.default_scope == 'mmdet'

    # Nothing downloads: no URL or zoo scheme anywhere in the merged config.
    remote = [v for v in values(cfg.to_dict()) if isinstance(v, str)
              and re.match(r'(https?|torchvision|open-mmlab|mmcls|modelzoo)://', v)]
    assert not remote, remote

    # Model: MMDetection's YOLOv3 neck and head on a torchvision-layout ResNet whose BN trains.
    model = MODELS.build(cfg.model)
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.out_indices, backbone.style) == ('ResNet', (1, 2, 3),
                                                                     'pytorch')
    assert backbone.norm_eval is False and backbone.frozen_stages == -1
    assert backbone.zero_init_residual is False
    assert (cfg.model.neck.type, cfg.model.bbox_head.type) == ('YOLOV3Neck', 'YOLOV3Head')
    scope = PruneScope.from_value(dict(prefix='backbone.')).select(model)
    assert len(scope) == (52 if backbone.depth == 50 else 19)  # every conv after the stem
    assert 'backbone.conv1.weight' not in scope
    assert any(k.startswith('neck.') for k in PruneScope().select(model))  # dense by scope
    model.eval()
    with torch.no_grad():
        feats = model(torch.zeros(1, 3, 64, 64), mode='tensor')
    assert len(feats[0]) == 3  # three YOLO levels

    # Pre-trained backbone: a local file through MappedPretrained, after the plain initialisers.
    init = backbone.init_cfg
    assert [d['type'] for d in init] == ['Kaiming', 'Constant', 'MappedPretrained']
    WEIGHT_INITIALIZERS.build(dict(init[-1]))  # does not read the file
    if path in VOC:
        pretrain = re.search(r'_(imagenet|simclr|moco)_', path.name).group(1)
        assert init[-1].checkpoint == PAPER_FILES[pretrain]
        assert init[-1].skip == ('fc', )  # the 7x7 stem fits 416 px inputs and is loaded
    else:
        assert init[-1].checkpoint == DEMO_PRETRAINED
        assert set(init[-1].skip) == {'conv1', 'bn1', 'fc'}
        # an MMEngine checkpoint: its message hub is read as plain data, no opt-in
        assert not init[-1].get('allow_pickle', False)

    # Data and metric: registered transforms, datasets and the paper's AP / AP50 / AP75.
    for split in ('train', 'val', 'test'):
        datasets = [d for d in walk(cfg[f'{split}_dataloader'].dataset)
                    if d.get('type') in ('VOCDataset', 'XMLDataset')]
        assert datasets
        for dataset in datasets:
            assert DATASETS.get(dataset.type) is not None
            for step in dataset.pipeline:
                TRANSFORMS.build(copy.deepcopy(step))
    for split in ('val', 'test'):
        metric = cfg[f'{split}_evaluator']
        assert metric.type == 'VOCMetric' and metric.iou_thrs == IOU_THRS
        keys = [f'AP{int(t * 100):02d}' for t in METRICS.build(metric).iou_thrs]
        assert keys == [f'AP{t}' for t in range(50, 100, 5)]  # AP50 and AP75 among them

    # Hooks: the ticket placeholder is documented and refused; IMPHook prunes the backbone only.
    header = path.read_text()
    for index, hook_cfg in enumerate(cfg.get('custom_hooks', [])):
        hook_cfg = dict(hook_cfg)
        if hook_cfg.get('ticket') == '???':
            assert f'custom_hooks.{index}.ticket=' in header, 'document how to set the ticket'
            with pytest.raises(ValueError, match='cfg-options'):
                HOOKS.build(dict(hook_cfg))
            hook_cfg['ticket'] = str(tmp_path / 'round_10.safetensors')
        hook = HOOKS.build(hook_cfg)
        assert (hook.metric, hook.rule) == ('pascal_voc/mAP', 'greater')  # records name AP
        if isinstance(hook, TicketHook):
            assert hook.key_map == 'auto' and not hook.strict  # neck and head stay dense
            assert hook.reverse == ('reversed' in path.name)
            assert hook.randomize == path.name.startswith(('transfer_random_', 'random_'))
            assert hook.seed == 0 and not hook.reinit
        if isinstance(hook, IMPHook):
            assert hook.scope == PruneScope(prefix='backbone.') and hook.rewind == 'pt_trans'
            assert hook.round_length in (None, cfg.train_cfg.max_iters)


@pytest.mark.parametrize('path', VOC, ids=config_id)
def test_detection_recipe(path: Path) -> None:
    """The original's recipe, data and experiment settings, read back from the merged config."""
    cfg = parsed(path)
    assert cfg.model.bbox_head.num_classes == 20 and cfg.model.backbone.depth == 50
    # The anchors the original computes with: config/yolov4_config.py's grid units times each
    # level's stride (model/head/yolo_head.py), not the YOLOv4 pixel values of its comments.
    grid_units = [[(1.25, 1.625), (2.0, 3.75), (4.125, 2.875)],
                  [(1.875, 3.8125), (3.875, 2.8125), (3.6875, 7.4375)],
                  [(3.625, 2.8125), (4.875, 6.1875), (11.65625, 10.1875)]]
    pixels = [[(w * stride, h * stride) for w, h in level]
              for level, stride in zip(grid_units, (8, 16, 32))]
    anchors = cfg.model.bbox_head.anchor_generator
    assert anchors.base_sizes == pixels[::-1] and anchors.strides == [32, 16, 8]
    assert anchors.base_sizes == [[(116, 90), (156, 198), (373, 326)],
                                  [(30, 61), (62, 45), (59, 119)],
                                  [(10, 13), (16, 30), (33, 23)]]
    assert cfg.data_preprocessor.mean == [123.675, 116.28, 103.53]

    # Evaluation: the original keeps a box (its argmax class) if objectness x class probability
    # > 0.005, NMS at 0.45, no cap: at most one box per anchor, 10,647 at 416 x 416. YOLOV3Head's
    # tightest thresholds that keep all of those; every (box, class) pair into NMS.
    test = cfg.model.test_cfg
    anchors_416 = (13 ** 2 + 26 ** 2 + 52 ** 2) * 3
    assert (test.conf_thr, test.score_thr, test.min_bbox_size) == (0.005, 0.005, 0)
    assert test.nms == dict(type='nms', iou_threshold=0.45)
    assert (test.nms_pre, test.max_per_img) == (anchors_416 * 20, anchors_416) == (212940, 10647)

    # 120 epochs of the 16,551 VOC07+12 trainval images at batch 8, in iterations.
    optim = cfg.optim_wrapper
    assert (optim.optimizer.type, optim.optimizer.lr, optim.optimizer.momentum,
            optim.optimizer.weight_decay, optim.accumulative_counts) == ('SGD', 1e-4, 0.9, 5e-4, 2)
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.train_cfg.max_iters == 120 * 2069 and -(-16551 // 8) == 2069
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.end) == ('LinearLR', 2 * 2069)
    assert (cosine.type, cosine.eta_min, cosine.begin, cosine.end) == (
        'CosineAnnealingLR', 1e-6, 2 * 2069, 120 * 2069)
    assert not warmup.by_epoch and not cosine.by_epoch
    assert cfg.default_hooks.checkpoint.interval == cfg.train_cfg.val_interval

    train = cfg.train_dataloader
    assert train.batch_size == 8 and train.sampler.type == 'InfiniteSampler'
    lists = [d.ann_file for d in train.dataset.datasets]
    assert lists == ['VOC2007/ImageSets/Main/trainval.txt', 'VOC2012/ImageSets/Main/trainval.txt']
    assert cfg.test_dataloader.dataset.ann_file == 'VOC2007/ImageSets/Main/test.txt'
    assert cfg.val_dataloader.dataset.ann_file == 'VOC2007/ImageSets/Main/test.txt'
    for split in ('train', 'test'):
        pipeline = [d for d in walk(cfg[f'{split}_dataloader'].dataset)
                    if d.get('type') in ('Resize', 'Pad')]
        sizes = {tuple(d.get('scale', d.get('size'))) for d in pipeline}
        assert sizes == {(416, 416)}, sizes

    name = path.name
    hooks = cfg.get('custom_hooks', [])
    if name.startswith('finetune_'):
        assert not hooks and cfg.default_hooks.checkpoint.save_best == 'pascal_voc/mAP'
    elif name.startswith('transfer_'):  # the ticket (reversed, or a random one of its size)
        (hook, ) = hooks
        assert hook.type == 'TicketHook' and hook.ticket == '???'
        assert hook.get('randomize', False) == name.startswith('transfer_random_')
        assert cfg.default_hooks.checkpoint.save_best == 'pascal_voc/mAP'
    else:
        (hook, ) = hooks
        assert (hook.rounds, hook.rate, hook.round_length) == (18, 0.2, 120 * 2069)
        assert hook.get('criterion', 'magnitude') == ('random' if 'random' in name
                                                      else 'magnitude')
        assert 'imagenet' in name


def test_model_base_keeps_mmdetection_test_cfg() -> None:
    """The model base (and so the demo detector, whose documented results used it) keeps
    MMDetection's YOLOv3 test settings; only the VOC configs take the original's thresholds."""
    mmdet_yolov3 = dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, conf_thr=0.005,
                        nms=dict(type='nms', iou_threshold=0.45), max_per_img=100)
    base = load_cfg(DET / '_base_' / 'models' / 'yolov3_r50.py')
    assert base.model.test_cfg.to_dict() == mmdet_yolov3
    for path in DEMO:
        assert parsed(path).model.test_cfg.to_dict() == mmdet_yolov3


def test_docs_name_every_detection_config() -> None:
    """docs/detection.md gives a command for every detection config, and only real ones."""
    docs = (CONFIGS.parent / 'docs' / 'detection.md').read_text()
    named = set(re.findall(r'configs/(?:demo/)?detection/[\w/]+\.py', docs))
    missing = [p for p in named if not (CONFIGS.parent / p).is_file()]
    assert not missing, f'docs name configs that do not exist: {missing}'
    absent = [config_id(p) for p in ALL if str(p.relative_to(CONFIGS.parent)) not in named]
    assert not absent, f'configs without a command in the docs: {absent}'


def test_missing_checkpoint_names_the_file(tmp_path: Path) -> None:
    """A config whose pre-trained file is absent fails at init_weights, naming the path."""
    cfg = load_cfg(DET / 'voc0712' / 'finetune_imagenet_yolov3_r50_voc0712.py')
    missing = tmp_path / 'checkpoints' / 'imagenet_weight.pt'
    cfg.model.backbone.init_cfg[-1].checkpoint = str(missing)
    model = MODELS.build(cfg.model)
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        model.init_weights()
