"""Shared fixtures: fake datasets written once per session by ``lth_mm.datasets.fixtures``."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mmengine.registry import DefaultScope

import lth_mm.datasets  # noqa: F401  (registers the datasets)
from lth_mm.datasets import fixtures

NUM_TRAIN, NUM_TEST, VAL_SIZE = 600, 100, 100


@pytest.fixture(autouse=True)
def mmpretrain_scope() -> Iterator[None]:
    """Build from registries in the 'mmpretrain' scope, as a Runner with that default scope."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


@pytest.fixture(scope='session')
def fake_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder to hold the session's fake datasets (read-only for tests)."""
    return tmp_path_factory.mktemp('fake_data')


@pytest.fixture(scope='session')
def cifar10(fake_root: Path) -> tuple[Path, dict]:
    """Fake CIFAR-10: 600 train / 100 test."""
    root = fake_root / 'cifar10'
    return root, fixtures.write_cifar10(root, num_train=NUM_TRAIN, num_test=NUM_TEST)


@pytest.fixture(scope='session')
def cifar100(fake_root: Path) -> tuple[Path, dict]:
    """Fake CIFAR-100: 600 train / 200 test."""
    root = fake_root / 'cifar100'
    return root, fixtures.write_cifar100(root, num_train=NUM_TRAIN, num_test=200)


@pytest.fixture(scope='session', params=[False, True], ids=['plain', 'gzip'])
def fashion_mnist(fake_root: Path, request: pytest.FixtureRequest) -> tuple[Path, dict]:
    """Fake Fashion-MNIST: 600 train / 100 test, extracted or gzipped idx files."""
    root = fake_root / f'fmnist_{"gz" if request.param else "plain"}'
    return root, fixtures.write_fashion_mnist(root, NUM_TRAIN, NUM_TEST, compress=request.param)


@pytest.fixture(scope='session')
def svhn(fake_root: Path) -> tuple[Path, dict]:
    """Fake SVHN: 600 train / 100 test."""
    root = fake_root / 'svhn'
    return root, fixtures.write_svhn(root, num_train=NUM_TRAIN, num_test=NUM_TEST)


@pytest.fixture(scope='session')
def imagenet(fake_root: Path) -> tuple[Path, dict]:
    """Fake ImageNet: 3 classes, 4 train / 2 val images per class, 40x48."""
    root = fake_root / 'imagenet'
    return root, fixtures.write_imagenet(root)


@pytest.fixture(scope='session')
def visda(fake_root: Path) -> tuple[Path, dict]:
    """Fake VisDA-2017: 2 train / 1 validation image per class."""
    root = fake_root / 'visda'
    return root, fixtures.write_visda2017(root)
