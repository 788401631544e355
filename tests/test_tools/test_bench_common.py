"""tools/benchmarks/_common.py: the memory counters the benchmarks report."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'tools' / 'benchmarks'))
import _common  # noqa: E402


@pytest.mark.skipif(torch.cuda.is_available() or _common.live_bytes() is None,
                    reason='CPU counter of glibc (mallinfo2)')
def test_live_bytes_moves_by_what_is_allocated_and_freed():
    before = _common.live_bytes()
    block = torch.ones(48 << 20, dtype=torch.uint8)  # 48 MiB, touched
    held = _common.live_bytes()
    del block
    after = _common.live_bytes()
    assert abs(held - before - (48 << 20)) < (1 << 20)
    assert abs(after - before) < (1 << 20)
