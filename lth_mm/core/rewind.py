"""Rewind points: the weights a pruning round restarts from, captured once and restored in place."""
from __future__ import annotations

import os
from typing import Dict, Iterable, List, Optional, Sequence, Union

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from .atomic import atomic_write_bytes
from .options import check_prefixes

__all__ = ['capture_state', 'check_prefixes_match', 'restore_state', 'save_state', 'load_state',
           'reinitialize']

PathLike = Union[str, os.PathLike]


def capture_state(model: nn.Module) -> Dict[str, torch.Tensor]:
    """A CPU copy of every tensor of ``model.state_dict()`` (parameters and buffers)."""
    return {k: v.detach().to('cpu', copy=True).contiguous() for k, v in model.state_dict().items()}


def _matches(name: str, prefixes: Sequence[str]) -> bool:
    return any(name.startswith(p) for p in prefixes)


@torch.no_grad()
def restore_state(model: nn.Module, state: Dict[str, torch.Tensor],
                  keep_prefixes: Sequence[str] = ()) -> List[str]:
    """Copy ``state`` into ``model`` in place (parameters keep their identity).

    Args:
        model: The model to rewind.
        state: A state captured by :func:`capture_state` from the same architecture.
        keep_prefixes: Tensors whose name starts with one of these are left as they are.

    Returns:
        The names restored.

    Raises:
        KeyError: if the state lacks tensors of the model or has unknown ones.
    """
    current = model.state_dict()
    missing = [k for k in current if k not in state and not _matches(k, keep_prefixes)]
    unexpected = [k for k in state if k not in current]
    if missing or unexpected:
        raise KeyError(f'rewind state does not fit {type(model).__name__}: missing '
                       f'{missing[:5]}, unexpected {unexpected[:5]}')
    restored = []
    for name, tensor in current.items():
        if _matches(name, keep_prefixes):
            continue
        if tensor.shape != state[name].shape:
            raise KeyError(f'rewind state: {name} has shape {list(state[name].shape)}, '
                           f'the model {list(tensor.shape)}')
        tensor.copy_(state[name])
        restored.append(name)
    return restored


def save_state(path: PathLike, state: Dict[str, torch.Tensor]) -> None:
    """Write a captured state to a safetensors file, atomically (no pickle)."""
    atomic_write_bytes(path, st_save({k: v.contiguous() for k, v in state.items()}))


def load_state(path: PathLike) -> Dict[str, torch.Tensor]:
    """Read a state written by :func:`save_state`."""
    try:
        with open(path, 'rb') as handle:
            return st_load(handle.read())
    except (OSError, SafetensorError) as err:
        raise ValueError(f'cannot read rewind state {path}: {err}') from err


def check_prefixes_match(model: nn.Module, owner: str, keep_prefixes: Sequence[str] = (),
                         reinit_prefixes: Sequence[str] = ()) -> None:
    """Refuse prefixes that select nothing, matched as :func:`restore_state` matches
    ``keep_prefixes`` (state-dict keys) and :func:`reinitialize` its ``prefixes`` (module
    names with a trailing dot); ``owner`` names the option's hook in the error."""
    kind = type(model).__name__
    check_prefixes(tuple(keep_prefixes), list(model.state_dict()), f'{owner}: keep_prefixes',
                   f'state-dict key of {kind}')
    check_prefixes(tuple(reinit_prefixes), [f'{n}.' for n, _ in model.named_modules() if n],
                   f'{owner}: reinit_prefixes', f'module of {kind}')


def reinitialize(model: nn.Module, seed: int, prefixes: Optional[Iterable[str]] = None) -> None:
    """Re-initialise ``model`` (or only the modules under ``prefixes``) from a seeded generator.

    OpenMMLab modules (``init_weights`` with an ``init_cfg``) are re-initialised as their config
    says; other modules through ``reset_parameters``. The global RNG state is left untouched.
    """
    prefixes = tuple(prefixes) if prefixes is not None else None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if prefixes is None and callable(getattr(model, 'init_weights', None)):
            for module in model.modules():
                if hasattr(module, '_is_init'):
                    module._is_init = False
            model.init_weights()
            return
        for name, module in model.named_modules():
            if prefixes is not None and not any(f'{name}.'.startswith(p) for p in prefixes):
                continue
            if callable(getattr(module, 'reset_parameters', None)):
                module.reset_parameters()
