"""Small helpers that reach into an MMEngine Runner at a pruning-round boundary."""
from __future__ import annotations

import copy
from typing import Any, Dict, Optional

import torch
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from torch import nn

__all__ = ['unwrap_model', 'reset_optimizer', 'rebuild_param_schedulers', 'reset_best_checkpoint',
           'has_pretrained_init']


def unwrap_model(runner: Any) -> nn.Module:
    """The runner's model without its DDP / FSDP wrapper."""
    return runner.model.module if is_model_wrapper(runner.model) else runner.model


def _optimizers(runner: Any) -> list:
    wrapper = runner.optim_wrapper
    wrappers = wrapper.values() if isinstance(wrapper, OptimWrapperDict) else [wrapper]
    return [w.optimizer for w in wrappers]


def reset_optimizer(runner: Any) -> None:
    """Drop the optimizer state (momentum, Adam moments) and restore every group's initial values.

    ``initial_<name>`` keys are written by MMEngine's parameter schedulers when they are first
    built; restoring them gives the new round the same starting LR (and momentum) as round 0.
    """
    for optimizer in _optimizers(runner):
        optimizer.state.clear()
        for group in optimizer.param_groups:
            for key in [k for k in group if k.startswith('initial_')]:
                group[key[len('initial_'):]] = copy.deepcopy(group[key])


def rebuild_param_schedulers(runner: Any) -> None:
    """Build the config's parameter schedulers again, so they restart from their first step."""
    cfg = runner.cfg.get('param_scheduler')
    if cfg is not None and runner.param_schedulers is not None:
        runner.param_schedulers = runner.build_param_scheduler(copy.deepcopy(cfg))


def reset_best_checkpoint(runner: Any) -> None:
    """Make :class:`CheckpointHook` track the best checkpoint of the new round afresh.

    The previous round's best checkpoint file is kept on disk (it is no longer the hook's to
    delete), and the best score is forgotten.
    """
    for hook in runner.hooks:
        if isinstance(hook, CheckpointHook):
            if getattr(hook, 'best_ckpt_path', None) is not None:
                hook.best_ckpt_path = None
            if getattr(hook, 'best_ckpt_path_dict', None):
                hook.best_ckpt_path_dict = {k: None for k in hook.best_ckpt_path_dict}
    info = runner.message_hub.runtime_info
    for key in [k for k in info if k.startswith('best_score') or k.startswith('best_ckpt')]:
        info.pop(key)


def has_pretrained_init(runner: Any) -> Optional[str]:
    """Where pre-trained weights come from (``load_from`` or a ``Pretrained`` init_cfg), or None."""
    if runner.cfg.get('load_from'):
        return f'load_from={runner.cfg.load_from}'
    found: Dict[str, Any] = {}

    def visit(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if node.get('type') in ('Pretrained', 'MappedPretrained') and node.get('checkpoint'):
                found.setdefault('path', f'{path}.init_cfg')
            for key, value in node.items():
                visit(value, f'{path}.{key}')
        elif isinstance(node, (list, tuple)):
            for index, value in enumerate(node):
                visit(value, f'{path}[{index}]')

    visit(runner.cfg.get('model'), 'model')
    return found.get('path')


def seeded_generator(seed: int) -> torch.Generator:
    """A CPU generator for reproducible random pruning and re-initialisation."""
    return torch.Generator().manual_seed(int(seed))
