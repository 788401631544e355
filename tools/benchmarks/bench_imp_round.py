"""Benchmark of one IMP round on MMEngine (issue "IMP on MMEngine").

The same MMEngine ``Runner`` config (``Runner.from_cfg``: MMPretrain ``ImageClassifier``, ResNet-50
backbone, 10 classes, the ``Digits`` dataset at 32x32 x 3 channels through the real data pipeline,
batch ``--batch``: 128 by default, the paper's CIFAR batch; SGD 0.1 / momentum 0.9 / weight decay
5e-4, ``IterBasedTrainLoop``) trains ``--iters``
iterations (after ``--warmup`` untimed ones) in four variants:

(i)   ``dense``: no lth_mm hook (the baseline);
(i')  ``dense_1byte``: dense, plus a hook that holds one ``bool`` per prunable weight and does
      nothing with it: what holding masks of one byte per weight costs by itself (the floor of
      any one-byte design, lth_mm's before its masks became bits), in the same run;
(ii)  ``lth_mm``: ``TicketHook`` with an 80 %-sparse global magnitude ticket of the initial
      weights (saved beforehand by this script): the ``TicketEnforcingHook`` code path that
      ``IMPHook`` uses too, masks of one bit per weight, after every optimizer step one in-place
      multiplication per tensor by its mask unpacked a slice at a time (``lth_mm.core.bits``);
(iii) ``torch_prune``: a small hook runs ``prune.global_unstructured(..., L1Unstructured,
      amount=0.8)`` over the same convs at ``before_train`` (the original code's
      reparametrization: ``weight_orig`` * ``weight_mask`` recomputed by a forward pre-hook).

Every variant runs in its own subprocess (same seed, same data, same iterations); the four run
side by side, their training iterations in lockstep (``_common.run_lockstep``): after the
start-up, the parent hands out one iteration at a time, each cycle giving every variant one turn
in the order of one row of a balanced Latin square (``_common.balanced_order``), so only one
process computes at a time, the iterations of one cycle ran within seconds of each other, and
each variant holds each position equally often (over any number of cycles that is a multiple of
4). ``--repeats`` such runs follow one another, to average out what differs between two
processes of one variant (memory layout). The four processes are resident together: the peak
memory of a run is the sum of theirs (about 6.5 GB at batch 128 with the default stem, 18-19 GB
with ``--backbone ResNet_CIFAR``). Reported:

- time per iteration: the median of the iterations after warm-up, pooled over repeats, and its ratio
  to dense; paired: per repeat the median, over its cycles, of the ratio of the variant's
  iteration to dense's in the same cycle (a change in the machine's speed, up to 4x on a shared
  machine, cancels in it), and over the repeats their geometric mean with a 95 % t interval
  (``_common.paired_ratio``; the repeats are the independent draws). An iteration is the
  time from taking the turn to the after-step stamp of a lowest-priority hook, so data loading,
  forward, backward, the optimizer step and every hook are inside. As wall-clock time and as the
  subprocess's CPU time (``time.process_time``);
- peak memory: on the CPU the peak resident set size of the subprocess
  (``getrusage(RUSAGE_SELF).ru_maxrss``, equal to ``VmHWM`` in ``/proc/self/status``; it
  includes the Python, PyTorch and OpenMMLab baseline of every process), the median and each
  run's; on a GPU ``torch.cuda.max_memory_allocated()``;
- live bytes (``_common.live_bytes``: allocated and not freed; on the CPU glibc's ``mallinfo2``,
  in-use heap plus mmapped chunks, on a GPU ``torch.cuda.memory_allocated()``): the most right
  after a step, and the most at the end of a forward or a backward pass (sampled there: the CPU
  counterpart of the GPU's peak). The resident peak also moves with where the allocator happens
  to place things, by several MiB from run to run, and by more than the bytes a hook holds (see
  ``dense_1byte``); the live bytes do not, so their difference to dense is what a hook holds, to
  the byte.

(iv) The cost of a round boundary for the same ResNet-50, in this process: global magnitude
pruning of rate 0.2 (``Ticket.prune``), rewinding (``restore_state`` from a captured state) and
saving (``Ticket.save`` and ``save_state``), each timed, plus binding and applying the new mask.

Checkpoints, validation and logging are off during the timed part (no ``val_dataloader``,
``CheckpointHook(interval=10**9, save_last=False)``, ``LoggerHook(interval=10**9)``).

Run: ``.venv/bin/python tools/benchmarks/bench_imp_round.py [--iters N] [--repeats R]``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    TIMING_HEADERS,
    clock_hooks,
    cuda_sync,
    iteration_times,
    live_memory,
    machine_line,
    peak_memory,
    register_iter_clock,
    run_lockstep,
    table,
    timing_columns,
    variant_arguments,
)

BASE_CONFIG = ROOT / 'configs' / '_base_' / 'digits_resnet18_w32.py'
VARIANTS = ('dense', 'dense_1byte', 'lth_mm', 'torch_prune')
BACKBONES = {
    # torchvision-like ResNet-50 (7x7 stride-2 stem and max-pool): 32x32 -> 1x1 at the end
    'ResNet': dict(type='ResNet', depth=50, in_channels=3, num_stages=4, out_indices=(3, ),
                   style='pytorch'),
    # CIFAR stem (3x3 stride 1, no max-pool) as the paper's CIFAR runs: about 6x the compute
    'ResNet_CIFAR': dict(type='ResNet_CIFAR', depth=50, in_channels=3, num_stages=4,
                         out_indices=(3, ), style='pytorch'),
}


# Config ----------------------------------------------------------------------------------------
def build_cfg(args: argparse.Namespace, work_dir: str, max_iters: int, hooks: list,
              log_level: str = 'WARNING') -> Any:
    from mmengine.config import Config

    cfg = Config.fromfile(str(BASE_CONFIG))
    cfg.model.backbone = dict(BACKBONES[args.backbone])
    cfg.model.head.in_channels = 2048
    cfg.data_preprocessor = dict(num_classes=10, mean=[127.5] * 3, std=[127.5] * 3,
                                 to_rgb=False)
    cfg.train_dataloader = dict(
        batch_size=args.batch, num_workers=0, persistent_workers=False,
        dataset=dict(type='Digits', img_size=32, channels=3, seed=0, split='train',
                     pipeline=[dict(type='PackInputs')]),
        sampler=dict(type='InfiniteSampler', shuffle=True, seed=args.seed))
    for key in ('val_dataloader', 'val_evaluator', 'val_cfg', 'test_dataloader',
                'test_evaluator', 'test_cfg'):
        cfg[key] = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10**9)
    cfg.optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9,
                                            weight_decay=5e-4))
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10**9, by_epoch=False,
                                        save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10**9)
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    cfg.env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'),
                       mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
    cfg.custom_hooks = hooks
    cfg.log_level = log_level
    cfg.work_dir = work_dir
    cfg.experiment_name = f'bench_{os.getpid()}_{time.time_ns()}'
    return cfg


def register_hooks() -> None:
    """Register the benchmark's own hooks (in the parent and in every subprocess)."""
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS

    register_iter_clock()

    @HOOKS.register_module(force=True)
    class BenchTorchPrune(Hook):
        """The original code's pruning: torch.nn.utils.prune reparametrization at before_train."""

        priority = 'ABOVE_NORMAL'

        def __init__(self, amount: float, ticket: str | None = None) -> None:
            self.amount = amount
            self.ticket = ticket
            self.masks_equal = None

        def before_train(self, runner) -> None:
            from torch.nn.utils import prune

            from lth_mm.core import PruneScope, Ticket
            from lth_mm.engine.runner_utils import unwrap_model

            model = unwrap_model(runner)
            names = list(PruneScope().select(model))
            modules = dict(model.named_modules())
            params = [(modules[n[:-len('.weight')]], 'weight') for n in names]
            prune.global_unstructured(params, pruning_method=prune.L1Unstructured,
                                      amount=self.amount)
            if self.ticket:
                ticket = Ticket.load(self.ticket)
                self.masks_equal = all(ticket[n].equal(m.weight_mask.bool())
                                       for n, (m, _) in zip(names, params))

    @HOOKS.register_module(force=True)
    class BenchUpkeepStart(Hook):
        """Stamps the time before the ``ABOVE_NORMAL`` hooks of ``after_train_iter``."""

        priority = 'HIGH'

        def before_train(self, runner) -> None:
            self.start = 0.0

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            cuda_sync()
            self.start = time.perf_counter()

    @HOOKS.register_module(force=True)
    class BenchUpkeepEnd(Hook):
        """Registered after the variant's hook at the same priority: the time since
        ``BenchUpkeepStart`` is what that hook did after each step (lth_mm: the mask)."""

        priority = 'ABOVE_NORMAL'

        def before_train(self, runner) -> None:
            self.upkeep: list[float] = []
            self.start = next(h for h in runner.hooks if type(h).__name__ == 'BenchUpkeepStart')

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            cuda_sync()
            self.upkeep.append(time.perf_counter() - self.start.start)

    @HOOKS.register_module(force=True)
    class BenchHoldBytes(Hook):
        """Dense training plus one byte per prunable weight held and never used: the floor of
        any hook that keeps its masks in one byte per weight."""

        priority = 'ABOVE_NORMAL'

        def before_run(self, runner) -> None:
            import torch

            from lth_mm.core import PruneScope
            from lth_mm.engine.runner_utils import unwrap_model

            numel = sum(p.numel() for p in PruneScope().select(unwrap_model(runner)).values())
            self.held = torch.ones(numel, dtype=torch.bool)

    @HOOKS.register_module(force=True)
    class BenchMakeTicket(Hook):
        """Saves the magnitude ticket of the initial weights (parent process, no training)."""

        priority = 'LOWEST'

        def __init__(self, path: str, sparsity: float) -> None:
            self.path = path
            self.sparsity = sparsity

        def before_train(self, runner) -> None:
            from lth_mm.core import Ticket
            from lth_mm.engine.runner_utils import unwrap_model

            model = unwrap_model(runner)
            Ticket.dense(model).prune_to(model, self.sparsity).save(self.path)


# Subprocess: one variant -----------------------------------------------------------------------
def run_variant(args: argparse.Namespace) -> None:
    import torch
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    from mmengine.runner import Runner

    import lth_mm  # noqa: F401  (registers lth_mm's hooks and datasets)
    from lth_mm.core import Ticket
    from lth_mm.engine.runner_utils import unwrap_model

    register_hooks()
    hooks = clock_hooks(args)
    if args.child == 'dense_1byte':
        hooks.append(dict(type='BenchHoldBytes'))
    elif args.child == 'lth_mm':
        hooks.append(dict(type='TicketHook', ticket=args.ticket))
    elif args.child == 'torch_prune':
        hooks.append(dict(type='BenchTorchPrune', amount=args.sparsity, ticket=args.ticket))
    hooks += [dict(type='BenchUpkeepStart'), dict(type='BenchUpkeepEnd')]
    cfg = build_cfg(args, args.work_dir, args.warmup + args.iters, hooks)
    runner = Runner.from_cfg(cfg)
    runner.train()
    durations, cpu = iteration_times(runner)
    upkeep = next(h for h in runner.hooks if type(h).__name__ == 'BenchUpkeepEnd').upkeep
    result: dict[str, Any] = dict(variant=args.child, iter_s=durations[args.warmup:],
                                  iter_cpu_s=cpu[args.warmup:], warmup_s=durations[:args.warmup],
                                  upkeep_s=upkeep[args.warmup:],
                                  **peak_memory(), **live_memory(runner),
                                  threads=torch.get_num_threads())
    model = unwrap_model(runner)
    if args.child == 'lth_mm':
        hook = next(h for h in runner.hooks if type(h).__name__ == 'TicketHook')
        held = hook.ticket.nbytes + sum(
            a.nbytes for a in (hook._applier, hook._copies) if a is not None)
        result['held_masks'] = dict(
            bytes=held, weights=hook.ticket.numel,
            parts={'Ticket (bits)': hook.ticket.nbytes,
                   'MaskApplier (beyond the ticket)': hook._applier.nbytes})
        ticket = Ticket.load(args.ticket)
        params = dict(model.named_parameters())
        result['pruned_weights_zero'] = all(
            int(torch.count_nonzero(params[n].detach()[~m])) == 0 for n, m in ticket.items())
    elif args.child == 'torch_prune':
        hook = next(h for h in runner.hooks if type(h).__name__ == 'BenchTorchPrune')
        result['masks_equal_to_ticket'] = hook.masks_equal
    Path(args.out).write_text(json.dumps(result))


# Parent ----------------------------------------------------------------------------------------
def make_ticket(args: argparse.Namespace, tmp: Path) -> tuple[Path, Any]:
    """Build the Runner once in this process (no iterations) to save the 80 % ticket of the
    initial weights; return the ticket path and the initialised model (for (iv))."""
    from mmengine.runner import Runner

    register_hooks()
    path = tmp / 'ticket_80.safetensors'
    hooks = [dict(type='BenchMakeTicket', path=str(path), sparsity=args.sparsity)]
    runner = Runner.from_cfg(build_cfg(args, str(tmp / 'work_ticket'), 0, hooks,
                                       log_level='ERROR'))
    runner.train()
    from lth_mm.engine.runner_utils import unwrap_model
    return path, unwrap_model(runner)


def command(args: argparse.Namespace, variant: str, ticket: Path, tmp: Path,
            rep: int) -> tuple[list[str], Path, Path]:
    """A child's command line, the JSON it writes and its log (for ``run_lockstep``)."""
    out = tmp / f'{variant}_{rep}.json'
    cmd = [sys.executable, str(Path(__file__).resolve()), '--child', variant, '--out', str(out),
           '--ticket', str(ticket), '--work-dir', str(tmp / f'work_{variant}_{rep}'),
           '--iters', str(args.iters), '--warmup', str(args.warmup), '--batch', str(args.batch),
           '--backbone', args.backbone, '--sparsity', str(args.sparsity),
           '--threads', str(args.threads), '--seed', str(args.seed)]
    return cmd, out, tmp / f'{variant}_{rep}.log'


def bench_boundary(args: argparse.Namespace, model: Any, tmp: Path) -> str:
    import torch

    from lth_mm.core import Ticket
    from lth_mm.core.rewind import capture_state, restore_state, save_state

    rewind_point = capture_state(model)
    gen = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():  # stand-in for a round of training
        for param in model.parameters():
            param.add_(torch.randn(param.shape, generator=gen) * 0.05 * float(param.std()))
    trained = capture_state(model)
    dense = Ticket.dense(model)
    rows: dict[str, list[float]] = {k: [] for k in (
        'prune (Ticket.prune, global magnitude 0.2)', 'rewind (restore_state)',
        'save ticket (Ticket.save)', 'save rewind state (save_state)')}
    bind = []
    for rep in range(args.boundary_repeats):
        restore_state(model, trained)
        keys = list(rows)
        start = time.perf_counter()
        ticket = dense.prune(model, 0.2)
        t1 = time.perf_counter()
        restore_state(model, rewind_point)
        t2 = time.perf_counter()
        ticket.save(tmp / f'round_{rep:02d}.safetensors')
        t3 = time.perf_counter()
        save_state(tmp / f'rewind_{rep:02d}.safetensors', rewind_point)
        t4 = time.perf_counter()
        ticket.bind(model)()
        t5 = time.perf_counter()
        for key, value in zip(keys, (t1 - start, t2 - t1, t3 - t2, t4 - t3)):
            rows[key].append(value)
        bind.append(t5 - t4)
    totals = [sum(values[i] for values in rows.values()) for i in range(args.boundary_repeats)]

    def cell(values: list[float]) -> str:
        return f'{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})'

    lines = [[k, cell(v)] for k, v in rows.items()]
    lines.append(['total (prune + rewind + save)', cell(totals)])
    lines.append(['not in total: bind + apply the new mask', cell(bind)])
    numel = dense.numel
    header = (f'(iv) IMP round boundary, MMPretrain ResNet-50 ({args.backbone}), {len(dense)} conv '
              f'weights ({numel:,} weights), dense -> 20 % sparse, {args.boundary_repeats} '
              'repeats (median, min-max); IMPHook writes the rewind state once per search')
    return f'{header}\n' + table(['step', 'seconds (min-max)'], lines)


def live_cell(results: dict[str, list[dict]], variant: str, key: str,
              ratio: bool = False) -> str:
    """Median of ``key`` (MiB of :func:`live_bytes`), its difference to dense (and ratio)."""
    def median(name: str) -> float | None:
        values = [r[key] for r in results[name] if r.get(key) is not None]
        return statistics.median(values) if values else None

    value, dense = median(variant), median('dense')
    if value is None or dense is None:
        return '-'
    return f'{value:.1f} ({value - dense:+.1f}' + (f', {value / dense:.3f})' if ratio else ')')


def main(argv: Sequence[str] | None = None) -> None:
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    variant_arguments(parser, VARIANTS, iters=20, batch=128, sparsity=0.8)
    parser.set_defaults(repeats=4)
    parser.add_argument('--backbone', choices=sorted(BACKBONES), default='ResNet',
                        help='ResNet: torchvision-like stem; ResNet_CIFAR: CIFAR stem, ~6x slower')
    parser.add_argument('--boundary-repeats', type=int, default=5, help='(iv) repeats')
    args = parser.parse_args(argv)
    if args.child:
        run_variant(args)
        return

    import torch
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    import lth_mm  # noqa: F401
    start = time.perf_counter()
    print(f'bench_imp_round: {machine_line(torch.get_num_threads())}', flush=True)
    with tempfile.TemporaryDirectory(prefix='bench_imp_') as tmp:
        tmp = Path(tmp)
        ticket, model = make_ticket(args, tmp)
        results = run_lockstep(
            VARIANTS, args.repeats,
            lambda variant, rep: command(args, variant, ticket, tmp, rep),
            args.warmup + args.iters, args.threads, ROOT)
        boundary = bench_boundary(args, model, tmp)

    memory_key = 'cuda_max_allocated_mib' if torch.cuda.is_available() else 'ru_maxrss_mib'
    memory = {v: statistics.median(r[memory_key] for r in results[v]) for v in VARIANTS}
    dense_mem = memory['dense']
    dense_iter = statistics.median(t for r in results['dense'] for t in r['iter_s'])
    rows = []
    for variant in VARIANTS:
        if variant == 'lth_mm':
            check = 'pruned = 0: ' + ('yes' if all(
                r['pruned_weights_zero'] for r in results[variant]) else 'NO')
        elif variant == 'torch_prune':
            check = 'mask = ticket: ' + ('yes' if all(
                r['masks_equal_to_ticket'] for r in results[variant]) else 'no')
        else:
            check = '-'
        peaks = ' / '.join(f'{r[memory_key]:.0f}' for r in results[variant])
        upkeep = statistics.median(t for r in results[variant] for t in r['upkeep_s'])
        rows.append([variant, *timing_columns(results, variant),
                     f'{1e3 * upkeep:.2f} ({100 * upkeep / dense_iter:.2f} %)',
                     f'{memory[variant]:.0f}', peaks, f'{memory[variant] - dense_mem:+.0f}',
                     f'{memory[variant] / dense_mem:.3f}',
                     live_cell(results, variant, 'live_after_step_mib'),
                     live_cell(results, variant, 'live_peak_mib', ratio=True), check])
    memory_label = ('CUDA max allocated MiB' if memory_key.startswith('cuda')
                    else 'peak RSS MiB')
    header = (f'(i-iii) one IMP round on MMEngine: ImageClassifier {args.backbone}-50, 10 classes, '
              f'Digits 32x32x3, batch {args.batch}, {args.iters} timed iterations after '
              f'{args.warmup} warm-up, {args.repeats} subprocess runs per variant, ticket '
              f'sparsity {args.sparsity}; goals: lth_mm time <= 1.03, memory <= 1.02 x dense')
    print(f'\n{header}\n' + table(
        ['variant', *TIMING_HEADERS, 'after-step hook ms (of dense iter)', memory_label,
         'per-run peaks', 'vs dense MiB', 'memory vs dense', 'live after a step MiB (vs dense)',
         'live peak MiB (vs dense, ratio)', 'check'],
        rows))
    held = results['lth_mm'][0]['held_masks']
    print(f"lth_mm holds {held['bytes'] / 2**20:.1f} MiB of masks for the whole run, "
          f"{8 * held['bytes'] / held['weights']:.2f} bits per prunable weight ("
          + ' + '.join(f'{k} {v / 2**20:.1f} MiB' for k, v in held['parts'].items())
          + '); goal <= 1 byte per weight')
    print(f'\n{boundary}')
    print(f'\ndone in {time.perf_counter() - start:.0f} s; load average now '
          f'{" ".join(f"{x:.1f}" for x in os.getloadavg())}')


if __name__ == '__main__':
    main()
