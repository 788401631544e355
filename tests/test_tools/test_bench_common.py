"""tools/benchmarks/_common.py: the memory counters the benchmarks report."""
from __future__ import annotations

import math
import socket
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

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


# A stand-in benchmark child: takes ``turns`` turns on the socket it is given (as
# BenchLockstep does), writes a line to a shared log in each, and its results at the end.
FAKE_CHILD = """
import json, socket, sys, time
name, out, log = sys.argv[1:4]
turns, die_at, pause = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
sock = socket.socket(fileno=int(sys.argv[sys.argv.index('--lockstep-fd') + 1]))
for turn in range(turns):
    assert sock.recv(1) == b'g'
    if turn == die_at:
        print('boom in', name, flush=True)
        sys.exit(3)
    with open(log, 'a') as handle:
        handle.write(f'{name} {turn}\\n')
    time.sleep(pause)  # another child's line would land here if turns overlapped
    with open(log, 'a') as handle:
        handle.write(f'{name} {turn} done\\n')
    sock.sendall(b'd')
if die_at == turns:  # it ends before the last token, which says all are done
    print('gone early:', name, flush=True)
    sys.exit(7)
assert sock.recv(1) == b'g'
with open(log, 'a') as handle:
    handle.write(f'{name} end\\n')
json.dump(dict(iter_s=[1.0], iter_cpu_s=[1.0], ru_maxrss_mib=1.0, name=name), open(out, 'w'))
"""


def _fake_command(tmp_path, turns, die=None, slow=()):
    script = tmp_path / 'fake_child.py'
    script.write_text(FAKE_CHILD)

    def command(variant, rep):
        out = tmp_path / f'{variant}_{rep}.json'
        die_at = die[1] if die and die[0] == (variant, rep) else -1
        return ([sys.executable, str(script), variant, str(out), str(tmp_path / 'turns.log'),
                 str(turns), str(die_at), '0.3' if variant in slow else '0.01'], out,
                tmp_path / f'{variant}_{rep}.log')
    return command


def test_run_lockstep_gives_one_turn_at_a_time_in_balanced_order(tmp_path):
    variants, turns = ('a', 'b', 'c', 'd'), 3
    results = _common.run_lockstep(variants, 2, _fake_command(tmp_path, turns), turns, 1,
                                   tmp_path)
    lines = (tmp_path / 'turns.log').read_text().splitlines()
    expected = []
    for rep in range(2):
        for turn in range(turns):
            for v in _common.balanced_order(variants, rep + turn):
                expected += [f'{v} {turn}', f'{v} {turn} done']
        # every child ends only after the last turn of all of them
        expected += sorted(f'{v} end' for v in variants)
    got, start = [], 0
    for _ in range(2):
        block = lines[start:start + len(variants) * (2 * turns + 1)]
        got += block[:-len(variants)] + sorted(block[-len(variants):])
        start += len(block)
    assert got == expected
    assert {k: [r['name'] for r in v] for k, v in results.items()} == {
        v: [v, v] for v in variants}


def test_run_lockstep_names_a_child_that_dies(tmp_path, capsys):
    with pytest.raises(SystemExit, match=r'fake_child.py child b_0 failed at turn 2 of 3 '
                                         r'\(exit 3\)'):
        _common.run_lockstep(('a', 'b'), 1, _fake_command(tmp_path, 3, die=(('b', 0), 1)), 3,
                             1, tmp_path)
    assert 'boom in b' in capsys.readouterr().out


def test_run_lockstep_names_a_child_that_ends_before_the_last_token(tmp_path, capsys):
    """'a' takes the first of the last cycle's turns (balanced_order) and exits right after it,
    while 'b' (slow) takes its turn: the last token finds 'a' gone."""
    with pytest.raises(SystemExit, match=r'fake_child.py child a_0 failed \(exit 7\)'):
        _common.run_lockstep(('a', 'b'), 1,
                             _fake_command(tmp_path, 3, die=(('a', 0), 3), slow=('b', )), 3, 1,
                             tmp_path)
    assert 'gone early: a' in capsys.readouterr().out


def test_lockstep_hook_times_the_turn_and_not_the_wait():
    """BenchLockstep restarts BenchIterClock when it gets its turn: an iteration's time is its
    own work (50 ms here), not the 200 ms the other variants' turns take in between."""
    from mmengine.registry import HOOKS

    _common.register_iter_clock()
    ours, theirs = socket.socketpair()
    clock = HOOKS.build(dict(type='BenchIterClock'))
    lockstep = HOOKS.build(dict(type='BenchLockstep', fd=theirs.detach()))
    runner = SimpleNamespace(hooks=[clock, lockstep], model=torch.nn.Linear(1, 1))
    iterations = 3

    def parent():
        for _ in range(iterations):  # a turn per iteration
            ours.sendall(b'g')
            if ours.recv(1) != b'd':
                return
            time.sleep(0.2)  # the other variants' turns
        ours.sendall(b'g')  # the end

    thread = threading.Thread(target=parent)
    thread.start()
    clock.before_train(runner)
    lockstep.before_train(runner)
    for it in range(iterations):
        time.sleep(0.05)  # the iteration
        runner.iter = it
        clock.after_train_iter(runner, it)
        lockstep.after_train_iter(runner, it)
    thread.join(timeout=10)
    wall, cpu = _common.iteration_times(runner)
    assert len(wall) == iterations
    assert all(0.05 <= w < 0.15 for w in wall), wall
    assert all(c < 0.05 for c in cpu), cpu  # sleeping costs no CPU time
    ours.close()
    lockstep.sock.close()


def test_timing_columns_pair_the_iterations_of_one_cycle():
    def run(*times):
        return dict(iter_s=list(times), iter_cpu_s=list(times))

    # the machine is 3x as slow in the last cycle of the first repeat and in all of the third;
    # the variant costs 10 % in each
    results = {'dense': [run(1.0, 1.0, 3.0), run(1.0, 1.0, 1.0), run(3.0, 3.0, 3.0)],
               'lth_mm': [run(1.1, 1.1, 3.3), run(1.1, 1.1, 1.1), run(3.3, 3.3, 3.3)]}
    assert _common.paired_ratios(results, 'lth_mm') == [pytest.approx([1.1] * 3)] * 3
    columns = dict(zip(_common.TIMING_HEADERS, _common.timing_columns(results, 'lth_mm')))
    assert columns['paired vs dense (95 % CI)'] == '1.100 (1.100-1.100)'
    assert columns['per-run medians'] == '1.100 / 1.100 / 3.300'
    # pooled, the slow cycles land on one side of the median only: a different figure
    results['lth_mm'][2] = run(1.1, 1.1, 1.1)
    columns = dict(zip(_common.TIMING_HEADERS, _common.timing_columns(results, 'lth_mm')))
    assert columns['wall vs dense'] == '1.100'
    ratio, low, high = _common.paired_ratio(_common.paired_ratios(results, 'lth_mm'))
    assert ratio == pytest.approx((1.1 * 1.1 * 1.1 / 3) ** (1 / 3))
    assert low < ratio < high
    assert columns['paired vs dense (95 % CI)'] == f'{ratio:.3f} ({low:.3f}-{high:.3f})'
    one = {'dense': [run(1.0, 1.0)], 'lth_mm': [run(1.1, 1.2)]}
    assert _common.timing_columns(one, 'lth_mm')[3] == '1.150 (one repeat: no interval)'


def test_paired_ratios_refuse_runs_of_different_lengths():
    results = {'dense': [dict(iter_s=[1.0, 1.0])], 'lth_mm': [dict(iter_s=[1.0])]}
    with pytest.raises(ValueError, match='lth_mm timed 1 iterations and dense 2'):
        _common.paired_ratios(results, 'lth_mm')
    with pytest.raises(ValueError, match='no values'):
        _common.paired_ratio([[]])


@pytest.mark.parametrize('repeats', [3, 4, 6])
def test_paired_ratio_interval_covers_the_true_ratio_as_it_says(repeats):
    """Simulated runs as the machine gives them: each process of a variant a little faster or
    slower than another (sd 1.5 %), each cycle noisy (3 %), a true ratio of 1.02. The 95 %
    interval holds it in about 95 % of runs (a bootstrap over the repeats: 83-90 %)."""
    import random

    rng = random.Random(repeats)
    covered, runs = 0, 400
    for _ in range(runs):
        groups = []
        for _ in range(repeats):
            process = rng.gauss(0, 0.015) - rng.gauss(0, 0.015)
            groups.append([1.02 * math.exp(process + rng.gauss(0, 0.03)) for _ in range(20)])
        _, low, high = _common.paired_ratio(groups)
        covered += low <= 1.02 <= high
    assert 0.91 <= covered / runs <= 0.99


def test_no_variants_is_a_clear_error():
    with pytest.raises(ValueError, match='no variants'):
        _common.balanced_order([], 0)
