"""CIFAR10Split / CIFAR100Split: the paper's 45k/5k/test split, read as plain data."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.registry import DATASETS

from lth_mm.datasets import CIFAR10Split, CIFAR100Split
from lth_mm.datasets.fixtures import write_cifar10

CASES = [(CIFAR10Split, 'cifar10', 10, CIFAR10), (CIFAR100Split, 'cifar100', 100, CIFAR100)]
IDS = ['cifar10', 'cifar100']


@pytest.fixture(params=CASES, ids=IDS)
def case(request: pytest.FixtureRequest) -> tuple:
    """(class, root, fake data, number of classes, mmpretrain parent)."""
    cls, name, num_classes, parent = request.param
    root, fake = request.getfixturevalue(name)
    return cls, root, fake, num_classes, parent


def test_split_sizes_and_val_is_the_last_images(case: tuple) -> None:
    cls, root, fake, num_classes, parent = case
    train = cls(data_root=str(root), split='train', val_size=100)
    val = cls(data_root=str(root), split='val', val_size=100)
    test = cls(data_root=str(root), split='test', val_size=100)
    assert (len(train), len(val), len(test)) == (500, 100, len(fake['test'].labels))
    assert isinstance(train, parent) and len(train.CLASSES) == num_classes
    assert [val.get_data_info(i)['source_index'] for i in range(len(val))] == list(range(500, 600))
    assert [train.get_data_info(i)['source_index'] for i in range(500)] == list(range(500))
    for ds, src, offset in ((train, 'train', 0), (val, 'train', 500), (test, 'test', 0)):
        images = np.stack([ds.get_data_info(i)['img'] for i in range(len(ds))])
        np.testing.assert_array_equal(images, fake[src].images[offset:offset + len(ds)])
        np.testing.assert_array_equal(ds.get_gt_labels(),
                                      fake[src].labels[offset:offset + len(ds)])


def test_default_val_size_is_5000(case: tuple) -> None:
    cls, root, *_ = case
    assert cls(data_root=str(root), lazy_init=True).val_size == 5000
    with pytest.raises(ValueError, match='val_size=5000 must be smaller than the 600 images'):
        cls(data_root=str(root), split='train')


def test_lazy_init_loads_the_requested_split(case: tuple) -> None:
    cls, root, *_ = case
    ds = cls(data_root=str(root), split='val', val_size=100, lazy_init=True)
    ds.full_init()
    assert len(ds) == 100 and ds.split == 'val'


def test_build_from_registry_and_pack(case: tuple) -> None:
    cls, root, fake, *_ = case
    ds = DATASETS.build(dict(type=cls.__name__, data_root=str(root), split='val', val_size=100,
                             pipeline=[dict(type='PackInputs')]))
    item = ds[0]
    assert item['inputs'].shape == (3, 32, 32) and item['inputs'].dtype == torch.uint8
    assert int(item['data_samples'].gt_label) == fake['train'].labels[500]


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(split='val', val_size=0), ValueError, 'val_size=0'),
    (dict(split='valid'), ValueError, "split='valid'"),
    (dict(val_size=-1), ValueError, 'non-negative'),
    (dict(download=True), ValueError, 'never downloads'),
])
def test_bad_arguments(case: tuple, kwargs: dict, error: type, message: str) -> None:
    cls, root, *_ = case
    with pytest.raises(error, match=message):
        cls(data_root=str(root), **kwargs)


def test_md5_check_rejects_fake_files(case: tuple) -> None:
    cls, root, *_ = case
    with pytest.raises(ValueError, match='MD5 mismatch'):
        cls(data_root=str(root), split='test', check_md5=True)


def test_missing_folder_names_every_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        CIFAR10Split(data_root=str(tmp_path), split='train', val_size=10)
    message = str(info.value)
    assert 'cifar-10-batches-py' in message and 'cifar-10-python.tar.gz' in message
    assert all(f'data_batch_{i}' in message for i in range(1, 6))
    with pytest.raises(FileNotFoundError, match='test_batch'):
        CIFAR10Split(data_root=str(tmp_path), split='test')
    with pytest.raises(FileNotFoundError, match=r': train not found in .*cifar-100-python'):
        CIFAR100Split(data_root=str(tmp_path), split='val', val_size=10)


def test_one_missing_batch_is_named(tmp_path: Path) -> None:
    write_cifar10(tmp_path, num_train=50, num_test=10)
    (tmp_path / 'cifar-10-batches-py' / 'data_batch_3').unlink()
    with pytest.raises(FileNotFoundError, match=r': data_batch_3 not found in .* must hold '):
        CIFAR10Split(data_root=str(tmp_path), split='train', val_size=10)
    # The test split does not need the training batches.
    assert len(CIFAR10Split(data_root=str(tmp_path), split='test')) == 10


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os
        return (os.system, (f'echo ran > {self.marker}', ))


def test_batches_are_read_as_plain_data(tmp_path: Path) -> None:
    """A CIFAR batch that would run code is refused (mmpretrain's loader unpickles in full)."""
    import pickle

    write_cifar10(tmp_path, num_train=50, num_test=10)
    batch, marker = tmp_path / 'cifar-10-batches-py' / 'data_batch_2', tmp_path / 'ran'
    entry = pickle.loads(batch.read_bytes())
    batch.write_bytes(pickle.dumps(dict(entry, batch_label=_RunsCode(marker)), protocol=2))
    with pytest.raises(ValueError, match=r"CIFAR10Split: cannot read .*data_batch_2' as a CIFAR "
                                         r'python file \(it refers to posix.system'):
        CIFAR10Split(data_root=str(tmp_path), split='train', val_size=10)
    assert not marker.exists()


def test_a_truncated_batch_is_named(tmp_path: Path) -> None:
    write_cifar10(tmp_path, num_train=50, num_test=10)
    batch = tmp_path / 'cifar-10-batches-py' / 'data_batch_3'
    batch.write_bytes(batch.read_bytes()[:len(batch.read_bytes()) // 2])
    with pytest.raises(ValueError, match=r"cannot read .*data_batch_3' as a CIFAR python file "
                                         r'.*truncated, damaged'):
        CIFAR10Split(data_root=str(tmp_path), split='train', val_size=10)


def test_python2_batches_as_the_official_files_are(tmp_path: Path) -> None:
    """The official files were pickled by Python 2: array bytes as BINSTRING, read back as
    latin-1 strings (not ``_codecs.encode`` calls, as Python 3 writes them)."""
    import io
    import pickle
    import struct

    class Python2Pickler(pickle._Pickler):
        def save_bytes(self, obj: bytes) -> None:
            self.write(pickle.BINSTRING + struct.pack('<i', len(obj)) + obj)
            self.memoize(obj)

        dispatch = pickle._Pickler.dispatch.copy()
        dispatch[bytes] = save_bytes

    fake = write_cifar10(tmp_path, num_train=50, num_test=10)['train']
    folder = tmp_path / 'cifar-10-batches-py'
    for number in range(1, 6):
        path = folder / f'data_batch_{number}'
        buffer = io.BytesIO()
        Python2Pickler(buffer, protocol=2).dump(pickle.loads(path.read_bytes()))
        assert b'_codecs' not in buffer.getvalue() and pickle.BINSTRING in buffer.getvalue()
        path.write_bytes(buffer.getvalue())
    train = CIFAR10Split(data_root=str(tmp_path), split='train', val_size=10)
    assert len(train) == 40
    for index in (0, 17, 39):
        info = train.get_data_info(index)
        assert np.array_equal(info['img'], fake.images[index])
        assert info['gt_label'] == fake.labels[index]
