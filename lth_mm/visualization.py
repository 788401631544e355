"""Pictures of segmentation results: images beside their ground truth and predicted masks.

Plain numpy and PIL (no OpenMMLab import), so demos and notebooks can draw what a segmenter
predicted for a few images: :func:`draw_segmentation` lays out one row per image and one column
each for the image, the ground truth and every prediction (e.g. the dense model, an IMP ticket and
a random ticket), with class maps coloured by Pascal VOC's palette (255, VOC's "void", in its
cream colour) and a title above each column.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw

from .datasets.digit_canvas import voc_palette

__all__ = ['colorize', 'draw_segmentation']

#: Height in pixels of the title band above the columns.
TITLE_HEIGHT = 14
#: Width in pixels of the gaps between cells.
GAP = 4


def colorize(class_map: np.ndarray, palette: Sequence[int] | None = None) -> np.ndarray:
    """Colour an H x W class map (values 0-255) with a flat RGB palette (default: VOC's).

    Returns:
        H x W x 3 uint8.
    """
    class_map = np.asarray(class_map)
    if class_map.ndim != 2 or not np.issubdtype(class_map.dtype, np.integer):
        raise ValueError(f'colorize: expected an H x W integer class map, got shape '
                         f'{class_map.shape} of {class_map.dtype}')
    if class_map.size and (class_map.min() < 0 or class_map.max() > 255):
        raise ValueError('colorize: class values must be in 0..255, got '
                         f'{class_map.min()}..{class_map.max()}')
    table = np.asarray(voc_palette() if palette is None else palette, np.uint8)
    if table.shape != (768, ):
        raise ValueError(f'colorize: a palette is 256 RGB triples (768 ints), got {table.size}')
    return table.reshape(256, 3)[class_map.astype(np.intp)]


def draw_segmentation(images: Sequence[np.ndarray],
                      ground_truth: Sequence[np.ndarray],
                      predictions: Mapping[str, Sequence[np.ndarray]],
                      path: str | os.PathLike | None = None,
                      scale: int = 2,
                      palette: Sequence[int] | None = None) -> np.ndarray:
    """Draw images, their ground-truth masks and predicted masks side by side.

    Args:
        images: N images, H x W x 3 uint8 RGB (each may have its own size).
        ground_truth: N class maps, H x W integers (0 background, 255 ignore).
        predictions: Column title -> N predicted class maps, e.g.
            ``{'dense': [...], 'IMP ticket 87.5 %': [...]}``; columns keep this order.
        path: Where to save the picture as PNG (folders are created); None: not saved.
        scale: Integer magnification of every cell (nearest neighbour, so class edges stay
            sharp).
        palette: Flat RGB palette of 256 colours for the class maps; default VOC's.

    Returns:
        The picture, H' x W' x 3 uint8: a white background, one row per image with the cells
        ``image | ground truth | prediction ...``, the column titles on top.
    """
    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise ValueError(f'draw_segmentation: scale must be an int >= 1, got {scale!r}')
    count = len(images)
    if not count:
        raise ValueError('draw_segmentation: no images given')
    columns = {'image': list(images), 'ground truth': list(ground_truth)}
    for title, maps in predictions.items():
        if title in columns:
            raise ValueError(f'draw_segmentation: prediction title {title!r} is taken')
        columns[title] = list(maps)
    for title, cells in columns.items():
        if len(cells) != count:
            raise ValueError(f'draw_segmentation: {count} images but {len(cells)} '
                             f'{title!r} maps')
    rows = []
    for index in range(count):
        image = np.asarray(images[index])
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f'draw_segmentation: image {index} must be H x W x 3 uint8, got '
                             f'{image.shape} {image.dtype}')
        cells = [image]
        for title, maps in list(columns.items())[1:]:
            class_map = np.asarray(maps[index])
            if class_map.shape != image.shape[:2]:
                raise ValueError(f'draw_segmentation: {title!r} map {index} is '
                                 f'{class_map.shape}, its image {image.shape[:2]}')
            cells.append(colorize(class_map, palette))
        rows.append([np.kron(c, np.ones((scale, scale, 1), np.uint8)) for c in cells])
    measure = ImageDraw.Draw(Image.new('RGB', (1, 1)))
    widths = [max(max(row[c].shape[1] for row in rows), int(measure.textlength(title)) + 2)
              for c, title in enumerate(columns)]
    heights = [max(cell.shape[0] for cell in row) for row in rows]
    width = sum(widths) + GAP * (len(widths) + 1)
    height = TITLE_HEIGHT + sum(heights) + GAP * (len(heights) + 1)
    canvas = np.full((height, width, 3), 255, np.uint8)
    y = TITLE_HEIGHT + GAP
    for row, row_height in zip(rows, heights):
        x = GAP
        for cell, column_width in zip(row, widths):
            canvas[y:y + cell.shape[0], x:x + cell.shape[1]] = cell
            x += column_width + GAP
        y += row_height + GAP
    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    x = GAP
    for title, column_width in zip(columns, widths):
        draw.text((x, 1), title, fill=(0, 0, 0))
        x += column_width + GAP
    if path is not None:
        folder = os.path.dirname(os.fspath(path))
        if folder:
            os.makedirs(folder, exist_ok=True)
        picture.save(path, format='PNG')
    return np.asarray(picture)
