"""Masks of one bit per weight: how a ticket holds its masks, and how they are applied.

A mask is kept as a flat ``uint8`` tensor: the boolean mask flattened in C order and packed
with ``numpy.packbits`` (big bit order, 1 = kept, zero padding in the last byte), the layout of
the ticket file format (:mod:`.ticket_file`). A ResNet-50 ticket (23.5 M prunable weights) is
2.8 MiB this way, against 22.4 MiB at one byte per weight and 89.5 MiB as ``float`` masks.

Applying a mask unpacks it a slice at a time into a small temporary (``numpy.unpackbits`` on
the CPU, two bit operations on an accelerator) and multiplies the weights by it in place, so a
run under a ticket holds 1 bit per masked weight and one slice, never a whole unpacked mask
(but for a tensor in another memory layout, such as ``channels_last``: its mask is unpacked
whole, one tensor at a time).
"""
from __future__ import annotations

import numpy as np
import torch

from .ticket_file import pack_mask, unpack_mask

__all__ = ['CPU_SLICE', 'DEVICE_SLICE', 'all_kept', 'count', 'mul_', 'pack', 'unpack']

#: Weights unpacked and multiplied at a time on the CPU (a multiple of 8): the temporary is one
#: byte per weight of a slice (1 MiB), plus, for the dtypes numpy lacks or emulates (float16,
#: bfloat16), the float copy of it that torch's ``mul_`` casts a ``uint8`` operand into (numpy
#: casts its ``bool`` operand in small internal buffers).
CPU_SLICE = 1 << 20
#: Weights unpacked at a time on an accelerator (a multiple of 8; a temporary of one byte per
#: weight).
DEVICE_SLICE = 1 << 24

#: Set bits of every byte value.
_POPCOUNT = np.array([bin(i).count('1') for i in range(256)], dtype=np.uint8)
#: The torch dtypes whose CPU tensors numpy multiplies in place, faster than torch's ``mul_``
#: by a ``uint8`` slice (numpy emulates float16, at half torch's speed: float16 goes to torch).
_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}
_SHIFTS: dict[torch.device, torch.Tensor] = {}


def pack(mask: torch.Tensor) -> torch.Tensor:
    """A boolean (or 0/1) mask as its bits: a flat ``uint8`` CPU tensor of ``ceil(n / 8)``."""
    return torch.from_numpy(pack_mask(mask))


def unpack(bits: torch.Tensor, shape: tuple[int, ...] | torch.Size) -> torch.Tensor:
    """Inverse of :func:`pack`: a new ``bool`` tensor of ``shape`` on ``bits``' device."""
    if bits.device.type == 'cpu':
        return unpack_mask(bits.numpy(), tuple(shape))
    return _unpack_device(bits, torch.Size(shape).numel()).view(torch.bool).reshape(shape)


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
    Like any in-place operation it bumps ``tensor``'s version, so autograd still refuses a
    backward pass through weights masked after its forward pass.
    """
    if CPU_SLICE % 8 or DEVICE_SLICE % 8:
        raise ValueError(f'bits.CPU_SLICE ({CPU_SLICE}) and bits.DEVICE_SLICE ({DEVICE_SLICE}) '
                         'must be multiples of 8: a slice starts at a whole byte of the mask')
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
    array = flat.numpy() if tensor.dtype in _NUMPY_DTYPES else None
    with np.errstate(invalid='ignore'):  # inf * 0 is NaN, silently, as in torch
        for start in range(0, numel, CPU_SLICE):
            stop = min(numel, start + CPU_SLICE)
            mask = np.unpackbits(data[start // 8:(stop + 7) // 8], count=stop - start)
            if array is not None:
                part = array[start:stop]
                np.multiply(part, mask.view(bool), out=part)
            else:  # float16, bfloat16 and the rest
                flat[start:stop].mul_(torch.from_numpy(mask))
    if array is not None:  # numpy wrote behind autograd's back: count the write
        torch.autograd.graph.increment_version(tensor)


def _unpack_device(bits: torch.Tensor, numel: int) -> torch.Tensor:
    """The first ``numel`` bits of ``bits`` as 0/1 ``uint8`` bytes, on ``bits``' device."""
    shifts = _SHIFTS.get(bits.device)
    if shifts is None:
        shifts = _SHIFTS[bits.device] = torch.arange(7, -1, -1, dtype=torch.uint8,
                                                     device=bits.device)
    return (bits.unsqueeze(-1) >> shifts).bitwise_and_(1).view(-1)[:numel]
