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

__all__ = ['FORMAT', 'FORMAT_VERSION', 'TicketFileError', 'pack_bits', 'pack_masks',
           'read_ticket_bits', 'read_ticket_file', 'unpack_bits', 'unpack_masks',
           'write_ticket_bits', 'write_ticket_file']

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


#: Most dimensions a mask may have (real weights have at most 5).
MAX_DIMS = 32
_INT64_MAX = 2**63 - 1


def _shape(value: Any, name: str = '') -> tuple[int, ...]:
    """Validate one entry of the ``shapes`` metadata (of mask ``name``): a list of at most
    :data:`MAX_DIMS` non-negative ints whose product (and so every stride) fits in int64."""
    if not isinstance(value, list) or not all(type(d) is int and d >= 0 for d in value):
        raise ValueError(f'invalid shape {_short(value)} of {name!r}: expected a list of '
                         'non-negative integers')
    if len(value) > MAX_DIMS:
        raise ValueError(f'invalid shape of {name!r}: {len(value)} dimensions, at most '
                         f'{MAX_DIMS} are supported')
    # Zero-sized dimensions are skipped: torch still needs the strides of the others to fit.
    if math.prod(max(d, 1) for d in value) > _INT64_MAX:
        raise ValueError(f'invalid shape {_short(value)} of {name!r}: its sizes overflow a '
                         '64-bit integer')
    return tuple(value)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


def write_ticket_file(path: PathLike, masks: dict[str, torch.Tensor], card: dict[str, Any]) -> Path:
    """Write masks and their provenance card to ``path`` atomically."""
    return write_ticket_bits(path, {name: pack_mask(mask) for name, mask in masks.items()},
                             {name: tuple(mask.shape) for name, mask in masks.items()}, card)


def write_ticket_bits(path: PathLike, bits: dict[str, np.ndarray | torch.Tensor],
                      shapes: dict[str, tuple[int, ...]], card: dict[str, Any]) -> Path:
    """:func:`write_ticket_file` for masks already packed (:func:`pack_mask`)."""
    tensors = {name: np.ascontiguousarray(np.asarray(packed)) for name, packed in bits.items()}
    metadata = {
        'format': FORMAT,
        'format_version': str(FORMAT_VERSION),
        'shapes': json.dumps({name: list(shapes[name]) for name in bits}),
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


# safetensors refuses longer headers too (its MAX_HEADER_SIZE).
_MAX_HEADER = 100_000_000


def _unreadable(path: Path, prefix: bytes, err: BaseException) -> TicketFileError:
    """The error for a file that is not a ticket, judged by its first bytes (``prefix``)."""
    return TicketFileError(f'{path} is not a readable lth_mm ticket file: '
                           f'{_describe_foreign(prefix)} ({err})',
                           torch_file=_is_torch_file(prefix))


def _described_size(header: dict[str, Any]) -> int | None:
    """Bytes of tensor data the header describes (the largest end offset), None if unclear."""
    ends = [entry['data_offsets'][1] for key, entry in header.items()
            if key != '__metadata__' and isinstance(entry, dict)
            and isinstance(entry.get('data_offsets'), list) and len(entry['data_offsets']) == 2]
    if not all(type(end) is int and end >= 0 for end in ends):
        return None
    return max(ends, default=0)


def _damaged(path: Path, header: dict[str, Any], header_len: int, size: int,
             err: BaseException) -> TicketFileError:
    """The error for an lth_mm ticket whose header checked out but whose tensors do not load."""
    described = _described_size(header)
    data_size = size - 8 - header_len
    if described is not None and data_size < described:
        what = (f'the file is {size:,} bytes, shorter than the {8 + header_len + described:,} '
                'its header describes: it was cut short (an interrupted copy, download or write)')
    elif described is not None and data_size > described:
        what = (f'the file is {size:,} bytes, longer than the {8 + header_len + described:,} '
                'its header describes: something was appended to it')
    else:
        what = f'its lth_mm header reads well but its tensor data does not ({err})'
    return TicketFileError(f'{path} is a damaged lth_mm ticket file: {what}. Copy it again from '
                           'its source, or save the ticket again (Ticket.save)')


def read_ticket_file(path: PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read and validate a ticket file; return ``(masks, card)``.

    Raises:
        TicketFileError: naming the file and what is wrong with it.
    """
    bits, shapes, card = read_ticket_bits(path)
    return {name: unpack_mask(bits[name], shape) for name, shape in shapes.items()}, card


def read_ticket_bits(path: PathLike) -> tuple[dict[str, np.ndarray],
                                              dict[str, tuple[int, ...]], dict[str, Any]]:
    """:func:`read_ticket_file` without unpacking: ``(bits, shapes, card)``, each mask's bits
    checked against its shape (size, padding)."""
    path = Path(path)
    if not path.is_file():
        what = 'is not a file' if path.exists() else 'does not exist'
        raise TicketFileError(f'ticket file {path} {what}')
    # The header (format, version) is read and checked before the tensors, so that a file of
    # another format or version is named as such without reading all of it.
    with open(path, 'rb') as file:
        prefix = file.read(8)
        size = os.fstat(file.fileno()).st_size
        header_len = int.from_bytes(prefix, 'little')
        try:
            if len(prefix) < 8:
                raise ValueError(f'the file is only {size} bytes long')
            if header_len > min(size - 8, _MAX_HEADER):
                raise ValueError(f'its header length {header_len:,} does not fit the file '
                                 f'({size:,} bytes)')
            header_bytes = file.read(header_len)
            header = json.loads(header_bytes)
            if not isinstance(header, dict):
                raise TypeError(f'the header is a JSON {type(header).__name__}, not an object')
            metadata = header.get('__metadata__') or {}
            if not isinstance(metadata, dict):
                raise TypeError('the header\'s "__metadata__" is not an object')
        except (ValueError, TypeError, UnicodeDecodeError, RecursionError) as err:
            raise _unreadable(path, prefix, err) from err
        if metadata.get('format') != FORMAT:
            raise TicketFileError(
                f'{path} is a safetensors file but not an lth_mm ticket (metadata format='
                f'{metadata.get("format")!r}, expected {FORMAT!r}); a weights file? Tickets '
                'are written by Ticket.save or tools/ticket.py')
        version = metadata.get('format_version')
        if version != str(FORMAT_VERSION):
            raise TicketFileError(f'{path}: ticket format version {version!r} is not supported '
                                  f'by this lth_mm (reads version {FORMAT_VERSION}); upgrade '
                                  'lth_mm')
        data = prefix + header_bytes + file.read()
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError, OverflowError) as err:
        raise _damaged(path, header, header_len, size, err) from err
    try:
        shapes = {name: _shape(shape, name)
                  for name, shape in json.loads(metadata['shapes']).items()}
        card = json.loads(metadata.get('card', '{}'))
        if not isinstance(card, dict):
            raise TypeError(f'the card is a {type(card).__name__}, expected a JSON object')
    except (KeyError, ValueError, TypeError, AttributeError, RecursionError) as err:
        raise TicketFileError(f'{path}: corrupt ticket metadata ({err!r})') from err
    return _checked(tensors, shapes, path), shapes, card


def _checked(tensors: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]],
             where: Any) -> dict[str, np.ndarray]:
    """Check packed masks against their shapes (``where`` names the source); in shapes' order."""
    if set(shapes) != set(tensors):
        raise TicketFileError(
            f'{where}: corrupt ticket: masks without shape '
            f'{sorted(set(tensors) - set(shapes))[:5]}, '
            f'shapes without mask {sorted(set(shapes) - set(tensors))[:5]}')
    masks = {}
    for name, shape in shapes.items():
        packed = tensors[name]
        numel = math.prod(shape)
        if packed.dtype != np.uint8:
            raise TicketFileError(
                f'{where}: corrupt mask {name!r}: stored as {packed.dtype}, but masks are stored '
                'bit-packed as uint8')
        if packed.ndim != 1:
            raise TicketFileError(
                f'{where}: corrupt mask {name!r}: stored with {packed.ndim} dimensions '
                f'{list(packed.shape)}, but packed masks are 1-D (the mask\'s shape '
                f'{list(shape)} is kept apart, in the metadata)')
        if packed.size != (numel + 7) // 8:
            raise TicketFileError(
                f'{where}: corrupt mask {name!r}: {packed.size} bytes of uint8 for shape '
                f'{list(shape)} (expected {(numel + 7) // 8} uint8 bytes)')
        if numel % 8 and packed.size and int(packed[-1]) & ((1 << (8 - numel % 8)) - 1):
            raise TicketFileError(f'{where}: corrupt mask {name!r}: padding bits are set')
        masks[name] = packed
    return masks


def pack_masks(masks: dict[str, torch.Tensor], card: dict[str, Any]) -> dict[str, Any]:
    """Masks and card as plain data for a checkpoint: the file format's content, in a dict.

    ``{'format', 'format_version', 'shapes', 'card', 'masks': {name: uint8 tensor}}`` holds only
    strings, numbers, lists and tensors, so ``torch.load(weights_only=True)`` reads it back.
    """
    return pack_bits({name: pack_mask(mask) for name, mask in masks.items()},
                     {name: tuple(mask.shape) for name, mask in masks.items()}, card)


def pack_bits(bits: dict[str, np.ndarray | torch.Tensor], shapes: dict[str, tuple[int, ...]],
              card: dict[str, Any]) -> dict[str, Any]:
    """:func:`pack_masks` for masks already packed (each record tensor owns its bytes)."""
    return {'format': FORMAT, 'format_version': FORMAT_VERSION,
            'shapes': {name: list(shapes[name]) for name in bits},
            'card': json.loads(json.dumps(card)),
            'masks': {name: torch.from_numpy(np.array(packed, dtype=np.uint8))
                      for name, packed in bits.items()}}


def unpack_masks(state: Any, where: Any = 'checkpoint') -> tuple[dict[str, torch.Tensor],
                                                                  dict[str, Any]]:
    """Inverse of :func:`pack_masks`, validated like a ticket file."""
    bits, shapes, card = unpack_bits(state, where)
    return {name: unpack_mask(bits[name], shape) for name, shape in shapes.items()}, card


def unpack_bits(state: Any, where: Any = 'checkpoint') -> tuple[
        dict[str, np.ndarray], dict[str, tuple[int, ...]], dict[str, Any]]:
    """:func:`unpack_masks` without unpacking: ``(bits, shapes, card)``, validated."""
    if not isinstance(state, dict) or state.get('format') != FORMAT:
        raise TicketFileError(f'{where}: not an lth_mm ticket record')
    if type(state.get('format_version')) is not int or state['format_version'] != FORMAT_VERSION:
        raise TicketFileError(f'{where}: ticket format version {state.get("format_version")!r} '
                              f'is not supported by this lth_mm (reads {FORMAT_VERSION})')
    try:
        shapes = {_name(name): _shape(shape, name) for name, shape in state['shapes'].items()}
        # Runner.resume maps a checkpoint onto the run's device (cuda on a GPU): read from there.
        tensors = {_name(name): _plain_tensor(value, name).detach().cpu().numpy()
                   for name, value in state['masks'].items()}
        # as a ticket file's card: a JSON object (a record is written from one, pack_masks)
        card = json.loads(json.dumps(state['card']))
        if not isinstance(card, dict):
            raise TypeError(f'the card is a {type(card).__name__}, expected a dict')
    except (KeyError, ValueError, TypeError, AttributeError, RecursionError) as err:
        raise TicketFileError(f'{where}: corrupt ticket record ({err!r})') from err
    return _checked(tensors, shapes, where), shapes, card


def _name(name: Any) -> str:
    """A mask's name in a record: a string, as in a ticket file."""
    if not isinstance(name, str):
        raise TypeError(f'a mask name {name!r} that is no string')
    return name


def _plain_tensor(value: Any, name: str) -> torch.Tensor:
    """A record's packed mask: a dense tensor with values (not sparse, nested or meta)."""
    if not isinstance(value, torch.Tensor) or value.layout != torch.strided or \
            value.is_nested or value.is_meta:
        raise TypeError(f'mask {name!r} is no dense tensor with values')
    return value
