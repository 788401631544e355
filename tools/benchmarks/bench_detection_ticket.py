"""Benchmark of training the detector under a ticket against training it dense (issue 10).

(i-ii) The detection demo's detector (``configs/demo/detection/yolo_r18w32_digit_canvas.py``:
MMDetection's YOLOv3 neck and head on a ResNet-18 of width 32, 128 x 128 digit canvases through
the real VOC data pipeline, batch 16, SGD with gradient clipping, ``IterBasedTrainLoop``) trains
``--iters`` iterations (after ``--warmup`` untimed ones) in two variants:

(i)  ``dense``: the config as it is, no lth_mm hook (the baseline);
(ii) ``ticket``: ``TicketHook`` holding a global magnitude ticket of the backbone's 19 convs after
     the stem at ``--sparsity`` (93.75 % by default, the demo's most pruned ticket), saved
     beforehand from the initial weights: one fused mask multiplication after every optimizer
     step, as in every transfer and IMP run.

Every variant runs in its own subprocess (same seed, same data, same iterations); the two run side
by side, their iterations in lockstep (``_common.run_lockstep``: one iteration at a time, dense
and ticket taking the first turn of a cycle by turns), ``--repeats`` times one after another.
Reported: time per iteration (median of the iterations after warm-up, pooled over repeats, and
paired: per repeat the median ratio ticket / dense of the two iterations of one cycle, over
the repeats their geometric mean with a 95 % t interval, ``_common.paired_ratio``; an iteration
runs from taking the turn to the after-step stamp of a
lowest-priority hook, so data loading, forward, backward, the optimizer step and every hook are
inside) as wall-clock time and as the subprocess's CPU time (``time.process_time``), and the peak
resident memory of each subprocess.
Checkpoints, validation and logging are off during the timed part.

(iii) The mask application alone (``MaskApplier``, what the hooks run after each step), timed in
this process on the demo detector and on the ResNet-50 detector of ``configs/detection``, with a
ticket of the same sparsity over their backbone convs.

Run: ``.venv/bin/python tools/benchmarks/bench_detection_ticket.py [--iters N] [--repeats R]``.
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
    iteration_times,
    machine_line,
    peak_memory,
    register_iter_clock,
    run_lockstep,
    table,
    timing_columns,
    variant_arguments,
)

DEMO_CONFIG = ROOT / 'configs' / 'demo' / 'detection' / 'yolo_r18w32_digit_canvas.py'
R50_MODEL = ROOT / 'configs' / 'detection' / '_base_' / 'models' / 'yolov3_r50.py'
VARIANTS = ('dense', 'ticket')
SCOPE = dict(prefix='backbone.')  # the detection configs prune the backbone only


def load_config(path: Path) -> Any:
    """A detection config at its random initialisation: its pre-trained file is not read."""
    from mmengine.config import Config

    cfg = Config.fromfile(str(path))
    backbone = cfg.model.backbone
    if backbone.get('init_cfg'):
        backbone.init_cfg = [i for i in backbone.init_cfg if i['type'] != 'MappedPretrained']
    return cfg


def build_cfg(args: argparse.Namespace, data_root: Path, work_dir: Path, max_iters: int,
              hooks: list) -> Any:
    """The demo detector's config on ``data_root``: random initialisation, training only, no
    checkpoints, no logging during the timed part."""
    cfg = load_config(DEMO_CONFIG)
    cfg.train_dataloader.dataset.data_root = f'{data_root}/'
    cfg.train_dataloader.batch_size = args.batch
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator'):
        cfg[key] = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10**9)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10**9, save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10**9)
    cfg.custom_hooks = hooks
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    cfg.log_level = 'WARNING'
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'bench_det_{os.getpid()}_{time.time_ns()}'
    return cfg


# Subprocess: one variant -----------------------------------------------------------------------
def run_variant(args: argparse.Namespace) -> None:
    import torch
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    from mmengine.runner import Runner

    import lth_mm  # noqa: F401  (registers lth_mm's hooks)
    from lth_mm.core import Ticket
    from lth_mm.engine.runner_utils import unwrap_model

    register_iter_clock()
    hooks = clock_hooks(args)
    if args.child == 'ticket':
        hooks.append(dict(type='TicketHook', ticket=args.ticket))
    runner = Runner.from_cfg(build_cfg(args, Path(args.data), Path(args.work_dir),
                                       args.warmup + args.iters, hooks))
    runner.train()
    wall, cpu = iteration_times(runner)
    result: dict[str, Any] = dict(variant=args.child, iter_s=wall[args.warmup:],
                                  iter_cpu_s=cpu[args.warmup:], **peak_memory(),
                                  threads=torch.get_num_threads())
    if args.child == 'ticket':
        params = dict(unwrap_model(runner).named_parameters())
        result['pruned_weights_zero'] = all(
            int(torch.count_nonzero(params[n].detach()[~m])) == 0
            for n, m in Ticket.load(args.ticket).items())
    Path(args.out).write_text(json.dumps(result))


# Parent ----------------------------------------------------------------------------------------
def build_model(config: Path) -> Any:
    """A detector of ``config`` at its random initialisation (no pre-trained file read)."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.logging import MMLogger

    register_all_modules(init_default_scope=True)
    MMLogger.get_instance('bench_detection_ticket', log_level='WARNING')  # no init report
    model = MODELS.build(load_config(config).model)
    model.init_weights()
    return model


def make_ticket(model: Any, sparsity: float) -> Any:
    from lth_mm.core import PruneScope, Ticket

    return Ticket.dense(model, PruneScope(**SCOPE)).prune_to(model, sparsity)


def time_applier(model: Any, sparsity: float, calls: int) -> list[float]:
    """Seconds of each of ``calls`` applications of a bound ticket (the hooks' per-step cost)."""
    applier = make_ticket(model, sparsity).bind(model)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        applier()
        times.append(time.perf_counter() - start)
    return times


def command(args: argparse.Namespace, variant: str, tmp: Path,
            rep: int) -> tuple[list[str], Path, Path]:
    """A child's command line, the JSON it writes and its log (for ``run_lockstep``)."""
    out = tmp / f'{variant}_{rep}.json'
    cmd = [sys.executable, str(Path(__file__).resolve()), '--child', variant, '--out', str(out),
           '--ticket', str(tmp / 'ticket.safetensors'), '--data', str(tmp / 'VOCdevkit'),
           '--work-dir', str(tmp / f'work_{variant}_{rep}'), '--iters', str(args.iters),
           '--warmup', str(args.warmup), '--batch', str(args.batch),
           '--threads', str(args.threads), '--seed', str(args.seed)]
    return cmd, out, tmp / f'{variant}_{rep}.log'


def cell(values: Sequence[float], scale: float = 1.0, digits: int = 3) -> str:
    """'median (min-max)' of ``values * scale``."""
    vals = [v * scale for v in values]
    return (f'{statistics.median(vals):.{digits}f} ({min(vals):.{digits}f}-'
            f'{max(vals):.{digits}f})')


def main(argv: Sequence[str] | None = None) -> None:
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    variant_arguments(parser, VARIANTS, iters=20, batch=16, sparsity=0.9375)
    parser.add_argument('--apply-calls', type=int, default=50,
                        help='(iii) mask applications timed per detector')
    parser.add_argument('--data', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_variant(args)
        return

    import torch
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    import lth_mm  # noqa: F401
    from lth_mm.datasets.digit_canvas import write_voc_detection

    start = time.perf_counter()
    print(f'bench_detection_ticket: {machine_line(torch.get_num_threads())}', flush=True)
    with tempfile.TemporaryDirectory(prefix='bench_det_') as tmp:
        tmp = Path(tmp)
        write_voc_detection(tmp, trainval=4 * args.batch, test=1, seed=args.seed)
        torch.manual_seed(args.seed)
        demo_model = build_model(DEMO_CONFIG)
        ticket = make_ticket(demo_model, args.sparsity)
        ticket.save(tmp / 'ticket.safetensors')
        results = run_lockstep(VARIANTS, args.repeats,
                               lambda variant, rep: command(args, variant, tmp, rep),
                               args.warmup + args.iters, args.threads, ROOT)
        applied = {'demo detector (ResNet-18 w32)': (ticket, time_applier(
            demo_model, args.sparsity, args.apply_calls))}
        r50 = build_model(R50_MODEL)
        applied['ResNet-50 detector (configs/detection)'] = (
            make_ticket(r50, args.sparsity), time_applier(r50, args.sparsity, args.apply_calls))

    memory = {v: statistics.median(r['ru_maxrss_mib'] for r in results[v]) for v in VARIANTS}
    rows = []
    for variant in VARIANTS:
        check = '-' if variant == 'dense' else 'pruned = 0: ' + (
            'yes' if all(r['pruned_weights_zero'] for r in results[variant]) else 'NO')
        rows.append([variant, *timing_columns(results, variant), f'{memory[variant]:.0f}',
                     f'{memory[variant] - memory["dense"]:+.0f}', check])
    print(f'\n(i-ii) the demo detector: YOLOv3 neck and head on ResNet-18 (width 32), digit '
          f'canvases 128 x 128, batch {args.batch}, {args.iters} timed iterations after '
          f'{args.warmup} warm-up, {args.repeats} subprocess runs per variant, ticket sparsity '
          f'{args.sparsity} over the backbone\'s {len(ticket)} convs\n' + table(
              ['variant', *TIMING_HEADERS, 'peak RSS MiB', 'vs dense MiB', 'check'], rows))
    dense_ms = 1000 * statistics.median(t for r in results['dense'] for t in r['iter_cpu_s'])
    lines = [[name, len(t), f'{t.numel:,}', cell(times, 1000, 2),
              f'{100 * statistics.median(times) * 1000 / dense_ms:.2f} %' if 'demo' in name
              else '-'] for name, (t, times) in applied.items()]
    print(f'\n(iii) mask application (MaskApplier, after every optimizer step), sparsity '
          f'{args.sparsity}, {args.apply_calls} calls (median, min-max)\n' + table(
              ['detector', 'masks', 'weights', 'ms per call', 'of a dense iteration (CPU)'],
              lines))
    print(f'\ndone in {time.perf_counter() - start:.0f} s; load average now '
          f'{" ".join(f"{x:.1f}" for x in os.getloadavg())}')


if __name__ == '__main__':
    main()
