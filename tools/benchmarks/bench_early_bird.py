"""Benchmark: the cost of a whole IMP ticket search with and without early-bird rounds.

The search is the imp demo's (``tools/demos/imp.py``, ``make demo``): ``IMPHook`` on
``configs/demo/imp_digits_resnet18_w32.py`` (an MMPretrain ResNet-18, CIFAR stem, width 32, on
scikit-learn's 8x8 digits; validation every epoch, the test set at each round's best weights, a
checkpoint every epoch), ``--rounds`` pruning rounds of ``--rate`` after the dense round 0,
``--epochs`` epochs a round, each search one ``tools/train.py`` subprocess. Two variants:

- ``full``: every round trains the whole schedule (the baseline, the demo's search);
- ``early_bird``: the same search with ``IMPHook(early_bird=dict(interval, threshold, window))``:
  a round ends once the mask pruning would produce has settled (``window`` distances in a row
  between consecutive candidates, one check every ``interval`` epochs, under ``threshold``). The
  last round always trains the full schedule, so its test accuracy is comparable to the full
  search's; the rounds before it are not (``comparable`` in the summary).

Both prune to the same final sparsity. The runs alternate (full s0, early_bird s0, full s1, ...)
so that load changes hit both alike, ``--jobs`` at a time, each with its torch threads pinned
(``--threads``). Per run: wall-clock seconds, the child's CPU seconds (user + system, from
``os.wait4``; with one thread, what the wall time would be on an idle machine), the epochs and
iterations trained over all rounds (``trained`` in ``imp/summary.json``; iterations from the last
checkpoint), the rounds stopped early, the final sparsity, and the last round's test accuracy at
its best validation epoch. Printed: one table per variant (medians with their (min-max) range
over the seeds, and the early-bird / full ratios of the same seed) and one per seed; every record
goes to ``--out`` (JSON, rewritten after each run).

Run: ``.venv/bin/python tools/benchmarks/bench_early_bird.py [--seeds 0 1 2] [--quick]``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / 'tools', Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from _common import child_env, machine_line, run_timed, table  # noqa: E402
from demos import imp as imp_demo  # noqa: E402

VARIANTS = ('full', 'early_bird')
#: The early-bird settings and IMPHook's defaults for them (``EARLY_BIRD`` in imp_hook.py).
EARLY_BIRD = dict(interval=1, threshold=0.1, window=3)
#: --quick: the width-8 network, 2 rounds, 6 epochs a round (enough for a round to stop at the
#: earliest check, 4 epochs, with the default settings), one seed: about 20 s here.
QUICK = dict(seeds=[0], rounds=2, rate=0.6, epochs=6)


def demo_defaults() -> dict[str, Any]:
    """The imp demo's rounds, rate and epochs (its own argument defaults) and the seeds."""
    parser = argparse.ArgumentParser()
    imp_demo.arguments(parser)
    return dict(seeds=[0, 1, 2], **{k: parser.get_default(k) for k in ('rounds', 'rate',
                                                                        'epochs')})


def words(values: Sequence[Any]) -> str:
    return ' '.join(map(str, values))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    full = demo_defaults()
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog='Defaults in brackets are those of --quick; an option given explicitly wins '
        'over --quick.')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help=f'randomness.seed of each pair of runs (default '
                        f'{words(full["seeds"])} [{words(QUICK["seeds"])}])')
    parser.add_argument('--rounds', type=int, help='pruning rounds after the dense round 0 '
                        f'(default {full["rounds"]}, the imp demo\'s [{QUICK["rounds"]}])')
    parser.add_argument('--rate', type=float, help='fraction of the surviving weights pruned per '
                        f'round (default {full["rate"]}, the imp demo\'s [{QUICK["rate"]}])')
    parser.add_argument('--epochs', type=int, help='epochs of a full round (default '
                        f'{full["epochs"]}, the imp demo\'s [{QUICK["epochs"]}])')
    parser.add_argument(
        '--interval', type=int, default=EARLY_BIRD['interval'],
        help='early bird: epochs between two checks. Default: IMPHook\'s, every epoch; a check '
        'costs one magnitude pruning of the ResNet-18, milliseconds against an epoch\'s second')
    parser.add_argument(
        '--threshold', type=float, default=EARLY_BIRD['threshold'],
        help='early bird: the distance (fraction of the prunable weights whose mask differs '
        'between consecutive candidates) under which the mask counts as unchanged. Default: '
        'IMPHook\'s, the paper\'s 0.1 (You et al. 2020)')
    parser.add_argument(
        '--window', type=int, default=EARLY_BIRD['window'],
        help='early bird: distances in a row that must be under --threshold. Default: '
        'IMPHook\'s, 3: one quiet check is not enough; a round then stops at the earliest '
        'after (window + 1) x interval = 4 epochs, a third of the demo\'s 12')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs at once (more than 1 makes the runs compete for cores: '
                        'compare CPU time then)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads per run (1: steadiest on a shared machine; 0: '
                        'torch default)')
    parser.add_argument('--quick', action='store_true',
                        help='a smoke run (about 20 s on an idle machine): the width-8 '
                        'network and the bracketed defaults')
    parser.add_argument('--work-dir', type=Path, default=Path('work_dirs/bench_early_bird'),
                        help='where the runs go (one folder and one log per run)')
    parser.add_argument('--out', type=Path,
                        help='the JSON file of all records (default WORK_DIR/results.json)')
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    check_args(parser, args)
    args.work_dir = args.work_dir.resolve()
    args.out = (args.out or args.work_dir / 'results.json').resolve()
    return args


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with a message for values the search would refuse or that measure nothing."""
    for name in ('rounds', 'epochs', 'interval', 'window', 'jobs'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be >= 1, got {getattr(args, name)}')
    if args.threads < 0:
        parser.error(f'--threads must be >= 0 (0: torch default), got {args.threads}')
    for name in ('rate', 'threshold'):
        if not 0.0 < getattr(args, name) < 1.0:
            parser.error(f'--{name} must be in (0, 1), got {getattr(args, name)}')
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds repeats a seed: {args.seeds}')
    earliest = earliest_stop(args)
    if earliest >= args.epochs:
        parser.error(f'an early-bird round stops at the earliest after (window + 1) x interval = '
                     f'{earliest} epochs (the first check has nothing to compare with), not '
                     f'before the end of a round of --epochs {args.epochs}: no round could stop '
                     'early. Raise --epochs or lower --window or --interval.')


def earliest_stop(args: argparse.Namespace) -> int:
    """The fewest epochs an early-bird round can train."""
    return (args.window + 1) * args.interval


# Runs ------------------------------------------------------------------------------------------
def search_run(args: argparse.Namespace) -> Any:
    """The imp demo's IMP run for these rounds, rate and epochs (width 8 with --quick)."""
    demo_args = argparse.Namespace(rounds=args.rounds, rate=args.rate, epochs=args.epochs,
                                   quick=args.quick, report_round=None)
    return next(run for run in imp_demo.runs(demo_args) if run.name == 'imp')


def command(args: argparse.Namespace, variant: str, seed: int, work_dir: Path) -> list[str]:
    run = search_run(args)
    options = [f'randomness.seed={seed}', *run.options]
    if variant == 'early_bird':
        options += [f'custom_hooks.0.early_bird.{key}={getattr(args, key)}'
                    for key in EARLY_BIRD]
    return [sys.executable, str(ROOT / 'tools' / 'train.py'), str(ROOT / run.config),
            '--work-dir', str(work_dir), '--cfg-options', *options]


def run_search(args: argparse.Namespace, variant: str, seed: int) -> dict[str, Any]:
    """One search in a fresh work dir; its record (exits with the log's end if it fails)."""
    name = f'{variant}_s{seed}'
    work_dir, log = args.work_dir / name, args.work_dir / f'{name}.log'
    shutil.rmtree(work_dir, ignore_errors=True)  # IMPHook refuses a work dir with a search
    cmd = command(args, variant, seed, work_dir)
    env = dict(child_env(args.threads), PYTHONPATH=os.pathsep.join(
        [str(ROOT), os.environ.get('PYTHONPATH', '')]))
    code, wall, cpu = run_timed(cmd, log, env, ROOT)
    if code != 0:
        tail = ''.join(log.read_text().splitlines(keepends=True)[-30:])
        raise SystemExit(f'bench_early_bird: {name} failed (exit {code}); log {log}:\n{tail}')
    return dict(variant=variant, seed=seed, wall_s=wall, cpu_s=cpu, **read_search(work_dir),
                work_dir=str(work_dir), log=str(log), command=cmd)


def read_search(work_dir: Path) -> dict[str, Any]:
    """What a finished search recorded: its rounds (``imp/summary.json``) and the epochs and
    iterations it trained (its last checkpoint's ``meta``)."""
    from lth_mm.compat import load_local_checkpoint
    from lth_mm.engine.round_report import read_summary
    from lth_mm.engine.runner_utils import latest_checkpoint

    rows = read_summary(work_dir)
    checkpoint = latest_checkpoint(str(work_dir))
    if checkpoint is None:
        raise SystemExit(f'bench_early_bird: no checkpoint in {work_dir} to count iterations')
    meta = load_local_checkpoint(checkpoint, map_location='cpu')['meta']
    epochs = sum(row['trained'] for row in rows)
    if epochs != meta['epoch']:
        raise SystemExit(f'bench_early_bird: {work_dir}: the rounds trained {epochs} epochs but '
                         f'the last checkpoint is at epoch {meta["epoch"]}')
    keys = ('round', 'sparsity', 'trained', 'comparable', 'best_val_metric', 'best_epoch',
            'test_metric', 'wall_time_s', 'early_bird_distances')
    last = rows[-1]
    return dict(rounds=[{k: row.get(k) for k in keys} for row in rows], epochs=epochs,
                iterations=meta['iter'], rounds_wall_s=sum(row['wall_time_s'] for row in rows),
                stopped_early=sum(not row['comparable'] for row in rows),
                final_sparsity=last['sparsity'], final_test=last['test_metric'],
                final_comparable=last['comparable'])


def run_all(args: argparse.Namespace, header: dict[str, Any]) -> list[dict[str, Any]]:
    """Every (seed, variant) search, interleaved, ``--jobs`` at a time; the records, in that
    order, written to ``--out`` after each run."""
    from lth_mm.core.atomic import atomic_write_text

    order = [(seed, variant) for seed in args.seeds for variant in VARIANTS]
    done: dict[tuple[int, str], dict[str, Any]] = {}
    args.work_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_search, args, variant, seed): (seed, variant)
                   for seed, variant in order}
        try:
            for future in as_completed(futures):
                record = future.result()
                done[futures[future]] = record
                print(f'  {len(done)}/{len(order)} {record["variant"]} s{record["seed"]}: '
                      f'{record["wall_s"]:.1f} s wall, {record["cpu_s"]:.1f} s CPU, '
                      f'{record["epochs"]} epochs ({record["iterations"]} iterations), '
                      f'final test {record["final_test"]:.2f} %', flush=True)
                records = [done[key] for key in order if key in done]
                atomic_write_text(args.out, json.dumps(dict(header, records=records), indent=1))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # the running ones still finish
            raise
    return [done[key] for key in order]


# Tables ----------------------------------------------------------------------------------------
def spread(values: Sequence[float], digits: int = 1, centre: str = 'median') -> str:
    """``12.3 (11.0-14.1)``: the median (or mean) and the range; equal values once."""
    mid = statistics.median(values) if centre == 'median' else statistics.fmean(values)
    if min(values) == max(values):
        return f'{mid:.{digits}f}'
    return f'{mid:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})'


def by_variant(records: Sequence[dict]) -> dict[str, dict[int, dict]]:
    """``{variant: {seed: record}}``."""
    out: dict[str, dict[int, dict]] = {}
    for record in records:
        out.setdefault(record['variant'], {})[record['seed']] = record
    return out


def same_sparsity(record: dict, baseline: dict) -> bool:
    return abs(record['final_sparsity'] - baseline['final_sparsity']) < 1e-12


def stop_epochs(records: Sequence[dict]) -> str:
    """Epochs each round trained, over the runs: ``4 4 5-6 12``."""
    per_round = zip(*([row['trained'] for row in r['rounds']] for r in records))
    return ' '.join(str(lo) if lo == hi else f'{lo}-{hi}'
                    for lo, hi in ((min(v), max(v)) for v in per_round))


def stop_distance(records: Sequence[dict], window: int) -> str:
    """The largest mask distance within the windows that stopped rounds (how far under the
    threshold the stops were)."""
    distances = [d for r in records for row in r['rounds'] if not row['comparable']
                 for d in row['early_bird_distances'][-window:]]
    return f'{100 * max(distances):.2f} %' if distances else '-'


def yes(flag: bool) -> str:
    return 'yes' if flag else 'NO'


VARIANT_HEADERS = ('variant', 'wall s (min-max)', 'CPU s (min-max)', 'epochs',
                   'iterations (mean)', 'vs full: wall', 'CPU', 'iterations',
                   'rounds stopped early', 'final sparsity', 'same as full',
                   'final-round test % (min-max)', 'n', 'comparable', 'epochs per round',
                   'max distance in stop windows')


def ratios(paired: Sequence[tuple[dict, dict]], key: str) -> str:
    """``key`` of each run over the full search of its seed: median (min-max)."""
    return spread([run[key] / full[key] for run, full in paired], 3) if paired else '-'


def variant_rows(records: Sequence[dict], window: int) -> list[list[str]]:
    """One row per variant: medians over the seeds, ratios to the full search of each seed."""
    runs = by_variant(records)
    full = runs.get('full', {})
    rows = []
    for variant in (v for v in VARIANTS if v in runs):
        mine = list(runs[variant].values())
        paired = [(r, full[r['seed']]) for r in mine if r['seed'] in full]
        stopped = [r['stopped_early'] for r in mine]
        stopped = (f'{min(stopped)}' if min(stopped) == max(stopped)
                   else f'{min(stopped)}-{max(stopped)}')
        rows.append([
            variant, spread([r['wall_s'] for r in mine]),
            spread([r['cpu_s'] for r in mine]), spread([r['epochs'] for r in mine], 0),
            f'{statistics.fmean(r["iterations"] for r in mine):.0f}',
            *(ratios(paired, key) for key in ('wall_s', 'cpu_s', 'iterations')),
            f'{stopped} of {len(mine[0]["rounds"])}',
            ' / '.join(sorted({f'{r["final_sparsity"]:.4f}' for r in mine})),
            '-' if variant == 'full' else yes(all(same_sparsity(r, f) for r, f in paired)),
            spread([r['final_test'] for r in mine], 2, centre='mean'), str(len(mine)),
            yes(all(r['final_comparable'] for r in mine)), stop_epochs(mine),
            '-' if variant == 'full' else stop_distance(mine, window)])
    return rows


SEED_HEADERS = ('seed', 'variant', 'wall s', 'CPU s', 'rounds s/epoch', 'epochs', 'iterations',
                'stopped early', 'final sparsity', 'same as full', 'final-round test %',
                'comparable', 'epochs per round')


def seed_rows(records: Sequence[dict]) -> list[list[str]]:
    """One row per run, by seed; ``rounds s/epoch``: the rounds' wall time (no start-up) per
    epoch."""
    full = by_variant(records).get('full', {})
    rows = []
    for r in sorted(records, key=lambda r: (r['seed'], VARIANTS.index(r['variant']))):
        baseline = full.get(r['seed'])
        rows.append([
            str(r['seed']), r['variant'], f'{r["wall_s"]:.1f}', f'{r["cpu_s"]:.1f}',
            f'{r["rounds_wall_s"] / r["epochs"]:.2f}', str(r['epochs']), str(r['iterations']),
            f'{r["stopped_early"]} of {len(r["rounds"])}', f'{r["final_sparsity"]:.4f}',
            '-' if r['variant'] == 'full' or baseline is None else yes(same_sparsity(r, baseline)),
            f'{r["final_test"]:.2f}', yes(r['final_comparable']), stop_epochs([r])])
    return rows


def describe(args: argparse.Namespace) -> str:
    """The table's header: what was searched, the baseline and the goal."""
    sparsity = 1 - (1 - args.rate) ** args.rounds
    epochs = (args.rounds + 1) * args.epochs
    fewest = args.rounds * earliest_stop(args) + args.epochs
    width = 8 if args.quick else 32
    return (f'IMP search on digits, ResNet-18 (width {width}), {args.rounds} rounds of rate '
            f'{args.rate} to {100 * sparsity:.2f} % sparsity, {args.epochs} epochs a full round, '
            f'{len(args.seeds)} seed(s) {words(args.seeds)}, {args.jobs} run(s) at '
            f'once; early bird: a check every {args.interval} epoch(s), threshold {args.threshold}'
            f', window {args.window} (a round stops after {earliest_stop(args)} epochs at the '
            f'earliest: {fewest} of {epochs} epochs, {fewest / epochs:.3f}, at the least)\n'
            f'baseline: full IMP (every round {args.epochs} epochs); goal: early_bird / full < 1 '
            'in wall, CPU and iterations, the same final sparsity, and a final-round test '
            'accuracy (full schedule, comparable) within the full searches\' range')


def main(argv: Sequence[str] | None = None) -> None:
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
    args = parse_args(argv)
    import torch

    start = time.perf_counter()
    machine = machine_line(args.threads or torch.get_num_threads())
    print(f'bench_early_bird: {machine}\n{describe(args)}\nlogs and work dirs in '
          f'{args.work_dir}', flush=True)
    header = dict(machine=machine, search=describe(args),
                  args={k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()})
    records = run_all(args, header)
    print(f'\n{describe(args)}\n'
          + table(VARIANT_HEADERS, variant_rows(records, args.window))
          + '\n\nper seed\n' + table(SEED_HEADERS, seed_rows(records)))
    print(f'\nrecords in {args.out}; done in {time.perf_counter() - start:.0f} s; load average '
          f'now {" ".join(f"{x:.1f}" for x in os.getloadavg())}')


if __name__ == '__main__':
    main()
