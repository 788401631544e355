"""The main job on built-in data: an IMP ticket search on scikit-learn's digits with two baselines.

Runs three trainings through ``tools/train.py`` (MMEngine Runner, MMPretrain ResNet-18 of width
32, lth_mm's IMPHook), each ``rounds + 1`` rounds at the same sparsities:

1. IMP (magnitude pruning, rewind to the random initialisation): the lottery ticket;
2. iterative random pruning: a random mask of the same sparsity;
3. the IMP masks with a fresh random initialisation every round.

Then prints the test accuracy at the best-validation epoch per round and run, and writes
``summary.csv``, ``summary.md`` and ``sparsity_curve.png`` into the work dir.

Example:
    python tools/demo.py --work-dir work_dirs/demo
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lth_mm.core.atomic import atomic_write_text  # noqa: E402
from lth_mm.engine.round_report import format_table, plot_runs, read_summary, runs_csv  # noqa: E402

RUNS = (
    ('IMP ticket', 'configs/demo/imp_digits_resnet18_w32.py', 'imp'),
    ('random mask', 'configs/demo/random_digits_resnet18_w32.py', 'random'),
    ('IMP mask, re-init', 'configs/demo/reinit_digits_resnet18_w32.py', 'reinit'),
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo', help='where the runs go')
    parser.add_argument('--rounds', type=int, default=10, help='pruning rounds after round 0')
    parser.add_argument('--rate', type=float, default=0.4, help='fraction pruned per round')
    parser.add_argument('--epochs', type=int, default=None,
                        help='epochs per round (default: the config, 12)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the runs')
    return parser.parse_args()


def train(config: str, work_dir: Path, options: list) -> None:
    cmd = [sys.executable, str(ROOT / 'tools' / 'train.py'), str(ROOT / config),
           '--work-dir', str(work_dir), '--cfg-options', *options]
    env = dict(os.environ, PYTHONPATH=f'{ROOT}{os.pathsep}{os.environ.get("PYTHONPATH", "")}')
    log = work_dir.with_suffix('.log')
    work_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(log, 'w') as handle:
        result = subprocess.run(cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = ''.join(log.read_text().splitlines(keepends=True)[-30:])
        raise SystemExit(f'demo: {config} failed (exit {result.returncode}); log {log}:\n{tail}')


def main() -> None:
    args = parse_args()
    work_dir = (ROOT / args.work_dir).resolve()
    runs = {}
    for label, config, name in RUNS:
        options = [f'custom_hooks.0.rounds={args.rounds}', f'custom_hooks.0.rate={args.rate}',
                   f'randomness.seed={args.seed}']
        if args.epochs:
            options += [f'train_cfg.max_epochs={args.epochs}',
                        f'param_scheduler.1.milestones=[{args.epochs // 2},{3 * args.epochs // 4}]']
        if name == 'reinit':
            options.append(f'custom_hooks.0.masks_from={work_dir / "imp" / "imp" / "tickets"}')
        start = time.time()
        print(f'[demo] {label}: {config} ({args.rounds + 1} rounds) ...', flush=True)
        train(config, work_dir / name, options)
        runs[label] = read_summary(work_dir / name)
        print(f'[demo] {label}: done in {time.time() - start:.0f} s', flush=True)
    table = format_table(runs)
    atomic_write_text(work_dir / 'summary.md',
                      'Test accuracy (%) at the best-validation epoch, digits, ResNet-18 w32\n\n'
                      f'```\n{table}\n```\n')
    atomic_write_text(work_dir / 'summary.csv', runs_csv(runs))
    plot_runs(runs, work_dir / 'sparsity_curve.png',
              title='Digits, ResNet-18 (width 32): IMP ticket vs baselines')
    print('\nTest accuracy (%) at the best-validation epoch:\n' + table)
    print(f'\n[demo] wrote {work_dir / "summary.csv"}, {work_dir / "sparsity_curve.png"}')


if __name__ == '__main__':
    main()
