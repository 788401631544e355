"""scikit-learn's 8x8 digits (1,797 images, 10 classes, offline) as a small MMPretrain dataset."""
from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import cv2
import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

__all__ = ['Digits', 'digits_split_indices']

SPLITS = ('train', 'val', 'test')
INTERPOLATIONS = {'nearest': cv2.INTER_NEAREST, 'bilinear': cv2.INTER_LINEAR}


def digits_split_indices(labels: np.ndarray, seed: int, val_ratio: float,
                         test_ratio: float) -> dict[str, np.ndarray]:
    """Deterministic stratified split of ``range(len(labels))`` into train / val / test.

    Per class (in label order), its indices are shuffled by one ``np.random.default_rng(seed)``;
    the first ``round(n_c * test_ratio)`` go to 'test', the next ``round(n_c * val_ratio)`` to
    'val' and the rest to 'train'. Each split's indices are returned sorted.
    """
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {split: [] for split in SPLITS}
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        n_test, n_val = round(len(idx) * test_ratio), round(len(idx) * val_ratio)
        parts['test'].append(idx[:n_test])
        parts['val'].append(idx[n_test:n_test + n_val])
        parts['train'].append(idx[n_test + n_val:])
    return {split: np.sort(np.concatenate(chunks)) for split, chunks in parts.items()}


@DATASETS.register_module()
class Digits(BaseDataset):
    """scikit-learn's ``load_digits`` as in-memory images, with a seeded stratified split.

    The split is made on all 1,797 images (default 60 % train / 20 % val / 20 % test, exactly
    ``round(n_c * ratio)`` per class, see :func:`digits_split_indices`) BEFORE ``classes`` picks a
    subset, so an image's split never depends on ``classes``: the digits 0-4 and 5-9 of one seed
    come from the same partition. Pixel values 0..16 are scaled to 0..255 (``round(v * 255 /
    16)``), then resized to ``img_size`` and repeated to ``channels``. Each data info holds
    ``img`` (``img_size x img_size x channels`` uint8), ``gt_label`` (int) and ``source_index``
    (the index in ``load_digits``).

    Args:
        split (str): 'train', 'val' or 'test'. Defaults to 'train'.
        seed (int): Seed of the split. Defaults to 0.
        val_ratio (float): Fraction of each class in 'val'. Defaults to 0.2.
        test_ratio (float): Fraction of each class in 'test'. Defaults to 0.2.
        classes (Sequence[int], optional): Digits to keep, e.g. ``(0, 1, 2, 3, 4)``; they are
            relabelled 0..n-1 in the given order (``(5, 6, 7, 8, 9)`` -> 5 is label 0) and named
            ``'5'``, ... in ``metainfo['classes']``. Unlike mmpretrain's ``classes`` argument
            these are digits, not class names. Defaults to None (all ten, label = digit).
        img_size (int): Side of the square output image. Defaults to 8 (no resize).
        channels (int): 1 (grey) or 3 (the grey value repeated). Defaults to 1.
        interpolation (str): 'nearest' or 'bilinear' resize. Defaults to 'nearest'.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset`` (pipeline, test_mode, ...);
            ``data_root`` and ``ann_file`` are not needed.
    """

    METAINFO: ClassVar[dict] = {'classes': tuple(str(digit) for digit in range(10))}

    def __init__(self,
                 split: str = 'train',
                 seed: int = 0,
                 val_ratio: float = 0.2,
                 test_ratio: float = 0.2,
                 classes: Sequence[int] | None = None,
                 img_size: int = 8,
                 channels: int = 1,
                 interpolation: str = 'nearest',
                 metainfo: dict | None = None,
                 **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'Digits: split={split!r} is not supported; use one of {SPLITS}')
        if not (0 <= val_ratio < 1 and 0 <= test_ratio < 1 and val_ratio + test_ratio < 1):
            raise ValueError(f'Digits: val_ratio={val_ratio} and test_ratio={test_ratio} must be '
                             'in [0, 1) and sum to less than 1')
        if isinstance(img_size, bool) or not isinstance(img_size, int) or img_size < 1:
            raise ValueError(f'Digits: img_size must be a positive int, got {img_size!r}')
        if channels not in (1, 3):
            raise ValueError(f'Digits: channels must be 1 or 3, got {channels!r}')
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f'Digits: interpolation={interpolation!r} is not one of '
                             f'{tuple(INTERPOLATIONS)}')
        self.split, self.seed = split, seed
        self.val_ratio, self.test_ratio = val_ratio, test_ratio
        self.digits = self._check_digits(classes)
        self.img_size, self.channels, self.interpolation = img_size, channels, interpolation
        metainfo = {'classes': tuple(str(d) for d in self.digits), **(metainfo or {})}
        super().__init__(ann_file='', metainfo=metainfo, **kwargs)

    @staticmethod
    def _check_digits(classes: Sequence[int] | None) -> tuple[int, ...]:
        """Validate the ``classes`` argument: distinct digits 0..9."""
        if classes is None:
            return tuple(range(10))
        if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence):
            raise TypeError(f'Digits: classes must be a sequence of digits, got {classes!r}')
        digits = tuple(classes)
        if not digits or len(set(digits)) != len(digits) or not all(
                isinstance(d, (int, np.integer)) and not isinstance(d, bool) and 0 <= d <= 9
                for d in digits):
            raise ValueError('Digits: classes must be distinct ints in 0..9, e.g. (0, 1, 2, 3, 4);'
                             f' got {classes!r}')
        return tuple(int(d) for d in digits)

    def load_data_list(self) -> list[dict]:
        """Split ``load_digits``, keep the chosen digits and build the images."""
        from sklearn.datasets import load_digits  # here: 0.8 s of imports, paid by digits runs only

        bunch = load_digits()
        labels = bunch.target.astype(np.int64)
        indices = digits_split_indices(labels, self.seed, self.val_ratio, self.test_ratio)
        indices = indices[self.split]
        relabel = {digit: new for new, digit in enumerate(self.digits)}
        indices = indices[np.isin(labels[indices], self.digits)]
        data_list = []
        for index in indices:
            img = np.round(bunch.images[index] * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
            if self.img_size != img.shape[0]:
                img = cv2.resize(img, (self.img_size, self.img_size),
                                 interpolation=INTERPOLATIONS[self.interpolation])
            img = np.repeat(img[:, :, None], self.channels, axis=2)
            data_list.append(
                {'img': img, 'gt_label': relabel[int(labels[index])], 'source_index': int(index)})
        return data_list

    def extra_repr(self) -> list[str]:
        """Extra lines of ``repr``."""
        split = f'{self.split} (seed={self.seed}, val={self.val_ratio}, test={self.test_ratio})'
        return [f'Split: \t{split}', f'Digits: \t{self.digits}',
                f'Image: \t{self.img_size}x{self.img_size}x{self.channels}']
