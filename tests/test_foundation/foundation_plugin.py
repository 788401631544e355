"""Modules that the foundation tests' training runs import (``custom_imports``), outside lth_mm.

``TinyCIFAR10`` is mmpretrain's ``CIFAR10`` reading small CIFAR-10 pickles written by the tests:
its integrity check compares the official MD5 sums, which generated files cannot match, so this
subclass declares no sums (and never downloads). ``RankStateHook`` writes, at the end of training,
what each rank holds: a hash of the model's parameters and whether SyncBN is left in the model.
"""
from __future__ import annotations

import hashlib
import json
import os.path as osp

import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmpretrain.datasets import CIFAR10
from mmpretrain.registry import DATASETS


@DATASETS.register_module()
class TinyCIFAR10(CIFAR10):
    """mmpretrain's CIFAR10 on generated pickles (no MD5 check, no download)."""

    train_list = [[name, None] for name, _ in CIFAR10.train_list]
    test_list = [[name, None] for name, _ in CIFAR10.test_list]
    meta = {**CIFAR10.meta, 'md5': None}

    def __init__(self, **kwargs) -> None:
        super().__init__(download=False, **kwargs)


def param_hash(model: torch.nn.Module) -> str:
    """SHA-256 over the parameters' names and float32 bytes, in name order."""
    digest = hashlib.sha256()
    for name, param in sorted(model.named_parameters()):
        digest.update(name.encode())
        digest.update(param.detach().cpu().float().contiguous().numpy().tobytes())
    return digest.hexdigest()


@HOOKS.register_module()
class RankStateHook(Hook):
    """Writes ``work_dir/rank{rank}.json`` after training, on every rank."""

    def after_train(self, runner) -> None:
        model = runner.model
        wrapper = type(model).__name__
        if is_model_wrapper(model):
            device_ids = model.device_ids
            model = model.module
        else:
            device_ids = 'unwrapped'
        state = dict(
            rank=get_rank(), world_size=get_world_size(), param_hash=param_hash(model),
            wrapper=wrapper, device_ids=device_ids,
            has_syncbn=any(isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules()))
        with open(osp.join(runner.work_dir, f'rank{get_rank()}.json'), 'w') as f:
            json.dump(state, f)
