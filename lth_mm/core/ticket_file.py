"""The ticket file format: bit-packed masks in a safetensors file, loaded without unpickling.

Layout (format version 1):

* one ``uint8`` tensor per mask, named by the parameter (``layer1.0.conv1.weight``), holding the
  mask flattened in C order and bit-packed with ``numpy.packbits`` (big bit order, 1 = kept,
  zero padding in the last byte);
* metadata ``format = 'lth_mm.ticket'``, ``format_version = '1'``, ``shapes`` (JSON: name ->
  list of ints) and ``card`` (JSON: the provenance card, see :class:`lth_mm.core.Ticket`).
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from .atomic import atomic_write_bytes

__all__ = ['FORMAT', 'FORMAT_VERSION', 'TicketFileError', 'pack_masks', 'read_ticket_file',
           'unpack_masks', 'write_ticket_file']

FORMAT = 'lth_mm.ticket'
FORMAT_VERSION = 1
PathLike = str | os.PathLike


class TicketFileError(ValueError):
    """A ticket file is missing, corrupt, truncated or of another format.

    ``torch_file`` is True when the file is a PyTorch (``torch.save``) file rather than a ticket.
    """

    def __init__(self, message: str, torch_file: bool = False) -> None:
        super().__init__(message)
        self.torch_file = torch_file


def pack_mask(mask: torch.Tensor) -> np.ndarray:
    """Bit-pack a boolean mask (C order) into ``uint8``."""
    return np.packbits(mask.detach().cpu().numpy().astype(bool, copy=False).reshape(-1))


def unpack_mask(packed: np.ndarray, shape: tuple[int, ...]) -> torch.Tensor:
    """Inverse of :func:`pack_mask`."""
    numel = math.prod(shape)
    bits = np.unpackbits(packed, count=numel).view(bool)  # 0/1 bytes: valid bools, no copy
    return torch.from_numpy(bits).reshape(shape)


def _shape(value: Any) -> tuple[int, ...]:
    """Validate one entry of the ``shapes`` metadata: a list of non-negative ints."""
    if not isinstance(value, list) or not all(type(d) is int and d >= 0 for d in value):
        raise ValueError(f'invalid shape {value!r}: expected a list of non-negative integers')
    return tuple(value)


def write_ticket_file(path: PathLike, masks: dict[str, torch.Tensor], card: dict[str, Any]) -> Path:
    """Write masks and their provenance card to ``path`` atomically."""
    tensors = {name: pack_mask(mask) for name, mask in masks.items()}
    metadata = {
        'format': FORMAT,
        'format_version': str(FORMAT_VERSION),
        'shapes': json.dumps({name: list(mask.shape) for name, mask in masks.items()}),
        'card': json.dumps(card, sort_keys=True),
    }
    return atomic_write_bytes(path, st_save(tensors, metadata=metadata))


def _is_torch_file(data: bytes) -> bool:
    """A zip archive (``torch.save`` since 1.6) or a protocol-2+ pickle (older ``torch.save``)."""
    return data[:2] == b'PK' or data[:1] == b'\x80'


def _describe_foreign(data: bytes) -> str:
    if _is_torch_file(data):
        return ('it looks like a PyTorch checkpoint (torch.save); if it holds "*.weight_mask" '
                'tensors from torch.nn.utils.prune, read it with Ticket.from_torch_prune(path)')
    return 'it is not a safetensors file'


def read_ticket_file(path: PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read and validate a ticket file; return ``(masks, card)``.

    Raises:
        TicketFileError: naming the file and what is wrong with it.
    """
    path = Path(path)
    if not path.is_file():
        what = 'is not a file' if path.exists() else 'does not exist'
        raise TicketFileError(f'ticket file {path} {what}')
    data = path.read_bytes()
    try:
        tensors = st_load(data)
        header_len = int.from_bytes(data[:8], 'little')
        metadata = json.loads(data[8:8 + header_len]).get('__metadata__') or {}
    except (SafetensorError, ValueError, UnicodeDecodeError, OverflowError) as err:
        raise TicketFileError(f'{path} is not a readable lth_mm ticket file: '
                              f'{_describe_foreign(data)} ({err})',
                              torch_file=_is_torch_file(data)) from err
    if metadata.get('format') != FORMAT:
        raise TicketFileError(
            f'{path} is a safetensors file but not an lth_mm ticket (metadata format='
            f'{metadata.get("format")!r}, expected {FORMAT!r}); a weights file? Tickets are '
            'written by Ticket.save or tools/ticket.py')
    version = metadata.get('format_version')
    if version != str(FORMAT_VERSION):
        raise TicketFileError(f'{path}: ticket format version {version!r} is not supported by this '
                              f'lth_mm (reads version {FORMAT_VERSION}); upgrade lth_mm')
    try:
        shapes = {name: _shape(shape) for name, shape in json.loads(metadata['shapes']).items()}
        card = json.loads(metadata.get('card', '{}'))
        if not isinstance(card, dict):
            raise TypeError(f'the card is a {type(card).__name__}, expected a JSON object')
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise TicketFileError(f'{path}: corrupt ticket metadata ({err!r})') from err
    return _unpack_all(tensors, shapes, path), card


def _unpack_all(tensors: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]],
                where: Any) -> dict[str, torch.Tensor]:
    """Check packed masks against their shapes and unpack them (``where`` names the source)."""
    if set(shapes) != set(tensors):
        raise TicketFileError(
            f'{where}: corrupt ticket: masks without shape '
            f'{sorted(set(tensors) - set(shapes))[:5]}, '
            f'shapes without mask {sorted(set(shapes) - set(tensors))[:5]}')
    masks = {}
    for name, shape in shapes.items():
        packed = tensors[name]
        numel = math.prod(shape)
        if packed.dtype != np.uint8 or packed.ndim != 1 or packed.size != (numel + 7) // 8:
            raise TicketFileError(
                f'{where}: corrupt mask {name!r}: {packed.size} bytes of {packed.dtype} for shape '
                f'{list(shape)} (expected {(numel + 7) // 8} uint8 bytes)')
        if numel % 8 and packed.size and int(packed[-1]) & ((1 << (8 - numel % 8)) - 1):
            raise TicketFileError(f'{where}: corrupt mask {name!r}: padding bits are set')
        masks[name] = unpack_mask(packed, shape)
    return masks


def pack_masks(masks: dict[str, torch.Tensor], card: dict[str, Any]) -> dict[str, Any]:
    """Masks and card as plain data for a checkpoint: the file format's content, in a dict.

    ``{'format', 'format_version', 'shapes', 'card', 'masks': {name: uint8 tensor}}`` holds only
    strings, numbers, lists and tensors, so ``torch.load(weights_only=True)`` reads it back.
    """
    return {'format': FORMAT, 'format_version': FORMAT_VERSION,
            'shapes': {name: list(mask.shape) for name, mask in masks.items()},
            'card': json.loads(json.dumps(card)),
            'masks': {name: torch.from_numpy(pack_mask(mask)) for name, mask in masks.items()}}


def unpack_masks(state: Any, where: Any = 'checkpoint') -> tuple[dict[str, torch.Tensor],
                                                                  dict[str, Any]]:
    """Inverse of :func:`pack_masks`, validated like a ticket file."""
    if not isinstance(state, dict) or state.get('format') != FORMAT:
        raise TicketFileError(f'{where}: not an lth_mm ticket record')
    if state.get('format_version') != FORMAT_VERSION:
        raise TicketFileError(f'{where}: ticket format version {state.get("format_version")!r} '
                              f'is not supported by this lth_mm (reads {FORMAT_VERSION})')
    try:
        shapes = {name: _shape(shape) for name, shape in state['shapes'].items()}
        tensors = {name: value.numpy() for name, value in state['masks'].items()}
        card = dict(state['card'])
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise TicketFileError(f'{where}: corrupt ticket record ({err!r})') from err
    return _unpack_all(tensors, shapes, where), card
