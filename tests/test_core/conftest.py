"""Shared models and factories for the tests of ``lth_mm.core`` (plain PyTorch only)."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import torch
import torchvision
from torch import nn


class TinyResNet(nn.Module):
    """A ResNet-shaped toy: stem, ``layer1``/``layer2`` (with a downsample conv) and ``fc``.

    Its parameter names follow torchvision (``conv1.weight``, ``layer2.0.downsample.0.weight``,
    ``fc.weight``) so that scope and key rules apply as on a real ResNet, with a few thousand
    weights only.
    """

    def __init__(self, width: int = 4, deep_stem: bool = False) -> None:
        super().__init__()
        if deep_stem:
            self.stem = nn.Sequential(
                nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                nn.ReLU(),
                nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                nn.ReLU())
        else:
            self.conv1 = nn.Conv2d(3, width, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = nn.Sequential(Block(width, width))
        self.layer2 = nn.Sequential(Block(width, 2 * width, stride=2))
        self.fc = nn.Linear(2 * width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x) if hasattr(self, 'stem') else torch.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(x.mean((2, 3)))


class Block(nn.Module):
    """A basic residual block with torchvision's names."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + identity)


@pytest.fixture
def single_thread() -> Iterator[None]:
    """Run a test on one intra-op thread.

    The tensors here are small: on a busy 2-core machine OpenMP threads only contend (a 10x
    slowdown was measured), and one thread per process suits ``pytest -n``.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


#: Prunable (default scope) parameter names of ``TinyResNet()``.
TINY_PRUNABLE = ['layer1.0.conv1.weight', 'layer1.0.conv2.weight', 'layer2.0.conv1.weight',
                 'layer2.0.conv2.weight', 'layer2.0.downsample.0.weight']


def _tiny(seed: int = 0, width: int = 4, deep_stem: bool = False) -> TinyResNet:
    torch.manual_seed(seed)
    return TinyResNet(width, deep_stem)


@pytest.fixture(scope='session')
def make_tiny() -> Callable[..., TinyResNet]:
    """Factory ``make_tiny(seed=0, width=4, deep_stem=False)`` of seeded :class:`TinyResNet`."""
    return _tiny


@pytest.fixture(scope='session')
def tiny_prunable() -> list[str]:
    """The default-scope parameter names of a :class:`TinyResNet`."""
    return list(TINY_PRUNABLE)


def _small_resnet(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return torchvision.models.resnet.ResNet(torchvision.models.resnet.BasicBlock, [1, 1, 1, 1])


@pytest.fixture(scope='session')
def make_small_resnet() -> Callable[..., nn.Module]:
    """Factory ``make_small_resnet(seed=0)``: a torchvision ResNet with one BasicBlock per stage.

    Real torchvision names and a downsample conv per stage, a third of ResNet-18's weights.
    """
    return _small_resnet


@pytest.fixture(scope='session')
def resnet50() -> nn.Module:
    """An untrained torchvision ResNet-50; tests must not modify it (deepcopy first)."""
    torch.manual_seed(0)
    return torchvision.models.resnet50()


@pytest.fixture(scope='session')
def resnet18() -> nn.Module:
    """An untrained torchvision ResNet-18; tests must not modify it (deepcopy first)."""
    torch.manual_seed(0)
    return torchvision.models.resnet18()
