"""Helpers shared by the benchmark scripts."""
from __future__ import annotations

import argparse
import datetime
import functools
import json
import math
import os
import platform
import resource
import socket
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
    """Register ``BenchIterClock``: the wall and process CPU seconds of every training iteration,
    stamped after every other hook (``LOWEST``; read them with :func:`iteration_times`), and
    ``BenchLockstep``, which runs a child's iterations in turns (:func:`run_lockstep`)."""
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS

    @HOOKS.register_module(force=True)
    class BenchIterClock(Hook):
        priority = 'LOWEST'

        def before_train(self, runner) -> None:
            self.wall: list[float] = []  # seconds of each iteration
            self.cpu: list[float] = []
            self.restart()
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
            cuda_sync()  # the kernels the hooks queued belong to this iteration (and turn)
            wall, cpu = time.perf_counter(), time.process_time()
            self.wall.append(wall - self.start)
            self.cpu.append(cpu - self.cpu_start)
            self.start, self.cpu_start = wall, cpu  # the next iteration starts here...
            self.live.append(live_bytes())  # (after the timestamps: not inside the timing)

        def restart(self) -> None:
            """... or here, where ``BenchLockstep`` calls this when it has the turn."""
            self.start, self.cpu_start = time.perf_counter(), time.process_time()

    @HOOKS.register_module(force=True)
    class BenchLockstep(Hook):
        """Runs this process's training iterations in turns with the other variants' processes
        (:func:`run_lockstep`): before each iteration it waits for its turn on the socket ``fd``
        the parent passed, and hands the turn back right after ``BenchIterClock``'s stamp (both
        ``LOWEST``; this one must come after it in ``custom_hooks``). The clock's interval then
        starts when the turn is taken, so an iteration's time holds its data loading, forward,
        backward, step and hooks, and none of the wait."""

        priority = 'LOWEST'

        def __init__(self, fd: int) -> None:
            self.fd = fd

        def before_train(self, runner) -> None:
            self.sock = socket.socket(fileno=self.fd)
            self.clock = next(h for h in runner.hooks if type(h).__name__ == 'BenchIterClock')
            self.take()

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            self.sock.sendall(b'd')
            # after the last iteration too: the parent's last token says every variant is
            # done, so no process ends (frees memory, writes results) while another is timed
            self.take()

        def take(self) -> None:
            if self.sock.recv(1) != b'g':
                raise RuntimeError('BenchLockstep: the benchmark that started this process '
                                   'stopped handing out turns')
            self.clock.restart()


def cuda_sync() -> None:
    """Wait for the GPU's queued kernels (nothing without CUDA), so a time stamp counts them."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def clock_hooks(args: argparse.Namespace) -> list[dict]:
    """``custom_hooks`` entries of a benchmark child: the clock and, when its parent runs the
    variants in lockstep (:func:`run_lockstep`), the turn taker after it."""
    hooks = [dict(type='BenchIterClock')]
    if args.lockstep_fd is not None:
        hooks.append(dict(type='BenchLockstep', fd=args.lockstep_fd))
    return hooks


def iteration_times(runner: Any) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of every training iteration a ``BenchIterClock`` timed."""
    clock = next(h for h in runner.hooks if type(h).__name__ == 'BenchIterClock')
    return list(clock.wall), list(clock.cpu)


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


#: Seconds a child may take for its start-up and one turn before it counts as hung.
TURN_TIMEOUT = 1800


def run_lockstep(variants: Sequence[str], repeats: int,
                 command: Callable[[str, int], tuple[list[str], Path, Path]], turns: int,
                 threads: int, cwd: Path) -> dict[str, list[dict]]:
    """Run one subprocess per variant at once, ``repeats`` times, their training iterations
    in lockstep, and return the JSON each wrote.

    ``command(variant, rep)`` gives a child's command line, the JSON file it writes and its log;
    the child gets ``--lockstep-fd N`` appended, its end of a socket pair, and runs
    :func:`clock_hooks`'s ``BenchLockstep``. Start-up overlaps; then this process hands out one
    iteration at a time: ``turns`` cycles, each giving every variant one turn, in the
    :func:`balanced_order` of the cycle, and one last token that lets them all end together.
    The first cycle overlaps the other children's start-up (keep it a warm-up iteration);
    after it only one child computes at a time, and the iterations
    compared in one cycle ran within seconds of each other, so a change in the machine's speed
    (up to 4x on a shared machine, within minutes) hits every variant alike; each variant holds
    each position in a cycle equally often. Memory stays per process. Prints each run's medians.
    """
    results: dict[str, list[dict]] = {v: [] for v in variants}
    for rep in range(repeats):
        runs: dict[str, tuple[subprocess.Popen, socket.socket, Path, Path]] = {}
        try:
            for variant in variants:
                cmd, out, log = command(variant, rep)
                ours, theirs = socket.socketpair()
                with open(log, 'w') as handle:
                    proc = subprocess.Popen(
                        [*cmd, '--lockstep-fd', str(theirs.fileno())],
                        pass_fds=(theirs.fileno(), ), stdout=handle, stderr=subprocess.STDOUT,
                        env=child_env(threads), cwd=cwd)
                theirs.close()  # only the child holds it now: its exit reads as EOF here
                ours.settimeout(TURN_TIMEOUT)
                runs[variant] = (proc, ours, out, log)
                script = Path(cmd[1]).name
            for turn in range(turns):
                for variant in balanced_order(variants, rep + turn):
                    proc, sock, out, log = runs[variant]
                    try:
                        sock.sendall(b'g')
                        done = sock.recv(1) == b'd'
                    except TimeoutError:
                        proc.kill()
                        _child_failed(script, _ended(proc), log, f': no answer in {TURN_TIMEOUT} '
                                      f's at turn {turn + 1} of {turns} (killed)')
                    except OSError:
                        done = False
                    if not done:
                        _child_failed(script, _ended(proc), log,
                                      f' at turn {turn + 1} of {turns}')
            for _, sock, _, _ in runs.values():
                try:  # the end: each child leaves its last after_train_iter
                    sock.sendall(b'g')
                except OSError:
                    pass  # it ended already: its exit code and log are reported below
            for variant in balanced_order(variants, rep):
                proc, sock, out, log = runs[variant]
                code = proc.wait()
                if code != 0 or not out.is_file():
                    _child_failed(script, code, log)
                last = json.loads(out.read_text())
                results[variant].append(last)
                print(f'  run {rep + 1}/{repeats} {variant}: median '
                      f'{statistics.median(last["iter_s"]):.3f} s/iter wall, '
                      f'{statistics.median(last["iter_cpu_s"]):.3f} CPU, peak '
                      f'{last["ru_maxrss_mib"]:.0f} MiB', flush=True)
        finally:
            for proc, sock, _, _ in runs.values():
                sock.close()
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    return results


def _ended(proc: subprocess.Popen) -> int:
    """The exit code of a child that stopped taking turns (killed after 30 s if it lives)."""
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def _child_failed(script: str, code: int, log: Path, where: str = '') -> None:
    sys.stdout.write(log.read_text()[-4000:])
    raise SystemExit(f'{script} child {log.stem} failed{where} (exit {code}); log above')


#: The headers of :func:`timing_columns`.
TIMING_HEADERS = ('wall s/iter (min-max)', 'per-run medians', 'wall vs dense',
                  'paired vs dense (95 % CI)', 'CPU s/iter (min-max)', 'CPU vs dense')


def timing_columns(results: dict[str, list[dict]], variant: str,
                   baseline: str = 'dense') -> list[str]:
    """A variant's time per iteration (median and range of the iterations of all its runs, wall
    and CPU), its per-run medians and its ratios to ``baseline``: of the pooled medians, and
    paired (:func:`paired_ratio`: over the repeats, the median ratio of the two iterations of
    one lockstep cycle, with a 95 % confidence interval)."""
    def pooled(name: str, key: str) -> list[float]:
        return [t for run in results[name] for t in run[key]]

    out = []
    for key in ('iter_s', 'iter_cpu_s'):
        values, base = pooled(variant, key), statistics.median(pooled(baseline, key))
        out += [f'{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})',
                f'{statistics.median(values) / base:.3f}']
    per_run = ' / '.join(f'{statistics.median(r["iter_s"]):.3f}' for r in results[variant])
    ratio, low, high = paired_ratio(paired_ratios(results, variant, baseline))
    interval = f'{low:.3f}-{high:.3f}' if low is not None else 'one repeat: no interval'
    return [out[0], per_run, out[1], f'{ratio:.3f} ({interval})', out[2], out[3]]


def paired_ratios(results: dict[str, list[dict]], variant: str,
                  baseline: str = 'dense', key: str = 'iter_s') -> list[list[float]]:
    """Per repeat, the ratio of ``variant``'s iteration to ``baseline``'s in the same lockstep
    cycle (:func:`run_lockstep`), for every cycle: two iterations that ran within seconds of each
    other, so a change in the machine's speed cancels."""
    ratios = []
    for run, base in zip(results[variant], results[baseline], strict=True):
        if len(run[key]) != len(base[key]):
            raise ValueError(f'paired_ratios: {variant} timed {len(run[key])} iterations and '
                             f'{baseline} {len(base[key])} in one repeat; lockstep runs time '
                             'the same number')
        ratios.append([a / b for a, b in zip(run[key], base[key])])
    return ratios


def paired_ratio(groups: Sequence[Sequence[float]], level: float = 0.95
                 ) -> tuple[float, float | None, float | None]:
    """The ratio of a variant to its baseline over repeats, and its confidence interval.

    Each repeat (one process per variant) gives the median of its cycles' ratios; the figure is
    the geometric mean of those, and the interval Student's t over their logarithms (``None``
    bounds with one repeat). The repeats are the independent draws: two processes of one variant
    differ by a few per cent (where the allocator placed things), and the cycles of one repeat
    share that. In simulated runs of 3-6 repeats (process spread 2 %, cycle noise 3 %: the test's
    model) this interval held the true ratio in 94-96 % of runs; a bootstrap over the repeats and
    their cycles, tried first, in 84-86 % at its nominal 95 %.
    """
    from scipy.stats import t

    logs = [math.log(statistics.median(group)) for group in groups if len(group)]
    if not logs:
        raise ValueError('paired_ratio: no values')
    center = statistics.fmean(logs)
    if len(logs) < 2:
        return math.exp(center), None, None
    half = t.ppf(0.5 + level / 2, len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    return math.exp(center), math.exp(center - half), math.exp(center + half)


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, got {value}')
    return value


def variant_arguments(parser: argparse.ArgumentParser, variants: Sequence[str], iters: int,
                      batch: int, sparsity: float) -> None:
    """The options of a benchmark that times training ``variants`` in subprocesses, and the
    hidden ones the parent passes to each child."""
    parser.add_argument('--iters', type=_at_least_one, default=iters,
                        help='timed iterations per run')
    parser.add_argument('--warmup', type=_at_least_one, default=3,
                        help='untimed iterations first (at least 1: the first overlaps the '
                        "other children's start-up)")
    if not variants:
        raise ValueError('variant_arguments: a benchmark needs at least one variant')
    parser.add_argument('--repeats', type=_at_least_one, default=3,
                        help='runs of one subprocess per variant, their iterations in lockstep '
                        '(one at a time, in balanced order); more repeats average out what '
                        'differs between processes of one variant (memory layout)')
    parser.add_argument('--batch', type=int, default=batch)
    parser.add_argument('--sparsity', type=float, default=sparsity, help='ticket sparsity')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads (1: steadiest on a shared machine; 0: torch default)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--child', choices=variants, help=argparse.SUPPRESS)
    parser.add_argument('--out', help=argparse.SUPPRESS)
    parser.add_argument('--ticket', help=argparse.SUPPRESS)
    parser.add_argument('--work-dir', help=argparse.SUPPRESS)
    parser.add_argument('--lockstep-fd', type=int, help=argparse.SUPPRESS)
