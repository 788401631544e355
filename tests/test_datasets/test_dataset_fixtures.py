"""lth_mm.datasets.fixtures writes the real on-disk formats, deterministically."""
from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from mmpretrain.datasets import FashionMNIST
from PIL import Image

from lth_mm.datasets import fixtures


def digest(root: Path) -> dict[str, str]:
    """MD5 of every file under ``root``, by relative path."""
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file()}


def test_cifar10_pickles_match_the_official_layout(cifar10: tuple[Path, dict]) -> None:
    root, fake = cifar10
    folder = root / 'cifar-10-batches-py'
    names = {p.name for p in folder.iterdir()}
    assert names == {f'data_batch_{i}' for i in range(1, 6)} | {'test_batch', 'batches.meta'}
    batch = pickle.loads((folder / 'data_batch_1').read_bytes(), encoding='latin1')
    assert set(batch) == {'batch_label', 'labels', 'data', 'filenames'}
    assert batch['data'].dtype == np.uint8 and batch['data'].shape == (120, 3072)
    image = fake['train'].images[0]
    for channel in range(3):  # rows hold the R plane, then G, then B
        plane = batch['data'][0, channel * 1024:(channel + 1) * 1024]
        np.testing.assert_array_equal(plane, image[:, :, channel].ravel())
    meta = pickle.loads((folder / 'batches.meta').read_bytes(), encoding='latin1')
    assert len(meta['label_names']) == 10


def test_cifar100_pickles(cifar100: tuple[Path, dict]) -> None:
    root, fake = cifar100
    folder = root / 'cifar-100-python'
    train = pickle.loads((folder / 'train').read_bytes(), encoding='latin1')
    assert {'fine_labels', 'coarse_labels', 'data', 'filenames', 'batch_label'} == set(train)
    assert train['fine_labels'] == fake['train'].labels.tolist()
    assert set(fake['test'].labels) == set(range(100))
    meta = pickle.loads((folder / 'meta').read_bytes(), encoding='latin1')
    assert len(meta['fine_label_names']) == 100 and len(meta['coarse_label_names']) == 20


@pytest.mark.filterwarnings('ignore:The given NumPy array is not writable')
def test_fashion_mnist_idx_headers(tmp_path: Path) -> None:
    fixtures.write_fashion_mnist(tmp_path / 'plain', num_train=30, num_test=10)
    fixtures.write_fashion_mnist(tmp_path / 'gz', num_train=30, num_test=10, compress=True)
    data = (tmp_path / 'plain' / 'train-images-idx3-ubyte').read_bytes()
    assert struct.unpack('>4I', data[:16]) == (2051, 30, 28, 28) and len(data) == 16 + 30 * 784
    labels = gzip.decompress((tmp_path / 'gz' / 't10k-labels-idx1-ubyte.gz').read_bytes())
    assert struct.unpack('>2I', labels[:8]) == (2049, 10)
    # mmpretrain's own reader accepts them.
    assert len(FashionMNIST(data_root=str(tmp_path / 'plain'), download=False)) == 30


def test_svhn_mat(svhn: tuple[Path, dict]) -> None:
    root, fake = svhn
    mat = scipy.io.loadmat(str(root / 'test_32x32.mat'))
    assert mat['X'].dtype == np.uint8 and mat['X'].shape == (32, 32, 3, 100)
    assert mat['y'].shape == (100, 1) and set(mat['y'].ravel()) == set(range(1, 11))
    np.testing.assert_array_equal(mat['y'].ravel() % 10, fake['test'].labels)


@pytest.mark.parametrize('name', ['imagenet', 'visda'])
def test_image_trees(name: str, request: pytest.FixtureRequest) -> None:
    root, fake = request.getfixturevalue(name)
    for split in fake.values():
        assert all(Path(p).is_file() for p in split.paths)
        with Image.open(split.paths[0]) as img:
            assert img.size == (48, 40) and img.mode == 'RGB'
    if name == 'imagenet':
        assert (root / 'meta' / 'val.txt').read_text().splitlines()[0] \
            == f'ILSVRC2012_val_00000001.JPEG {fake["val"].labels[0]}'
    else:
        first = (root / 'train' / 'image_list.txt').read_text().splitlines()[0]
        assert first.startswith('aeroplane/src_1_') and first.endswith('.png 0')


@pytest.mark.parametrize('writer', ['write_cifar10', 'write_cifar100', 'write_fashion_mnist',
                                    'write_svhn', 'write_imagenet', 'write_visda2017'])
def test_writers_are_deterministic(writer: str, tmp_path: Path) -> None:
    write = getattr(fixtures, writer)
    small = {} if writer in ('write_imagenet', 'write_visda2017') else dict(num_train=20,
                                                                            num_test=10)
    if writer == 'write_fashion_mnist':
        small['compress'] = True  # gzip stores a time unless told not to
    write(tmp_path / 'a', seed=1, **small)
    if writer in ('write_fashion_mnist', 'write_svhn'):
        time.sleep(1.1)  # gzip and MATLAB files store a time, in whole seconds
    write(tmp_path / 'b', seed=1, **small)
    write(tmp_path / 'c', seed=2, **small)
    assert digest(tmp_path / 'a') == digest(tmp_path / 'b') != digest(tmp_path / 'c')
