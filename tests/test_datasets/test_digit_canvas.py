"""Digit canvases: deterministic, well-formed, and read by the stack's own VOC datasets.

The generator's contract (``lth_mm.datasets.digit_canvas``): canvas ``i`` depends only on the
seed, the digits pool and ``i``; boxes are the tight boxes of the digits' ink, inside the image,
with low overlap; the class map marks exactly those pixels with ``digit + 1`` and a 255 band
around them; the writers' files are what MMDetection's ``VOCDataset`` and MMSegmentation's
``PascalVOCDataset`` load, pixel for pixel and box for box.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.registry import DefaultScope
from PIL import Image

from lth_mm.datasets import digits_split_indices
from lth_mm.datasets.digit_canvas import (
    DIGIT_CLASSES,
    SEG_CLASSES,
    make_digit_canvases,
    voc_palette,
    write_voc_detection,
    write_voc_segmentation,
)

OPTIONS = dict(canvas_size=(96, 112), digits_per_image=(2, 4), digit_size=(16, 48))


@pytest.fixture(scope='module')
def canvases() -> list:
    return make_digit_canvases(40, seed=3, **OPTIONS)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def _equal(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        all(np.array_equal(x, y) for x, y in zip(ca, cb)) for ca, cb in zip(a, b))


def test_deterministic_by_seed_and_index(canvases: list) -> None:
    again = make_digit_canvases(40, seed=3, **OPTIONS)
    assert _equal(canvases, again)
    assert _equal(make_digit_canvases(5, seed=3, first_index=10, **OPTIONS), canvases[10:15])
    other = make_digit_canvases(5, seed=4, **OPTIONS)
    assert not any(np.array_equal(a.image, b.image) for a, b in zip(other, canvases))


def test_canvases_are_well_formed(canvases: list) -> None:
    counts = []
    for canvas in canvases:
        height, width = OPTIONS['canvas_size']
        assert canvas.image.shape == (height, width, 3) and canvas.image.dtype == np.uint8
        assert canvas.class_map.shape == (height, width) and canvas.class_map.dtype == np.uint8
        boxes = canvas.boxes
        assert boxes.dtype == np.int64 and boxes.shape == (len(canvas.labels), 4)
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= width).all()
        assert (boxes[:, 3] <= height).all()
        assert (boxes[:, 2:] > boxes[:, :2]).all()
        assert set(canvas.labels.tolist()) <= set(range(10))
        for i in range(len(boxes)):
            for j in range(i):
                assert _iou(boxes[i], boxes[j]) <= 0.1 + 1e-9
        counts.append(len(boxes))
    assert min(counts) >= 1 and max(counts) <= 4 and len(set(counts)) > 1  # varied
    heights = np.concatenate([c.boxes[:, 3] - c.boxes[:, 1] for c in canvases])
    assert heights.min() < 30 and heights.max() > 40  # varied scale


def test_class_map_matches_boxes(canvases: list) -> None:
    for canvas in canvases:
        values = set(np.unique(canvas.class_map).tolist())
        assert values <= {0, 255, *range(1, 11)} and 0 in values and 255 in values
        digit = (canvas.class_map >= 1) & (canvas.class_map <= 10)
        covered = np.zeros_like(digit)
        for (x1, y1, x2, y2), label in zip(canvas.boxes, canvas.labels):
            inside = canvas.class_map[y1:y2, x1:x2]
            assert (inside == label + 1).any()  # every box holds pixels of its digit
            covered[y1:y2, x1:x2] |= inside == label + 1
        assert np.array_equal(covered, digit)  # and every digit pixel is in a box of its label
        # The ignore band: nothing but band or digit touches a digit pixel.
        grown = cv2.dilate(digit.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        assert (canvas.class_map[grown & ~digit] == 255).all()
        # The image shows the digits: they are brighter than the background.
        grey = canvas.image.mean(axis=2)
        assert grey[digit].mean() > grey[canvas.class_map == 0].mean() + 40


def test_single_digit_box_is_tight() -> None:
    for canvas in make_digit_canvases(10, seed=1, digits_per_image=(1, 1), border=3):
        (x1, y1, x2, y2), = canvas.boxes
        rows, cols = np.nonzero(canvas.class_map == canvas.labels[0] + 1)
        assert (x1, y1, x2, y2) == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
        band = canvas.class_map == 255
        assert band.any() and (band.sum(0) > 0).sum() <= x2 - x1 + 6  # 3 px on each side


def test_pools_keep_train_and_test_digits_apart() -> None:
    from sklearn.datasets import load_digits
    splits = digits_split_indices(load_digits().target, seed=0, val_ratio=0.2, test_ratio=0.2)
    for pool in ('train', 'test'):
        sources = np.concatenate([c.sources for c in make_digit_canvases(20, pool=pool)])
        assert np.isin(sources, splits[pool]).all()
    only = make_digit_canvases(20, classes=(3, 7))
    assert set(np.concatenate([c.labels for c in only]).tolist()) == {3, 7}


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_images=-1), 'num_images'),
    (dict(num_images=1, pool='trainval'), 'pool'),
    (dict(num_images=1, canvas_size=(4, 64)), 'canvas_size'),
    (dict(num_images=1, digit_size=(40, 20)), 'digit_size'),
    (dict(num_images=1, canvas_size=(64, 64), digit_size=(20, 60)), 'does not fit'),
    (dict(num_images=1, digits_per_image=(0, 2)), 'digits_per_image'),
    (dict(num_images=1, max_iou=1.0), 'max_iou'),
    (dict(num_images=1, classes=(3, 12)), 'classes'),
])
def test_bad_options_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_digit_canvases(**kwargs)


# Writers --------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def voc_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    root = tmp_path_factory.mktemp('voc')
    det = write_voc_detection(root, trainval=6, test=4, voc2012_trainval=3, seed=2, **OPTIONS)
    seg = write_voc_segmentation(root, train=4, val=2, seed=2, **OPTIONS)
    return root, det, seg


@pytest.fixture
def scope() -> Iterator[None]:
    import mmdet.utils
    import mmseg.utils
    mmdet.utils.register_all_modules(init_default_scope=False)
    mmseg.utils.register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


def test_detection_files_are_in_the_voc_layout(voc_root: tuple) -> None:
    root, det, _ = voc_root
    devkit = root / 'VOCdevkit'
    main = devkit / 'VOC2007' / 'ImageSets' / 'Main'
    lists = {s: (main / f'{s}.txt').read_text().split() for s in ('trainval', 'train', 'val',
                                                                     'test')}
    assert lists['trainval'] == [f'{i:06d}' for i in range(1, 7)]
    assert lists['test'] == [f'{i:06d}' for i in range(7, 11)]
    assert sorted(lists['train'] + lists['val']) == lists['trainval']
    assert (devkit / 'VOC2012' / 'ImageSets' / 'Main' / 'trainval.txt').read_text().split() == [
        '2012_000001', '2012_000002', '2012_000003']
    assert not (devkit / 'VOC2012' / 'ImageSets' / 'Main' / 'test.txt').exists()
    for split, (ids, canvases) in det['VOC2007'].items():
        for image_id, canvas in zip(ids, canvases):
            image = np.asarray(Image.open(devkit / 'VOC2007' / 'JPEGImages' / f'{image_id}.jpg'))
            assert image.shape == canvas.image.shape
            assert np.abs(image.astype(int) - canvas.image).mean() < 6  # JPEG, quality 95
            xml = ET.parse(devkit / 'VOC2007' / 'Annotations' / f'{image_id}.xml').getroot()
            assert xml.findtext('filename') == f'{image_id}.jpg'
            assert int(xml.findtext('size/width')) == canvas.image.shape[1]
            objects = xml.findall('object')
            assert [o.findtext('name') for o in objects] == [str(d) for d in canvas.labels]
            boxes = [[int(o.findtext(f'bndbox/{k}')) for k in ('xmin', 'ymin', 'xmax', 'ymax')]
                     for o in objects]
            assert np.array_equal(np.array(boxes).reshape(-1, 4),
                                  canvas.boxes + [1, 1, 0, 0])  # 1-based, inclusive
        for digit in range(10):
            rows = [line.split() for line in
                    (main / f'{digit}_{split}.txt').read_text().splitlines()]
            assert [r[0] for r in rows] == ids
            assert [r[1] == '1' for r in rows] == [digit in c.labels for c in canvases]


def test_mmdet_voc_dataset_reads_detection_files(voc_root: tuple, scope: None) -> None:
    from mmdet.datasets import VOCDataset
    root, det, _ = voc_root
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)]
    for year, split in (('VOC2007', 'trainval'), ('VOC2007', 'test'), ('VOC2012', 'trainval')):
        dataset = VOCDataset(data_root=f'{root / "VOCdevkit"}/',
                             ann_file=f'{year}/ImageSets/Main/{split}.txt',
                             data_prefix=dict(sub_data_root=f'{year}/'),
                             metainfo=dict(classes=DIGIT_CLASSES), pipeline=pipeline,
                             test_mode=split == 'test')
        assert dataset.metainfo['dataset_type'] == year
        ids, canvases = det[year][split]
        assert len(dataset) == len(ids)
        for index, canvas in enumerate(canvases):
            item = dataset[index]
            assert item['img_id'] == ids[index]
            assert np.abs(item['img'][..., ::-1].astype(int) - canvas.image).mean() < 6  # BGR
            # VOCDataset subtracts 1 from the 1-based corners: x2, y2 become the last pixel.
            expected = canvas.boxes - [0, 0, 1, 1]
            assert np.array_equal(item['gt_bboxes'].numpy(), expected.astype(np.float32))
            assert np.array_equal(item['gt_bboxes_labels'], canvas.labels)
            assert not item['gt_ignore_flags'].any()


def test_segmentation_files_are_the_detection_canvases(voc_root: tuple) -> None:
    root, det, seg = voc_root
    folder = root / 'VOCdevkit' / 'VOC2012'
    assert seg['train'].ids == [f'seg_{i:06d}' for i in range(1, 5)]
    assert (folder / 'ImageSets' / 'Segmentation' / 'val.txt').read_text().split() == \
        seg['val'].ids
    assert _equal(seg['train'].canvases, det['VOC2007']['trainval'].canvases[:4])
    assert _equal(seg['val'].canvases, det['VOC2007']['test'].canvases[:2])
    for image_id, canvas in zip(*seg['trainval']):
        label = Image.open(folder / 'SegmentationClass' / f'{image_id}.png')
        assert label.mode == 'P' and label.getpalette()[:6] == [0, 0, 0, 128, 0, 0]
        assert label.getpalette()[255 * 3:] == [224, 224, 192]  # VOC's "void" colour
        assert np.array_equal(np.asarray(label), canvas.class_map)
    assert voc_palette()[3 * 15:3 * 16] == [192, 128, 128]  # VOC's colour of class 15


def test_mmseg_datasets_read_segmentation_files(voc_root: tuple, scope: None) -> None:
    from mmseg.datasets import BaseSegDataset, PascalVOCDataset
    root, _, seg = voc_root
    args = dict(data_root=str(root / 'VOCdevkit' / 'VOC2012'),
                data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
                ann_file='ImageSets/Segmentation/train.txt',
                pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')])
    # PascalVOCDataset takes only VOC's names: the digits read as its first 11 classes.
    voc11 = PascalVOCDataset.METAINFO['classes'][:11]
    with DefaultScope.overwrite_default_scope('mmseg'):
        voc = PascalVOCDataset(metainfo=dict(classes=voc11), **args)
        named = BaseSegDataset(img_suffix='.jpg', seg_map_suffix='.png',
                               metainfo=dict(classes=SEG_CLASSES), **args)
        with pytest.raises(ValueError, match='subset'):
            PascalVOCDataset(metainfo=dict(classes=SEG_CLASSES), **args)
    assert voc.metainfo['classes'] == voc11 and named.metainfo['classes'] == SEG_CLASSES
    for dataset in (voc, named):
        assert len(dataset) == 4
        for index, canvas in enumerate(seg['train'].canvases):
            item = dataset[index]
            assert item['img'].shape == canvas.image.shape
            assert np.array_equal(item['gt_seg_map'], canvas.class_map)


def test_an_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch):
    """Every file is written whole or not at all: an image save that fails midway (a full disk,
    a kill) leaves nothing that a later run would read as a damaged canvas."""
    def failing_save(self, fp, *args, **kwargs):
        if isinstance(fp, (str, os.PathLike)):
            with open(fp, 'wb') as f:
                f.write(b'\xff\xd8 half an image')
        else:
            fp.write(b'\xff\xd8 half an image')
        raise OSError('No space left on device')

    monkeypatch.setattr(Image.Image, 'save', failing_save)
    with pytest.raises(OSError, match='No space left'):
        write_voc_detection(tmp_path, trainval=2, test=2, seed=0)
    assert [p for p in tmp_path.rglob('*') if p.is_file()] == []
