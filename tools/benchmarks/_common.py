"""Helpers shared by the benchmark scripts."""
from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def machine_line(threads: int) -> str:
    """Date, CPU model, cores, GPU, torch version, threads and load: the context of a timing."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as handle:
            cpu = next(line.split(':', 1)[1].strip() for line in handle
                       if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'
    return (f'{datetime.date.today().isoformat()}, {cpu}, {os.cpu_count()} cores, {cuda}, '
            f'torch {torch.__version__}, {threads} torch thread(s), load average '
            f'{" ".join(f"{x:.1f}" for x in os.getloadavg())}')


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with left-aligned columns."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    out = ['  '.join(str(h).ljust(w) for h, w in zip(headers, widths)),
           '  '.join('-' * w for w in widths)]
    out += ['  '.join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return '\n'.join(line.rstrip() for line in out)


# Subprocess runs on MMEngine ----------------------------------------------------------------
def register_iter_clock() -> None:
    """Register ``BenchIterClock``: time stamps (wall and process CPU) after every training
    iteration, after every other hook (``LOWEST``); read them with :func:`iteration_times`."""
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS

    @HOOKS.register_module(force=True)
    class BenchIterClock(Hook):
        priority = 'LOWEST'

        def before_train(self, runner) -> None:
            self.stamps = [time.perf_counter()]
            self.cpu_stamps = [time.process_time()]
            self.live: list[int | None] = []
            self.live_peak: list[int | None] = []
            # Where a step holds the most: at the end of the forward pass (every activation
            # kept for backward) and at the end of backward (every gradient), here when the
            # first parameter, which backward reaches last, gets its gradient.
            model = runner.model
            model.register_forward_hook(lambda *_: self.live_peak.append(live_bytes()))
            first = next((p for p in model.parameters() if p.requires_grad), None)
            if first is not None:
                first.register_post_accumulate_grad_hook(
                    lambda _: self.live_peak.append(live_bytes()))

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            self.stamps.append(time.perf_counter())
            self.cpu_stamps.append(time.process_time())
            self.live.append(live_bytes())  # after the timestamps: not inside the timing


def iteration_times(runner: Any) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of every training iteration a ``BenchIterClock`` timed."""
    clock = next(h for h in runner.hooks if type(h).__name__ == 'BenchIterClock')
    return ([b - a for a, b in zip(clock.stamps, clock.stamps[1:])],
            [b - a for a, b in zip(clock.cpu_stamps, clock.cpu_stamps[1:])])


def live_bytes() -> int | None:
    """Bytes allocated and not freed now, as the C allocator counts them (glibc's
    ``mallinfo2``: in-use heap chunks plus mmapped ones), or on a GPU
    ``torch.cuda.memory_allocated``; None where neither is available.

    Unlike the resident set, this leaves out memory the allocator keeps after a ``free`` and
    pages never touched, so it moves by exactly the bytes a program holds (the CPU counterpart
    of ``torch.cuda.memory_allocated``)."""
    import torch

    if torch.cuda.is_available():
        return int(torch.cuda.memory_allocated())
    mallinfo2 = _mallinfo2()
    if mallinfo2 is None:
        return None
    info = mallinfo2()
    return int(info.uordblks + info.hblkhd)


@functools.lru_cache(maxsize=None)
def _mallinfo2() -> Any:
    """glibc's ``mallinfo2`` (>= 2.33) through ctypes, or None where the C library lacks it."""
    import ctypes
    import ctypes.util

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            'arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks', 'fsmblks', 'uordblks',
            'fordblks', 'keepcost')]

    try:
        func = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6').mallinfo2
    except (OSError, AttributeError):
        return None
    func.restype = MallInfo2
    return func


def live_memory(runner: Any) -> dict[str, float | None]:
    """What a ``BenchIterClock`` saw of :func:`live_bytes`, in MiB: the most right after any
    training iteration (``live_after_step_mib``: weights, optimizer state and what hooks hold)
    and the most at the end of any forward or backward pass (``live_peak_mib``, with the
    activations: the CPU counterpart of ``torch.cuda.max_memory_allocated``, sampled)."""
    clock = next(h for h in runner.hooks if type(h).__name__ == 'BenchIterClock')
    out: dict[str, float | None] = {}
    for key, samples in (('live_after_step_mib', clock.live),
                         ('live_peak_mib', clock.live + clock.live_peak)):
        values = [v for v in samples if v is not None]
        out[key] = max(values) / 2**20 if values else None
    return out


def peak_memory() -> dict[str, float]:
    """This process's peak memory: resident set (``ru_maxrss``, ``VmHWM``) and, on a GPU,
    ``torch.cuda.max_memory_allocated``, in MiB."""
    import torch

    out = {'ru_maxrss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    try:
        with open('/proc/self/status') as handle:
            for line in handle:
                if line.startswith('VmHWM:'):
                    out['vmhwm_mib'] = int(line.split()[1]) / 1024
    except OSError:
        pass
    if torch.cuda.is_available():
        out['cuda_max_allocated_mib'] = torch.cuda.max_memory_allocated() / 2**20
    return out


def child_env(threads: int) -> dict[str, str]:
    """This process's environment for a child, with OpenMP / MKL pinned to ``threads`` torch
    threads (0: left as they are, torch's default)."""
    env = dict(os.environ)
    if threads > 0:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env


def run_child(cmd: Sequence[str], out: Path, log: Path, threads: int, cwd: Path) -> dict:
    """Run a benchmark's child process (``threads`` > 0 pins OpenMP / MKL) and return the JSON it
    wrote to ``out``; on failure print the end of its log and exit."""
    with open(log, 'w') as handle:
        proc = subprocess.run(list(cmd), stdout=handle, stderr=subprocess.STDOUT,
                              env=child_env(threads), cwd=cwd)
    if proc.returncode != 0 or not out.is_file():
        sys.stdout.write(log.read_text()[-4000:])
        raise SystemExit(f'{Path(cmd[1]).name} child failed (exit {proc.returncode}); log above')
    return json.loads(out.read_text())


def run_timed(cmd: Sequence[str], log: Path, env: dict[str, str], cwd: Path
              ) -> tuple[int, float, float]:
    """Run ``cmd`` with its output in ``log``; return its exit code, its wall seconds and its CPU
    seconds (user + system, of the child and the children it waited for, from ``os.wait4``: the
    ``RUSAGE_CHILDREN`` delta of this one child, right also while other children run)."""
    with open(log, 'w') as handle:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=handle, stderr=subprocess.STDOUT, env=env,
                                cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait
    return proc.returncode, wall, usage.ru_utime + usage.ru_stime


def balanced_order(variants: Sequence[str], rep: int) -> list[str]:
    """The order of repeat ``rep``: row ``rep`` of a Williams design (a Latin square balanced
    for the one before). Over a cycle of ``n`` repeats (``2n`` for an odd number ``n`` of
    variants) each variant runs equally often in each position and right after each other
    variant. A fixed order lets the bias of a position (the machine's speed drifting within a
    repeat) or of a predecessor (the process after a large one) fall on one variant only."""
    n = len(variants)
    if n == 0:
        raise ValueError('balanced_order: no variants to order')
    first = [0] + [(k + 1) // 2 if k % 2 else n - k // 2 for k in range(1, n)]  # 0, 1, n-1, 2, ...
    row = [(i + rep) % n for i in first]
    if n % 2 and (rep // n) % 2:
        row.reverse()
    return [variants[i] for i in row]


def run_interleaved(variants: Sequence[str], repeats: int,
                    spawn: Callable[[str, int], dict]) -> dict[str, list[dict]]:
    """``spawn(variant, rep)`` for every variant, ``repeats`` times, interleaved and in the
    :func:`balanced_order` of each repeat, so that load changes and the position in a repeat
    hit every variant alike; prints each run's medians."""
    results: dict[str, list[dict]] = {v: [] for v in variants}
    for rep in range(repeats):
        for variant in balanced_order(variants, rep):
            last = spawn(variant, rep)
            results[variant].append(last)
            print(f'  run {rep + 1}/{repeats} {variant}: median '
                  f'{statistics.median(last["iter_s"]):.3f} s/iter wall, '
                  f'{statistics.median(last["iter_cpu_s"]):.3f} CPU, peak '
                  f'{last["ru_maxrss_mib"]:.0f} MiB', flush=True)
    return results


#: The headers of :func:`timing_columns`.
TIMING_HEADERS = ('wall s/iter (min-max)', 'per-run medians', 'wall vs dense',
                  'paired vs dense (min-max)', 'CPU s/iter (min-max)', 'CPU vs dense')


def timing_columns(results: dict[str, list[dict]], variant: str,
                   baseline: str = 'dense') -> list[str]:
    """A variant's time per iteration (median and range of the iterations of all its runs, wall
    and CPU), its per-run medians and its ratios to ``baseline``: of the pooled medians, and
    paired (the median and range over repeats of the ratio of the two runs of one repeat,
    which ran within the same repeat, so the machine's drift between repeats cancels)."""
    def pooled(name: str, key: str) -> list[float]:
        return [t for run in results[name] for t in run[key]]

    out = []
    for key in ('iter_s', 'iter_cpu_s'):
        values, base = pooled(variant, key), statistics.median(pooled(baseline, key))
        out += [f'{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})',
                f'{statistics.median(values) / base:.3f}']
    per_run = ' / '.join(f'{statistics.median(r["iter_s"]):.3f}' for r in results[variant])
    paired = paired_ratios(results, variant, baseline)
    paired_cell = f'{statistics.median(paired):.3f} ({min(paired):.3f}-{max(paired):.3f})'
    return [out[0], per_run, out[1], paired_cell, out[2], out[3]]


def paired_ratios(results: dict[str, list[dict]], variant: str,
                  baseline: str = 'dense', key: str = 'iter_s') -> list[float]:
    """Per repeat, the median ``key`` of ``variant``'s run over that of ``baseline``'s run."""
    return [statistics.median(run[key]) / statistics.median(base[key])
            for run, base in zip(results[variant], results[baseline], strict=True)]


def variant_arguments(parser: argparse.ArgumentParser, variants: Sequence[str], iters: int,
                      batch: int, sparsity: float) -> None:
    """The options of a benchmark that times training ``variants`` in subprocesses, and the
    hidden ones the parent passes to each child."""
    parser.add_argument('--iters', type=int, default=iters, help='timed iterations per run')
    parser.add_argument('--warmup', type=int, default=3, help='untimed iterations first')
    if not variants:
        raise ValueError('variant_arguments: a benchmark needs at least one variant')
    cycle = len(variants) * (1 if len(variants) % 2 == 0 else 2)
    parser.add_argument('--repeats', type=int, default=cycle * -(-3 // cycle),
                        help='subprocess runs per variant, interleaved in balanced order (a '
                        f'multiple of {cycle} puts every variant in every position equally often)')
    parser.add_argument('--batch', type=int, default=batch)
    parser.add_argument('--sparsity', type=float, default=sparsity, help='ticket sparsity')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads (1: steadiest on a shared machine; 0: torch default)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--child', choices=variants, help=argparse.SUPPRESS)
    parser.add_argument('--out', help=argparse.SUPPRESS)
    parser.add_argument('--ticket', help=argparse.SUPPRESS)
    parser.add_argument('--work-dir', help=argparse.SUPPRESS)
