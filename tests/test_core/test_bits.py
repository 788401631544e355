"""Masks of one bit per weight (lth_mm.core.bits): packing, counting and applying."""
from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lth_mm.core import bits

from .test_ticket import same_bits

shapes = st.lists(st.integers(1, 9), min_size=1, max_size=4).map(tuple)


def _mask(shape: tuple[int, ...], seed: int, keep: float) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < keep


@settings(max_examples=60, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16), keep=st.sampled_from([0.0, 0.3, 0.9, 1.0]))
def test_pack_unpack_count_and_all_kept_agree_with_the_mask(shape, seed, keep) -> None:
    mask = _mask(shape, seed, keep)
    packed = bits.pack(mask)
    assert packed.dtype == torch.uint8 and packed.shape == ((mask.numel() + 7) // 8, )
    assert np.array_equal(packed.numpy(), np.packbits(mask.numpy().reshape(-1)))  # the file's
    assert torch.equal(bits.unpack(packed, shape), mask)
    assert bits.count(packed) == int(mask.sum())
    assert bits.all_kept(packed, mask.numel()) == bool(mask.all())
    # the accelerators' unpacking, run here on the CPU: the same bits
    assert torch.equal(bits._unpack_device(packed, mask.numel()).view(torch.bool),
                       mask.reshape(-1))


@settings(max_examples=60, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16), keep=st.floats(0.0, 1.0),
       cpu_slice=st.sampled_from([8, 16, 40, bits.CPU_SLICE]),
       dtype=st.sampled_from([torch.float32, torch.float64, torch.float16, torch.bfloat16]))
def test_mul_is_a_multiplication_by_the_float_mask_bit_for_bit(shape, seed, keep, cpu_slice,
                                                               dtype) -> None:
    """Whole or in slices (the numpy path for float16/32/64, torch's for bfloat16), the result
    has the bits of ``weight * mask.float()``: -x * 0 is -0.0, NaN stays NaN."""
    mask = _mask(shape, seed, keep)
    weight = torch.randn(shape, generator=torch.Generator().manual_seed(seed + 1)).to(dtype)
    weight.view(-1)[0] = float('nan')
    expected = weight * mask.to(dtype)
    with mock.patch.object(bits, 'CPU_SLICE', cpu_slice):
        bits.mul_(weight, bits.pack(mask))
    assert same_bits(weight, expected)


def test_mul_of_a_non_contiguous_tensor_and_of_an_empty_one() -> None:
    mask = _mask((6, 5), 0, 0.5)
    base = torch.randn(5, 6)
    weight = base.t()  # a transposed view: not contiguous
    expected = weight * mask
    bits.mul_(weight, bits.pack(mask))
    assert torch.equal(weight, expected) and torch.equal(base.t(), expected)  # in place
    bits.mul_(torch.empty(0, 3), bits.pack(torch.empty(0, 3, dtype=torch.bool)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_mul_on_a_gpu_matches_the_cpu() -> None:
    mask = _mask((257, 33, 3), 4, 0.3)
    weight = torch.randn(mask.shape)
    on_gpu = weight.cuda()
    with mock.patch.object(bits, 'DEVICE_SLICE', 8 * 1000):
        bits.mul_(on_gpu, bits.pack(mask).cuda())
    bits.mul_(weight, bits.pack(mask))
    assert torch.equal(on_gpu.cpu(), weight)
    assert torch.equal(bits.unpack(bits.pack(mask).cuda(), mask.shape).cpu(), mask)
    assert bits.all_kept(bits.pack(torch.ones(13, dtype=torch.bool)).cuda(), 13)


def test_mul_counts_as_an_in_place_write_for_autograd() -> None:
    """Masking a weight between a forward and its backward pass is refused by autograd, as for
    torch's own in-place multiplication (numpy writes behind its back: the version is bumped)."""
    for dtype in (torch.float32, torch.bfloat16):
        weight = torch.randn(10, dtype=dtype, requires_grad=True)
        x = torch.randn(10, dtype=dtype, requires_grad=True)
        out = (weight * x).sum()
        with torch.no_grad():
            bits.mul_(weight, bits.pack(torch.arange(10) % 2 == 0))
        with pytest.raises(RuntimeError, match='modified by an inplace operation'):
            out.backward()


def test_mul_of_infinite_pruned_weights_is_silent_nan_as_in_torch() -> None:
    mask = torch.tensor([True, False, False, True])
    weight = torch.tensor([float('inf'), float('-inf'), 2.0, -3.0])
    expected = weight * mask.float()  # inf * 0 = NaN
    with np.errstate(all='raise'):  # numpy's warning would be an error here
        bits.mul_(weight, bits.pack(mask))
    assert same_bits(weight, expected)


@pytest.mark.parametrize('name', ['CPU_SLICE', 'DEVICE_SLICE'])
def test_slices_must_start_at_a_whole_byte(name) -> None:
    with mock.patch.object(bits, name, 12), pytest.raises(ValueError, match='multiples of 8'):
        bits.mul_(torch.randn(30), bits.pack(torch.ones(30, dtype=torch.bool)))
