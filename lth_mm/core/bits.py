"""Masks of one bit per weight: how a ticket holds its masks, and how they are applied.

A mask is kept as a flat ``uint8`` tensor: the boolean mask flattened in C order and packed
with ``numpy.packbits`` (big bit order, 1 = kept, zero padding in the last byte), the layout of
the ticket file format (:mod:`.ticket_file`). A ResNet-50 ticket (23.5 M prunable weights) is
2.8 MiB this way, against 22.4 MiB at one byte per weight and 89.5 MiB as ``float`` masks.

Applying a mask unpacks it a slice at a time into a small temporary (``numpy.unpackbits`` on
the CPU, two bit operations on an accelerator) and multiplies the weights by it in place, so a
run under a ticket holds 1 bit per masked weight and one slice, never a whole unpacked mask.
"""
from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ['CPU_SLICE', 'DEVICE_SLICE', 'all_kept', 'count', 'mul_', 'pack', 'unpack']

#: Weights unpacked and multiplied at a time on the CPU: the temporary is one byte per weight
#: of a slice (1 MiB); the multiplication casts nothing (a ``bool`` operand of numpy's
#: in-place multiply is cast in its small internal buffers, a ``uint8`` one of torch's
#: ``mul_`` in a float copy of the slice).
CPU_SLICE = 1 << 20
#: Weights unpacked at a time on an accelerator (a temporary of one byte per weight).
DEVICE_SLICE = 1 << 24

#: Set bits of every byte value.
_POPCOUNT = np.array([bin(i).count('1') for i in range(256)], dtype=np.uint8)
#: numpy dtypes of the torch dtypes whose CPU tensors numpy can multiply in place.
_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64,
                 torch.float16: np.float16}
_SHIFTS: dict[torch.device, torch.Tensor] = {}


def pack(mask: torch.Tensor) -> torch.Tensor:
    """A boolean (or 0/1) mask as its bits: a flat ``uint8`` CPU tensor of ``ceil(n / 8)``."""
    values = mask.detach().cpu().reshape(-1).numpy()
    return torch.from_numpy(np.packbits(values.astype(bool, copy=False)))


def unpack(bits: torch.Tensor, shape: tuple[int, ...] | torch.Size) -> torch.Tensor:
    """Inverse of :func:`pack`: a new ``bool`` tensor of ``shape`` on ``bits``' device."""
    numel = math.prod(shape)
    if bits.device.type == 'cpu':
        flat = np.unpackbits(bits.numpy(), count=numel).view(bool)  # 0/1 bytes: valid bools
        return torch.from_numpy(flat).reshape(shape)
    return _unpack_device(bits, numel).view(torch.bool).reshape(shape)


def count(bits: torch.Tensor) -> int:
    """Number of set bits (kept weights; the padding is zero)."""
    data = bits.detach().cpu().numpy()
    return int(_POPCOUNT[data].sum(dtype=np.int64))


def all_kept(bits: torch.Tensor, numel: int) -> bool:
    """Whether the mask of ``numel`` weights packed in ``bits`` keeps every one (any device)."""
    full, rest = divmod(numel, 8)
    if full and not bool((bits[:full] == 255).all()):
        return False
    return not rest or int(bits[full]) == (0xFF << (8 - rest)) & 0xFF


def mul_(tensor: torch.Tensor, bits: torch.Tensor) -> None:
    """``tensor *= mask`` in place, for the mask packed in ``bits`` (on ``tensor``'s device).

    Bit for bit what multiplying by the unpacked mask as a float tensor gives (``-x * 0`` is
    ``-0.0``, a NaN stays NaN), one slice at a time (:data:`CPU_SLICE`, :data:`DEVICE_SLICE`).
    """
    numel = tensor.numel()
    if not numel:
        return
    if not tensor.is_contiguous():
        tensor.mul_(unpack(bits, tensor.shape).view(torch.uint8))
        return
    flat = tensor.detach().view(-1)
    if tensor.device.type != 'cpu':
        for start in range(0, numel, DEVICE_SLICE):
            stop = min(numel, start + DEVICE_SLICE)
            flat[start:stop].mul_(_unpack_device(bits[start // 8:(stop + 7) // 8],
                                                 stop - start))
        return
    data = bits.numpy()
    dtype = _NUMPY_DTYPES.get(tensor.dtype)
    array = flat.numpy() if dtype is not None else None
    for start in range(0, numel, CPU_SLICE):
        stop = min(numel, start + CPU_SLICE)
        mask = np.unpackbits(data[start // 8:(stop + 7) // 8], count=stop - start)
        if array is not None:
            part = array[start:stop]
            np.multiply(part, mask.view(bool), out=part)
        else:  # bfloat16 and others numpy lacks
            flat[start:stop].mul_(torch.from_numpy(mask))


def _unpack_device(bits: torch.Tensor, numel: int) -> torch.Tensor:
    """The first ``numel`` bits of ``bits`` as 0/1 ``uint8`` bytes, on ``bits``' device."""
    shifts = _SHIFTS.get(bits.device)
    if shifts is None:
        shifts = _SHIFTS[bits.device] = torch.arange(7, -1, -1, dtype=torch.uint8,
                                                     device=bits.device)
    return (bits.unsqueeze(-1) >> shifts).bitwise_and_(1).view(-1)[:numel]
