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


@pytest.mark.parametrize('n', [1, 2, 3, 4, 5, 6])
def test_balanced_order_puts_each_variant_in_each_position_and_after_each_other(n):
    variants = [f'v{i}' for i in range(n)]
    cycle = n if n % 2 == 0 else 2 * n
    orders = [_common.balanced_order(variants, rep) for rep in range(2 * cycle)]
    assert orders[cycle:] == orders[:cycle]
    orders = orders[:cycle]
    for order in orders:
        assert sorted(order) == variants
    for position in range(n):
        column = [o[position] for o in orders]
        assert all(column.count(v) == cycle // n for v in variants)
    pairs = [(o[i], o[i + 1]) for o in orders for i in range(n - 1)]
    assert len(pairs) == cycle * (n - 1)
    expected = cycle * (n - 1) // (n * (n - 1)) if n > 1 else 0
    assert all(pairs.count((a, b)) == expected for a in variants for b in variants if a != b)


def test_run_interleaved_runs_in_balanced_order():
    calls = []
    results = _common.run_interleaved(
        ('a', 'b', 'c', 'd'), 2,
        lambda v, rep: calls.append(v) or dict(iter_s=[1.0], iter_cpu_s=[1.0],
                                               ru_maxrss_mib=1.0))
    assert calls == ['a', 'b', 'd', 'c', 'b', 'c', 'a', 'd']
    assert {k: len(v) for k, v in results.items()} == {'a': 2, 'b': 2, 'c': 2, 'd': 2}


def test_timing_columns_pairs_the_runs_of_one_repeat():
    def run(*times):
        return dict(iter_s=list(times), iter_cpu_s=list(times))

    # the machine is 3x as slow in the last of three repeats; the variant costs 10 % in each
    results = {'dense': [run(1.0), run(1.0), run(3.0)],
               'lth_mm': [run(1.1), run(1.1), run(3.3)]}
    assert _common.paired_ratios(results, 'lth_mm') == pytest.approx([1.1, 1.1, 1.1])
    columns = dict(zip(_common.TIMING_HEADERS, _common.timing_columns(results, 'lth_mm')))
    assert columns['paired vs dense (min-max)'] == '1.100 (1.100-1.100)'
    assert columns['per-run medians'] == '1.100 / 1.100 / 3.300'
    # pooled, the slow repeat lands on one side of the median only: a different figure
    results['lth_mm'][2] = run(1.1)
    columns = dict(zip(_common.TIMING_HEADERS, _common.timing_columns(results, 'lth_mm')))
    assert columns['wall vs dense'] == '1.100'
    assert columns['paired vs dense (min-max)'] == '1.100 (0.367-1.100)'


def test_no_variants_is_a_clear_error():
    with pytest.raises(ValueError, match='no variants'):
        _common.balanced_order([], 0)
