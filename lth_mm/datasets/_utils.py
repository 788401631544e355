"""Helpers shared by lth_mm's datasets: split names, hold-out slicing and missing-file errors."""
from __future__ import annotations

import io
import os
from collections.abc import Sequence

from PIL import Image

from ..core.atomic import atomic_write_bytes, atomic_write_text

__all__ = ['HOLDOUT_SPLITS', 'check_split', 'check_val_size', 'check_local_source', 'holdout_range',
           'require_files', 'save_image', 'write_lines']

HOLDOUT_SPLITS = ('train', 'val', 'test')


def check_split(split: str, allowed: Sequence[str], dataset: str) -> str:
    """Return ``split`` if it is one of ``allowed``, else raise a ``ValueError`` naming both."""
    if split not in allowed:
        raise ValueError(
            f'{dataset}: split={split!r} is not supported; use one of {tuple(allowed)}')
    return split


def check_val_size(val_size: int, split: str, dataset: str) -> int:
    """Validate the ``val_size`` argument of a hold-out dataset (the data is not loaded yet)."""
    if isinstance(val_size, bool) or not isinstance(val_size, int) or val_size < 0:
        raise ValueError(f'{dataset}: val_size must be a non-negative int, got {val_size!r}')
    if split == 'val' and val_size == 0:
        raise ValueError(f"{dataset}: split='val' with val_size=0 is empty; set val_size > 0")
    return val_size


def check_local_source(dataset: str, download: bool, data_root: str, data_prefix: str,
                       fetch_hint: str, root_hint: str) -> None:
    """Refuse ``download=True`` and an unset ``data_root``, saying what to do instead."""
    if download:
        raise ValueError(f'{dataset}: download=True is not supported (lth_mm never downloads); '
                         f'{fetch_hint}')
    if not data_root and not data_prefix:
        raise ValueError(f'{dataset}: set data_root to {root_hint}')


def holdout_range(num_official_train: int, val_size: int, split: str, dataset: str) -> range:
    """Indices into the official training set that ``split`` takes.

    'train' takes the first ``num_official_train - val_size`` images and 'val' the last
    ``val_size`` ones, in the order of the official files (the original code's split).
    """
    if val_size >= num_official_train:
        raise ValueError(f'{dataset}: val_size={val_size} must be smaller than the '
                         f'{num_official_train} images of the official training set')
    cut = num_official_train - val_size
    return range(cut) if split == 'train' else range(cut, num_official_train)


def require_files(folder: str, names: Sequence[str], dataset: str, hint: str) -> None:
    """Raise ``FileNotFoundError`` listing every file of ``names`` missing in ``folder``."""
    missing = [name for name in names if not os.path.isfile(os.path.join(folder, name))]
    if missing:
        where = f'not found in {os.path.abspath(folder)!r}'
        if len(missing) < len(names):
            where += f' (it must hold {", ".join(names)})'
        raise FileNotFoundError(
            f'{dataset}: {", ".join(missing)} {where}. {hint} lth_mm never downloads datasets.')


def write_lines(path: str, lines: Sequence[str]) -> None:
    """Write ``lines`` to a list file, one per line, atomically (its folder made first)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic_write_text(path, ''.join(f'{line}\n' for line in lines))


def save_image(path: str, image: Image.Image, **options) -> None:
    """Save ``image`` atomically (a whole file or none; its folder made first)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buffer = io.BytesIO()
    image.save(buffer, **options)
    atomic_write_bytes(path, buffer.getvalue())
