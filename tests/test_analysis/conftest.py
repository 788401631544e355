"""Tickets for the analysis tests: a torchvision ResNet-18 pruned by magnitude and at random."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from lth_mm.core import Ticket

SPARSITY = 0.7903  # the paper's mask figure: 7 rounds of 20 %


@pytest.fixture(scope='session')
def resnet18_tickets() -> dict[str, Ticket]:
    """An untrained ResNet-18's magnitude ticket and two independent layer-wise random tickets,
    all at 79.03 % sparsity (default scope: every conv but the stem)."""
    torch.manual_seed(0)
    model = torchvision.models.resnet18()
    dense = Ticket.dense(model)
    return {'magnitude': dense.prune_to(model, SPARSITY),
            **{f'random{seed}': dense.prune_to(model, SPARSITY, criterion='random',
                                               mode='layerwise',
                                               generator=torch.Generator().manual_seed(seed))
               for seed in (1, 2)}}


@pytest.fixture(scope='session')
def ticket_files(resnet18_tickets, tmp_path_factory) -> dict[str, Path]:
    """The tickets as files: lth_mm format, and the original code's formats with prefixes."""
    folder = tmp_path_factory.mktemp('ticket_files')
    files = {}
    for label, ticket in resnet18_tickets.items():
        files[label] = folder / f'{label}.safetensors'
        ticket.save(files[label])
    files['magnitude_module'] = folder / 'magnitude_module.pth.tar'
    torch.save({'state_dict': resnet18_tickets['magnitude'].to_torch_prune(prefix='module.')},
               files['magnitude_module'])
    files['random1_moco'] = folder / 'random1_moco.pth.tar'
    torch.save({'state_dict': resnet18_tickets['random1'].to_torch_prune(
        prefix='module.encoder_q.')}, files['random1_moco'])
    files['random2_backbone'] = folder / 'random2_backbone.safetensors'
    resnet18_tickets['random2'].add_prefix('backbone.').save(files['random2_backbone'])
    return files


def _conv_ticket(counts: list[list[int]], seed: int = 0) -> Ticket:
    """A one-layer ticket whose 3x3 kernel (o, i) keeps ``counts[o][i]`` weights."""
    rng = np.random.default_rng(seed)
    counts = np.asarray(counts)
    mask = np.zeros(counts.shape + (9,), dtype=bool)
    for (o, i), count in np.ndenumerate(counts):
        mask[o, i, rng.choice(9, count, replace=False)] = True
    return Ticket({'layer3.0.conv2.weight': torch.from_numpy(mask.reshape(counts.shape + (3, 3)))})


@pytest.fixture(scope='session')
def conv_ticket() -> Callable[..., Ticket]:
    """Factory ``conv_ticket(counts, seed=0)`` of hand-made one-layer 3x3 tickets."""
    return _conv_ticket
