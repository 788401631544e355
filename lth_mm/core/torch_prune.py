"""Interoperability with files written through ``torch.nn.utils.prune`` (the original code).

The original code stores masks as float ``<module>.weight_mask`` tensors, either bare or under
``state_dict``, with ``module.`` (DataParallel) or ``module.encoder_q.`` (MoCo) prefixes, and its
checkpoints hold ``<module>.weight_orig`` / ``<module>.weight_mask`` pairs instead of ``weight``.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch

from .torch_file import load_torch_file

__all__ = [
    'dense_from_torch_prune',
    'load_torch_file',
    'mask_problem',
    'masks_from_torch_prune',
    'masks_to_torch_prune',
]

MASK_SUFFIX = '.weight_mask'
ORIG_SUFFIX = '.weight_orig'
# Prefixes the original code's files carry; the MoCo query encoder wins over the key encoder.
_KNOWN_PREFIXES = ('module.encoder_q.', 'encoder_q.', 'module.')
_IGNORED_PREFIXES = ('module.encoder_k.', 'encoder_k.')


#: Keys under which the original code's scripts save the state dict that holds the masks, tried
#: in this order when the top level holds none: ``state_dict`` (classification), ``backbone``
#: (detection's ``save_dicts_and_masks`` and segmentation's IMP files: the ResNet-50 backbone
#: alone, torchvision names), ``model_state`` (DeepLabv3+ checkpoints), ``model``.
NESTED_KEYS = ('state_dict', 'backbone', 'model_state', 'model')


def _has_masks(state: Mapping[Any, Any]) -> bool:
    return any(isinstance(k, str) and k.endswith(MASK_SUFFIX) for k in state)


def _state_dict(obj_or_path: Any, allow_pickle: bool = False,
                where: str | None = None) -> tuple[Mapping[str, Any], str]:
    """The state dict of a file or object, and a name for messages (``where``, the path, or 'the
    object')."""
    obj, where = obj_or_path, where or 'the object'
    if isinstance(obj, (str, os.PathLike)):
        obj, where = load_torch_file(obj, allow_pickle=allow_pickle), str(obj)
    if isinstance(obj, Mapping) and not _has_masks(obj):
        nested = [key for key in NESTED_KEYS if isinstance(obj.get(key), Mapping)]
        chosen = next((key for key in nested if _has_masks(obj[key])), None)
        if chosen is None and 'state_dict' in nested:
            chosen = 'state_dict'
        if chosen is not None:
            obj = obj[chosen]
    if not isinstance(obj, Mapping):
        raise ValueError(f'{where}: expected a state dict (or a dict with "state_dict"), got '
                         f'{type(obj).__name__}')
    return obj, where


def mask_problem(value: Any) -> str | None:
    """What keeps ``value`` from being a pruning mask (a phrase to follow its key), or None.

    A mask is a dense tensor with values (not on the ``meta`` device) that holds only 0 and 1.
    """
    if not isinstance(value, torch.Tensor):
        return f'is a {type(value).__name__}, expected a tensor'
    if value.layout != torch.strided or value.is_nested:
        kind = 'nested' if value.is_nested else str(value.layout).replace('torch.', '')
        return f'is a {kind} tensor, expected a dense one (convert it with .to_dense())'
    if value.is_meta:
        return 'is on the meta device: it holds no values (a model built without weights?)'
    if not bool(((value == 0) | (value == 1)).all()):
        return 'holds values other than 0 and 1: not a pruning mask'
    return None


def _plain_name(key: str) -> str | None:
    """Strip the known prefixes; None for keys of the MoCo key encoder."""
    if key.startswith(_IGNORED_PREFIXES):
        return None
    for prefix in _KNOWN_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def _put(out: dict[str, Any], sources: dict[str, str], name: str, key: str, value: Any) -> None:
    """Store ``value`` under ``name``, refusing a second key that maps to the same name."""
    if name in out:
        raise ValueError(f'{sources[name]!r} and {key!r} both map to {name!r}; '
                         'strip the prefixes of one of them first')
    out[name] = value
    sources[name] = key


class NoMasksError(ValueError):
    """A file or object that holds no ``*.weight_mask`` tensor at all."""


def masks_from_torch_prune(obj_or_path: Any, allow_pickle: bool = False,
                           where: str | None = None) -> dict[str, torch.Tensor]:
    """Read ``*.weight_mask`` tensors; return boolean masks under plain parameter names.

    Args:
        obj_or_path: A state dict, a dict holding one (under ``state_dict``, ``backbone``,
            ``model_state`` or ``model``, as the original code's classification, detection and
            segmentation scripts save them), or a path to either.
        allow_pickle: See :func:`~.torch_file.load_torch_file` (trusted files only).
        where: The object's name in messages (a path's is the path).

    Returns:
        ``{'layer1.0.conv1.weight': bool tensor, ...}``.
    """
    return _masks(*_state_dict(obj_or_path, allow_pickle, where))


def _masks(state: Mapping[Any, Any], where: str) -> dict[str, torch.Tensor]:
    masks: dict[str, torch.Tensor] = {}
    sources: dict[str, str] = {}
    for key, value in state.items():
        # Only "*.weight_mask" keys are read, so other keys, whatever their type, are left
        # alone like any other entry that is not a mask.
        if not isinstance(key, str) or not key.endswith(MASK_SUFFIX):
            continue
        name = _plain_name(key)
        if name is None:
            continue
        problem = mask_problem(value)
        if problem is not None:
            raise ValueError(f'{where}: {key} {problem}')
        _put(masks, sources, name[:-len(MASK_SUFFIX)] + '.weight', key, value != 0)
    if not masks:
        sample = ', '.join(map(str, list(state)[:5]))
        raise NoMasksError(f'{where}: no "*.weight_mask" tensors found (keys look like: '
                           f'{sample}); this is not a torch.nn.utils.prune mask file')
    return masks


def masks_to_torch_prune(masks: Mapping[str, torch.Tensor],
                         prefix: str = '') -> dict[str, torch.Tensor]:
    """Write masks back as ``{prefix + '<module>.weight_mask': float tensor}``."""
    out = {}
    for name, mask in masks.items():
        if not name.endswith('.weight'):
            raise ValueError(
                f'{name!r}: torch.nn.utils.prune masks only weights ending in ".weight"')
        out[prefix + name[:-len('.weight')] + MASK_SUFFIX] = mask.to(torch.float32)
    return out


def dense_from_torch_prune(obj_or_path: Any, allow_pickle: bool = False
                           ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Split a pruned checkpoint into dense weights and masks, under plain names.

    ``weight_orig * weight_mask`` becomes ``weight``; the other tensors keep their names (prefixes
    stripped, MoCo key encoder dropped).

    Returns:
        ``(state_dict, masks)``.
    """
    state, where = _state_dict(obj_or_path, allow_pickle)
    masks = _masks(state, where)
    dense: dict[str, torch.Tensor] = {}
    sources: dict[str, str] = {}
    for key, value in state.items():
        if not isinstance(key, str):  # every key becomes a parameter name
            raise ValueError(f'{where}: the key {key!r} is a {type(key).__name__}; state dict '
                             'keys are parameter names (strings)')
        name = _plain_name(key)
        if name is None or name.endswith(MASK_SUFFIX):
            continue
        if name.endswith(ORIG_SUFFIX):
            weight = name[:-len(ORIG_SUFFIX)] + '.weight'
            if weight not in masks:
                raise ValueError(f'{where}: {key} has no matching "{weight[:-7]}.weight_mask"')
            mask_key = key[:-len('orig')] + 'mask'
            if not isinstance(value, torch.Tensor) or value.shape != masks[weight].shape:
                what = (f'shape {list(value.shape)}' if isinstance(value, torch.Tensor)
                        else f'a {type(value).__name__}')
                raise ValueError(f'{where}: {key} ({what}) and its mask {mask_key} (shape '
                                 f'{list(masks[weight].shape)}) differ: a mask covers its weight '
                                 'element by element')
            _put(dense, sources, weight, key, value * masks[weight].to(value.dtype))
        else:
            _put(dense, sources, name, key, value)
    return dense, masks
