"""Write small fake datasets in the real on-disk formats, for tests and demos.

Every writer is deterministic in ``seed``, fills images with uniform noise and gives every class
at least one image per split when there are enough images (labels are ``arange(n) % classes``,
shuffled). Array datasets return ``{split: FakeArrays(images, labels)}`` with ``images`` as the
dataset classes give them (N x H x W x C uint8 RGB, or N x H x W for Fashion-MNIST); file datasets
return ``{split: FakeFiles(paths, labels)}`` with absolute image paths. Nothing here can match
the official MD5 sums, so leave ``check_md5`` off for these files.
"""
from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
from typing import NamedTuple

import numpy as np
import scipy.io
from PIL import Image

from ..core.atomic import atomic_write_bytes
from ._utils import save_image, write_lines

__all__ = [
    'FakeArrays', 'FakeFiles', 'write_cifar10', 'write_cifar100', 'write_fashion_mnist',
    'write_imagenet', 'write_svhn', 'write_visda2017'
]

PathLike = str | os.PathLike
VISDA_CLASSES = ('aeroplane', 'bicycle', 'bus', 'car', 'horse', 'knife', 'motorcycle', 'person',
                 'plant', 'skateboard', 'train', 'truck')


class FakeArrays(NamedTuple):
    """Images and labels of one split of an in-memory (array) dataset, in file order."""
    images: np.ndarray
    labels: np.ndarray


class FakeFiles(NamedTuple):
    """Image paths and labels of one split of a folder dataset, in list-file order."""
    paths: list[str]
    labels: np.ndarray


def _labels(rng: np.random.Generator, num: int, num_classes: int) -> np.ndarray:
    """Shuffled ``arange(num) % num_classes``: valid labels, classes as balanced as possible."""
    return rng.permutation(np.arange(num, dtype=np.int64) % num_classes)


def _noise(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Uniform uint8 noise."""
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def _dump(path: str, obj: dict) -> None:
    """Pickle ``obj`` like the CIFAR python files (protocol 2)."""
    atomic_write_bytes(path, pickle.dumps(obj, protocol=2))


def _cifar_rows(images: np.ndarray) -> np.ndarray:
    """N x 32 x 32 x 3 -> N x 3072 rows (all R, then G, then B, each row-major), as CIFAR."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), -1))


def write_cifar10(root: PathLike, num_train: int = 600, num_test: int = 100,
                  seed: int = 0) -> dict[str, FakeArrays]:
    """Write ``root/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}``.

    The training images are spread over the five batches in order (``np.array_split``).
    """
    from mmpretrain.datasets.categories import CIFAR10_CATEGORIES

    rng = np.random.default_rng(seed)
    folder = os.path.join(root, 'cifar-10-batches-py')
    os.makedirs(folder, exist_ok=True)
    out = {}
    for split, num in (('train', num_train), ('test', num_test)):
        out[split] = FakeArrays(_noise(rng, num, 32, 32, 3), _labels(rng, num, 10))
    batches = zip(np.array_split(np.arange(num_train), 5), range(1, 6), strict=True)
    for index, number in batches:
        _dump(os.path.join(folder, f'data_batch_{number}'), {
            'batch_label': f'training batch {number} of 5',
            'labels': out['train'].labels[index].tolist(),
            'data': _cifar_rows(out['train'].images[index]),
            'filenames': [f'fake_{i:05d}.png' for i in index],
        })
    _dump(os.path.join(folder, 'test_batch'), {
        'batch_label': 'testing batch 1 of 1',
        'labels': out['test'].labels.tolist(),
        'data': _cifar_rows(out['test'].images),
        'filenames': [f'fake_test_{i:05d}.png' for i in range(num_test)],
    })
    _dump(os.path.join(folder, 'batches.meta'), {
        'num_cases_per_batch': max(1, -(-num_train // 5)),
        'label_names': list(CIFAR10_CATEGORIES),
        'num_vis': 3072,
    })
    return out


def write_cifar100(root: PathLike, num_train: int = 600, num_test: int = 200,
                   seed: int = 0) -> dict[str, FakeArrays]:
    """Write ``root/cifar-100-python/{train, test, meta}`` (coarse label = fine // 5, fake)."""
    from mmpretrain.datasets.categories import CIFAR100_CATEGORIES

    rng = np.random.default_rng(seed)
    folder = os.path.join(root, 'cifar-100-python')
    os.makedirs(folder, exist_ok=True)
    out = {}
    for split, num in (('train', num_train), ('test', num_test)):
        fake = FakeArrays(_noise(rng, num, 32, 32, 3), _labels(rng, num, 100))
        _dump(os.path.join(folder, split), {
            'filenames': [f'fake_{split}_{i:05d}.png' for i in range(num)],
            'batch_label': f'{"training" if split == "train" else "testing"} batch 1 of 1',
            'fine_labels': fake.labels.tolist(),
            'coarse_labels': (fake.labels // 5).tolist(),
            'data': _cifar_rows(fake.images),
        })
        out[split] = fake
    _dump(os.path.join(folder, 'meta'), {
        'fine_label_names': list(CIFAR100_CATEGORIES),
        'coarse_label_names': [f'coarse_{i}' for i in range(20)],
    })
    return out


def _write_idx(path: str, array: np.ndarray, compress: bool) -> None:
    """Write a uint8 idx file (magic ``0x0000 08 <ndim>``, big-endian dims, then the bytes)."""
    header = struct.pack('>I', 0x0800 + array.ndim) + struct.pack(f'>{array.ndim}I', *array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if compress:
        # mtime=0: the same arrays give the same bytes (gzip stores the time otherwise)
        raw = io.BytesIO()
        with gzip.GzipFile(filename='', mode='wb', fileobj=raw, mtime=0) as f:
            f.write(data)
        atomic_write_bytes(path + '.gz', raw.getvalue())
    else:
        atomic_write_bytes(path, data)


def write_fashion_mnist(root: PathLike, num_train: int = 600, num_test: int = 100, seed: int = 0,
                        compress: bool = False) -> dict[str, FakeArrays]:
    """Write ``root/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (``.gz`` if ``compress``).

    mmpretrain's own ``FashionMNIST`` reads only the extracted files; ``FashionMNISTSplit``
    reads both.
    """
    rng = np.random.default_rng(seed)
    os.makedirs(root, exist_ok=True)
    out = {}
    for split, prefix, num in (('train', 'train', num_train), ('test', 't10k', num_test)):
        fake = FakeArrays(_noise(rng, num, 28, 28), _labels(rng, num, 10))
        _write_idx(os.path.join(root, f'{prefix}-images-idx3-ubyte'), fake.images, compress)
        _write_idx(os.path.join(root, f'{prefix}-labels-idx1-ubyte'), fake.labels, compress)
        out[split] = fake
    return out


#: The descriptive text that opens a MATLAB 5 file (116 bytes), fixed: scipy writes the time.
MAT_HEADER = b'MATLAB 5.0 MAT-file Platform: posix, Created on: Thu Jan  1 00:00:00 1970'.ljust(
    116)


def write_svhn(root: PathLike, num_train: int = 600, num_test: int = 100,
               seed: int = 0) -> dict[str, FakeArrays]:
    """Write ``root/{train,test}_32x32.mat``: ``X`` 32x32x3xN uint8, ``y`` Nx1 with 10 for 0.

    The returned labels are the digits 0..9 (what ``SVHN`` yields), not the files' 1..10.
    """
    rng = np.random.default_rng(seed)
    os.makedirs(root, exist_ok=True)
    out = {}
    for split, num in (('train', num_train), ('test', num_test)):
        fake = FakeArrays(_noise(rng, num, 32, 32, 3), _labels(rng, num, 10))
        y = np.where(fake.labels == 0, 10, fake.labels).astype(np.uint8).reshape(-1, 1)
        buffer = io.BytesIO()
        scipy.io.savemat(buffer, {'X': np.ascontiguousarray(fake.images.transpose(1, 2, 3, 0)),
                                  'y': y})
        atomic_write_bytes(os.path.join(root, f'{split}_32x32.mat'),  # same arrays, same bytes
                           MAT_HEADER + buffer.getvalue()[len(MAT_HEADER):])
        out[split] = fake
    return out


def _save_image(path: str, img: np.ndarray) -> None:
    """Save an RGB uint8 image; the format follows the extension (.png, .jpg, .JPEG)."""
    fmt = 'PNG' if path.lower().endswith('.png') else 'JPEG'
    save_image(path, Image.fromarray(img), format=fmt)


def write_imagenet(root: PathLike, num_classes: int = 3, train_per_class: int = 4,
                   val_per_class: int = 2, size: tuple[int, int] = (40, 48),
                   seed: int = 0) -> dict[str, FakeFiles]:
    """Write an ImageNet-style tree that mmpretrain's ``ImageNet`` reads.

    ``root/train/<wnid>/<wnid>_<i>.JPEG``, ``root/val/ILSVRC2012_val_<8 digits>.JPEG`` and
    ``root/meta/{train,val}.txt`` with lines ``<path relative to train/ or val/> <label>``; the
    class ``k`` has the fake wnid ``n%08d % k``. ``size`` is (height, width).
    """
    rng = np.random.default_rng(seed)
    out = {}
    for split, per_class in (('train', train_per_class), ('val', val_per_class)):
        labels = _labels(rng, num_classes * per_class, num_classes)
        lines, paths = [], []
        for i, label in enumerate(labels, start=1):
            wnid = f'n{label:08d}'
            rel = f'{wnid}/{wnid}_{i}.JPEG' if split == 'train' else f'ILSVRC2012_val_{i:08d}.JPEG'
            path = os.path.join(os.fspath(root), split, rel)
            _save_image(path, _noise(rng, *size, 3))
            lines.append(f'{rel} {label}')
            paths.append(os.path.abspath(path))
        write_lines(os.path.join(root, 'meta', f'{split}.txt'), lines)
        out[split] = FakeFiles(paths, labels)
    return out


def write_visda2017(root: PathLike, train_per_class: int = 2, val_per_class: int = 1,
                    size: tuple[int, int] = (40, 48), seed: int = 0) -> dict[str, FakeFiles]:
    """Write ``root/{train,validation}/image_list.txt`` and the 12 class folders of images.

    Training images are PNGs named like the synthetic renderings
    (``aeroplane/src_1_<8 digits>_<32 hex>__<i>_1_001.png``), validation ones JPEGs (named
    ``aeroplane/aeroplane_<5 digits>.jpg``, made up); list lines are ``<path relative to the split
    folder> <label>``, class by class. The result is keyed 'train' and 'validation'.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for split, per_class in (('train', train_per_class), ('validation', val_per_class)):
        lines, paths, labels = [], [], []
        for label, name in enumerate(VISDA_CLASSES):
            for i in range(per_class):
                if split == 'train':
                    rel = f'{name}/src_1_{label:08d}_{rng.bytes(16).hex()}__{i}_1_001.png'
                else:
                    rel = f'{name}/{name}_{i + 1:05d}.jpg'
                path = os.path.join(os.fspath(root), split, rel)
                _save_image(path, _noise(rng, *size, 3))
                lines.append(f'{rel} {label}')
                paths.append(os.path.abspath(path))
                labels.append(label)
        write_lines(os.path.join(root, split, 'image_list.txt'), lines)
        out[split] = FakeFiles(paths, np.array(labels, dtype=np.int64))
    return out
