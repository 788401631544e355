"""Digit canvases: scikit-learn's handwritten digits placed on larger images, offline.

One generator, :func:`make_digit_canvases`, serves detection and segmentation alike: every canvas
carries the RGB image, the tight boxes and labels of its digits and a per-pixel class map drawn
from the same pixels. The writers store canvases in the real Pascal VOC layouts, so the stack's
own datasets read them with no lth_mm code in between:

- :func:`write_voc_detection`: ``VOCdevkit/VOC2007/{JPEGImages, Annotations, ImageSets/Main}``
  (and optionally ``VOC2012`` trainval), read by MMDetection's ``VOCDataset`` and its
  ``_base_/datasets/voc0712.py``;
- :func:`write_voc_segmentation`: ``VOCdevkit/VOC2012/{JPEGImages, SegmentationClass,
  ImageSets/Segmentation}`` with VOC's palette PNG labels, read by MMSegmentation's
  ``PascalVOCDataset``.

Canvas ``i`` of a pool is a pure function of ``(seed, pool, i)`` and the canvas options, so the
first canvases of a long run equal those of a short one, and the segmentation writer produces
exactly the detection writer's images for the same arguments. The source digits come from the
stratified split of :func:`lth_mm.datasets.digits_split_indices` (seed 0, 60 / 20 / 20 %, the
``Digits`` dataset's default): training canvases use the 'train' digits, evaluation canvases the
'test' digits, so no handwritten sample is seen both in training and in testing.

Labels: boxes and ``labels`` hold the digit ``d`` (0-9; detection class ``str(d)``); the class
map holds 0 for background, ``d + 1`` for the pixels of digit ``d`` and 255 on a thin band
around each digit (VOC's "void" border, ignored by the segmentation losses and metrics).
"""
from __future__ import annotations

import io
import os
import zlib
from collections.abc import Sequence
from typing import NamedTuple
from xml.etree import ElementTree as ET

import cv2
import numpy as np
from PIL import Image

from ..core.atomic import atomic_write_bytes
from ._utils import save_image, write_lines
from .digits import digits_split_indices

__all__ = [
    'DIGIT_CLASSES', 'SEG_CLASSES', 'DigitCanvas', 'VOCSplit', 'make_digit_canvases',
    'voc_palette', 'write_voc_detection', 'write_voc_segmentation'
]

PathLike = str | os.PathLike

#: Detection class names: the digits, label ``d`` is ``str(d)``.
DIGIT_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))
#: Segmentation class names by class-map value: 0 background, ``d + 1`` the digit ``d``.
SEG_CLASSES: tuple[str, ...] = ('background', ) + DIGIT_CLASSES
#: Value of the ignore band in class maps (VOC's "void").
IGNORE = 255
#: Fraction of full intensity above which a pixel belongs to a digit (its "ink").
INK_THRESHOLD = 0.5
POOLS = ('train', 'val', 'test')


class DigitCanvas(NamedTuple):
    """One canvas.

    Attributes:
        image: H x W x 3 uint8, RGB.
        boxes: N x 4 int64 ``[x1, y1, x2, y2]`` in pixel edges (``x2``, ``y2`` exclusive): the
            tight box of each digit's ink (the pixels with class ``d + 1`` in ``class_map``
            drawn by that digit).
        labels: N int64, the digits 0-9.
        class_map: H x W uint8: 0 background, ``d + 1`` digit ``d``, 255 ignore band.
        sources: N int64, the index of each digit in ``sklearn.datasets.load_digits()``.
    """

    image: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    class_map: np.ndarray
    sources: np.ndarray


class VOCSplit(NamedTuple):
    """The image ids of one ``ImageSets`` list file and their canvases, in file order."""

    ids: list[str]
    canvases: list[DigitCanvas]


# Generation ---------------------------------------------------------------------------------
_DIGITS: tuple[np.ndarray, np.ndarray] | None = None


def _digits() -> tuple[np.ndarray, np.ndarray]:
    """``load_digits()`` images scaled to [0, 1] and labels (cached, read offline)."""
    global _DIGITS
    if _DIGITS is None:
        from sklearn.datasets import load_digits
        bunch = load_digits()
        _DIGITS = (bunch.images.astype(np.float32) / 16.0, bunch.target.astype(np.int64))
    return _DIGITS


def _pool(pool: str, classes: Sequence[int]) -> np.ndarray:
    """Indices into ``load_digits()`` of the pool's digits of ``classes``."""
    if pool not in POOLS:
        raise ValueError(f'digit canvases: pool={pool!r} is not one of {POOLS}')
    _, labels = _digits()
    indices = digits_split_indices(labels, seed=0, val_ratio=0.2, test_ratio=0.2)[pool]
    return indices[np.isin(labels[indices], classes)]


def _check_range(name: str, value: Sequence[int], low: int) -> tuple[int, int]:
    if (len(value) != 2 or not all(isinstance(v, (int, np.integer)) for v in value)
            or not low <= value[0] <= value[1]):
        raise ValueError(f'digit canvases: {name} must be (min, max) ints with '
                         f'{low} <= min <= max, got {value!r}')
    return int(value[0]), int(value[1])


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one box with each of ``others`` (pixel-edge boxes)."""
    if not len(others):
        return np.zeros(0)
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[2], others[:, 2])
    y2 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / (area + areas - inter)


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A dark, smoothly shaded background with sensor-like noise (float32, 0-255)."""
    start, end = rng.uniform(10, 110, size=(2, 3))
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (xx * np.cos(angle) + yy * np.sin(angle))
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1.0)
    image = start + (end - start) * ramp[..., None]
    return image + rng.normal(0, 6, size=image.shape)


def _canvas(rng: np.random.Generator, pool: np.ndarray, canvas_size: tuple[int, int],
            per_image: tuple[int, int], digit_size: tuple[int, int], max_iou: float,
            border: int) -> DigitCanvas:
    """Draw one canvas; see :func:`make_digit_canvases`."""
    images, labels = _digits()
    height, width = canvas_size
    image = _background(rng, height, width)
    class_map = np.zeros((height, width), np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    boxes, digits, sources = [], [], []
    for _ in range(int(rng.integers(per_image[0], per_image[1] + 1))):
        source = int(rng.choice(pool))
        size = int(rng.integers(digit_size[0], digit_size[1] + 1))
        cell_w = max(8, int(round(size * rng.uniform(0.8, 1.25))))
        alpha = np.clip(cv2.resize(images[source], (cell_w, size),
                                   interpolation=cv2.INTER_LINEAR), 0.0, 1.0)
        ink = alpha >= INK_THRESHOLD
        rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
        tight = np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1])
        for _attempt in range(50):
            x = int(rng.integers(0, width - cell_w + 1))
            y = int(rng.integers(0, height - size + 1))
            box = tight + np.array([x, y, x, y])
            if not len(boxes) or _iou(box, np.array(boxes)).max() <= max_iou:
                break
        else:
            continue  # no room for this digit: the canvas keeps fewer
        colour = rng.uniform(150, 255, size=3)
        region = image[y:y + size, x:x + cell_w]
        region += (colour - region) * alpha[..., None]
        drawn = np.zeros((height, width), np.uint8)
        drawn[y:y + size, x:x + cell_w] = ink
        band = cv2.dilate(drawn, kernel, iterations=border).astype(bool) & (class_map == 0)
        class_map[band] = IGNORE
        class_map[drawn.astype(bool)] = labels[source] + 1
        boxes.append(box)
        digits.append(int(labels[source]))
        sources.append(source)
    image = np.clip(np.round(image), 0, 255).astype(np.uint8)
    return DigitCanvas(image, np.array(boxes, np.int64).reshape(-1, 4),
                       np.array(digits, np.int64), class_map, np.array(sources, np.int64))


def make_digit_canvases(num_images: int,
                        pool: str = 'train',
                        seed: int = 0,
                        first_index: int = 0,
                        canvas_size: tuple[int, int] = (128, 128),
                        digits_per_image: tuple[int, int] = (1, 4),
                        digit_size: tuple[int, int] = (20, 56),
                        max_iou: float = 0.1,
                        border: int = 2,
                        classes: Sequence[int] | None = None) -> list[DigitCanvas]:
    """Make canvases of scikit-learn digits (real handwriting) at varied scales, deterministically.

    Each canvas has a dark shaded background with noise and ``digits_per_image`` digits of
    ``pool``, each upscaled (bilinear) to a height drawn from ``digit_size`` and a width of 0.8 to
    1.25 times it, painted in a random bright colour (alpha = the digit's intensity) at a random
    place where its tight box has IoU at most ``max_iou`` with the boxes already placed (a digit
    that finds no such place in 50 tries is left out, so some canvases hold fewer digits; the
    first always fits). Later digits are painted over earlier ones.

    Args:
        num_images: How many canvases.
        pool: Which digits to draw from: 'train', 'val' or 'test' of the stratified split of
            ``load_digits()`` (seed 0, 60 / 20 / 20 %).
        seed: Seed of the drawing.
        first_index: Index of the first canvas: canvas ``i`` depends only on ``(seed, pool, i)``
            and the options, so ``make_digit_canvases(2, first_index=3)`` equals items 3 and 4
            of ``make_digit_canvases(5)``.
        canvas_size: ``(height, width)`` of the canvases.
        digits_per_image: ``(min, max)`` digits per canvas.
        digit_size: ``(min, max)`` digit height in pixels (the 8x8 cell, before the tight box).
        max_iou: Largest IoU allowed between two digits' boxes, in [0, 1).
        border: Width in pixels of the ignore band (255) around each digit in ``class_map``.
        classes: Digits to use, e.g. ``(0, 1, 2)``; default all ten.

    Returns:
        A list of :class:`DigitCanvas`.
    """
    if isinstance(num_images, bool) or not isinstance(num_images, int) or num_images < 0:
        raise ValueError(f'digit canvases: num_images must be an int >= 0, got {num_images!r}')
    if (len(canvas_size) != 2 or not all(isinstance(v, (int, np.integer)) for v in canvas_size)
            or min(canvas_size) < 8):
        raise ValueError('digit canvases: canvas_size must be (height, width) ints >= 8, got '
                         f'{canvas_size!r}')
    height, width = int(canvas_size[0]), int(canvas_size[1])
    low, high = _check_range('digit_size', digit_size, 8)
    if round(high * 1.25) > width or high > height:
        raise ValueError(f'digit canvases: digit_size={digit_size} does not fit a canvas of '
                         f'{canvas_size} (height x width; a digit is up to 1.25x as wide as high)')
    per_image = _check_range('digits_per_image', digits_per_image, 1)
    if not 0.0 <= max_iou < 1.0:
        raise ValueError(f'digit canvases: max_iou must be in [0, 1), got {max_iou!r}')
    if not isinstance(border, int) or border < 0:
        raise ValueError(f'digit canvases: border must be an int >= 0, got {border!r}')
    classes = tuple(range(10)) if classes is None else tuple(int(c) for c in classes)
    if not classes or not set(classes) <= set(range(10)):
        raise ValueError(f'digit canvases: classes must be digits 0-9, got {classes!r}')
    indices = _pool(pool, classes)
    stream = zlib.crc32(pool.encode())
    return [_canvas(np.random.default_rng([seed, stream, index]), indices, (height, width),
                    per_image, (low, high), max_iou, border)
            for index in range(first_index, first_index + num_images)]


# Writers ------------------------------------------------------------------------------------
def voc_palette() -> list[int]:
    """Pascal VOC's 256-colour palette (flat RGB list): class 1 is (128, 0, 0), 255 is
    (224, 224, 192), as in the official ``SegmentationClass`` PNGs."""
    palette = []
    for index in range(256):
        rgb, value = [0, 0, 0], index
        for bit in range(8):
            for channel in range(3):
                rgb[channel] |= ((value >> channel) & 1) << (7 - bit)
            value >>= 3
        palette += rgb
    return palette


def _save_jpeg(path: str, image: np.ndarray) -> None:
    save_image(path, Image.fromarray(image), format='JPEG', quality=95)


def _annotation_xml(year: str, image_id: str, canvas: DigitCanvas,
                    names: Sequence[str]) -> ET.ElementTree:
    """A VOC annotation: 1-based inclusive pixel coordinates, as the official files."""
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = year
    ET.SubElement(root, 'filename').text = f'{image_id}.jpg'
    source = ET.SubElement(root, 'source')
    ET.SubElement(source, 'database').text = 'lth_mm digit canvases'
    ET.SubElement(source, 'annotation').text = 'lth_mm.datasets.digit_canvas'
    ET.SubElement(source, 'image').text = 'scikit-learn load_digits'
    size = ET.SubElement(root, 'size')
    height, width, depth = canvas.image.shape
    for tag, value in (('width', width), ('height', height), ('depth', depth)):
        ET.SubElement(size, tag).text = str(value)
    ET.SubElement(root, 'segmented').text = '0'
    for (x1, y1, x2, y2), label in zip(canvas.boxes.tolist(), canvas.labels.tolist()):
        obj = ET.SubElement(root, 'object')
        ET.SubElement(obj, 'name').text = names[label]
        ET.SubElement(obj, 'pose').text = 'Unspecified'
        ET.SubElement(obj, 'truncated').text = '0'
        ET.SubElement(obj, 'difficult').text = '0'
        box = ET.SubElement(obj, 'bndbox')
        for tag, value in (('xmin', x1 + 1), ('ymin', y1 + 1), ('xmax', x2), ('ymax', y2)):
            ET.SubElement(box, tag).text = str(value)
    ET.indent(root)
    return ET.ElementTree(root)


def _halves(ids: list[str]) -> tuple[list[str], list[str]]:
    """VOC's train / val lists: every other image of trainval, in order."""
    return ids[0::2], ids[1::2]


def write_voc_detection(root: PathLike,
                        trainval: int = 64,
                        test: int = 32,
                        voc2012_trainval: int = 0,
                        seed: int = 0,
                        class_names: Sequence[str] = DIGIT_CLASSES,
                        **canvas_options) -> dict[str, dict[str, VOCSplit]]:
    """Write digit canvases as Pascal VOC detection data under ``root/VOCdevkit``.

    Writes ``VOC2007/{JPEGImages/<id>.jpg, Annotations/<id>.xml}`` and
    ``VOC2007/ImageSets/Main/{trainval, train, val, test}.txt`` plus the per-class lists
    ``<class>_<split>.txt`` (``<id> 1`` when the image holds the class, else ``<id> -1``), as the
    official release; with ``voc2012_trainval > 0`` also ``VOC2012`` with its trainval, train and
    val lists (VOC2012 has no public test set). Point MMDetection's ``voc0712.py`` base at it with
    ``data_root=<root>/VOCdevkit/`` and the classes :data:`DIGIT_CLASSES`
    (``metainfo=dict(classes=DIGIT_CLASSES)``), or write the digits under other names with
    ``class_names``: ``VOCDataset.METAINFO['classes'][:10]`` lets a 20-class VOC config read the
    files unchanged (digit ``d`` is then VOC class ``d``).

    Image ids are ``000001``, ... in VOC2007 (trainval first, then test) and ``2012_000001``,
    ... in VOC2012. Trainval canvases (VOC2007 then VOC2012, one run of indices) use the 'train'
    digits pool, test canvases the 'test' pool; train / val are every other trainval image.

    Args:
        root: Folder that receives ``VOCdevkit``.
        trainval: VOC2007 trainval canvases.
        test: VOC2007 test canvases.
        voc2012_trainval: VOC2012 trainval canvases (0: no VOC2012 folder).
        seed: Seed of the canvases.
        class_names: The object name written for each digit 0-9 (and in the per-class list
            names). Defaults to :data:`DIGIT_CLASSES` (``'0'`` ... ``'9'``).
        **canvas_options: Options of :func:`make_digit_canvases` (``canvas_size``,
            ``digit_size``, ...).

    Returns:
        ``{'VOC2007': {'trainval': VOCSplit, 'train': ..., 'val': ..., 'test': ...},
        'VOC2012': {...}}`` with the ids in list order and their canvases.
    """
    if len(class_names) != 10 or len(set(class_names)) != 10:
        raise ValueError(f'write_voc_detection: class_names must be 10 distinct names, one per '
                         f'digit, got {class_names!r}')
    made = {
        'VOC2007': {
            'trainval': make_digit_canvases(trainval, 'train', seed, 0, **canvas_options),
            'test': make_digit_canvases(test, 'test', seed, 0, **canvas_options)}}
    if voc2012_trainval:
        made['VOC2012'] = {'trainval': make_digit_canvases(
            voc2012_trainval, 'train', seed, trainval, **canvas_options)}
    out: dict[str, dict[str, VOCSplit]] = {}
    for year, splits in made.items():
        folder = os.path.join(os.fspath(root), 'VOCdevkit', year)
        number = iter(range(1, 1 + sum(len(c) for c in splits.values())))
        out[year] = {}
        for split, canvases in splits.items():
            ids = [f'{next(number):06d}' if year == 'VOC2007' else f'2012_{next(number):06d}'
                   for _ in canvases]
            for image_id, canvas in zip(ids, canvases):
                _save_jpeg(os.path.join(folder, 'JPEGImages', f'{image_id}.jpg'), canvas.image)
                path = os.path.join(folder, 'Annotations', f'{image_id}.xml')
                os.makedirs(os.path.dirname(path), exist_ok=True)
                xml = io.BytesIO()
                _annotation_xml(year, image_id, canvas, class_names).write(xml, encoding='utf-8')
                atomic_write_bytes(path, xml.getvalue())
            out[year][split] = VOCSplit(ids, canvases)
            if split == 'trainval':
                for name, half in zip(('train', 'val'), _halves(list(zip(ids, canvases)))):
                    out[year][name] = VOCSplit([i for i, _ in half], [c for _, c in half])
        for split, (ids, canvases) in out[year].items():
            main = os.path.join(folder, 'ImageSets', 'Main')
            write_lines(os.path.join(main, f'{split}.txt'), ids)
            for label, name in enumerate(class_names):
                write_lines(os.path.join(main, f'{name}_{split}.txt'),
                             [f'{i} {1 if label in c.labels else -1:2d}'
                              for i, c in zip(ids, canvases)])
    return out


def write_voc_segmentation(root: PathLike,
                           train: int = 64,
                           val: int = 32,
                           seed: int = 0,
                           aug: int = 0,
                           **canvas_options) -> dict[str, VOCSplit]:
    """Write digit canvases as Pascal VOC 2012 segmentation data under ``root/VOCdevkit``.

    Writes ``VOC2012/JPEGImages/<id>.jpg``, ``VOC2012/SegmentationClass/<id>.png`` (single-channel
    palette PNGs with VOC's palette: pixel value 0 background, ``d + 1`` the digit ``d``, 255 the
    ignore band) and ``VOC2012/ImageSets/Segmentation/{train, val, trainval}.txt``. The canvases
    are exactly those of :func:`write_voc_detection` with the same ``seed`` and options: train =
    its first ``train`` trainval canvases ('train' digits), val = its first ``val`` test
    canvases ('test' digits). Ids are ``seg_000001``, ... (train first), apart from the detection
    ids so both writers can share a ``VOCdevkit``.

    MMSegmentation's ``PascalVOCDataset`` reads it as it is (``data_root=<root>/VOCdevkit/VOC2012``,
    ``data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass')``,
    ``ann_file='ImageSets/Segmentation/train.txt'``). Its class list is VOC's 21 names and it
    accepts only subsets of them, so the digit labels 0-10 are read under VOC's first 11 names
    (``background``, ``aeroplane`` ... ``cow``: ``metainfo=dict(classes=<those 11>)`` keeps the
    pixel values unchanged and makes an 11-class metric). Names that say what the classes are
    (:data:`SEG_CLASSES`) need MMSegmentation's ``BaseSegDataset`` with the same arguments plus
    ``img_suffix='.jpg'``, ``seg_map_suffix='.png'``, ``metainfo=dict(classes=SEG_CLASSES)``.

    With ``aug > 0`` it also writes MMSegmentation's augmented set (``_base_/datasets/
    pascal_voc12_aug.py``): ``aug`` more canvases of the 'train' digits (the indices after the
    train canvases'), their labels as plain grey PNGs in ``VOC2012/SegmentationClassAug/`` (as
    MMSegmentation's ``tools/dataset_converters/voc_aug.py`` writes SBD's, ignore band kept) and
    their ids in ``ImageSets/Segmentation/aug.txt``.

    Args:
        root: Folder that receives ``VOCdevkit``.
        train: Training canvases.
        val: Validation canvases.
        seed: Seed of the canvases.
        aug: Canvases of the augmented set (0: none).
        **canvas_options: Options of :func:`make_digit_canvases`.

    Returns:
        ``{'train': VOCSplit, 'val': VOCSplit, 'trainval': VOCSplit}``, and ``'aug'`` when
        ``aug > 0``.
    """
    folder = os.path.join(os.fspath(root), 'VOCdevkit', 'VOC2012')
    palette = voc_palette()
    splits = {'train': make_digit_canvases(train, 'train', seed, 0, **canvas_options),
              'val': make_digit_canvases(val, 'test', seed, 0, **canvas_options)}
    if aug:
        splits['aug'] = make_digit_canvases(aug, 'train', seed, train, **canvas_options)
    number = iter(range(1, train + val + aug + 1))
    out: dict[str, VOCSplit] = {}
    for split, canvases in splits.items():
        ids = [f'seg_{next(number):06d}' for _ in canvases]
        for image_id, canvas in zip(ids, canvases):
            _save_jpeg(os.path.join(folder, 'JPEGImages', f'{image_id}.jpg'), canvas.image)
            height, width = canvas.class_map.shape
            label = Image.frombytes('L' if split == 'aug' else 'P', (width, height),
                                    canvas.class_map.tobytes())
            if split != 'aug':
                label.putpalette(palette)
            labels = 'SegmentationClassAug' if split == 'aug' else 'SegmentationClass'
            save_image(os.path.join(folder, labels, f'{image_id}.png'), label, format='PNG')
        out[split] = VOCSplit(ids, canvases)
    out['trainval'] = VOCSplit(out['train'].ids + out['val'].ids,
                               out['train'].canvases + out['val'].canvases)
    for split, (ids, _) in out.items():
        write_lines(os.path.join(folder, 'ImageSets', 'Segmentation', f'{split}.txt'), ids)
    return out
