"""tools/benchmarks/bench_early_bird.py: its arguments, commands and tables (no training run)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from lth_mm.hooks.imp_hook import EARLY_BIRD

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    'bench_early_bird', ROOT / 'tools' / 'benchmarks' / 'bench_early_bird.py')
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_defaults_are_the_imp_demo_and_the_hook():
    args = bench.parse_args([])
    assert (args.seeds, args.rounds, args.rate, args.epochs) == ([0, 1, 2], 10, 0.4, 12)
    assert {k: getattr(args, k) for k in EARLY_BIRD} == EARLY_BIRD
    assert args.out == Path.cwd().resolve() / 'work_dirs' / 'bench_early_bird' / 'results.json'
    quick = bench.parse_args(['--quick', '--seeds', '0', '1', '--work-dir', 'w'])
    assert (quick.seeds, quick.rounds, quick.rate, quick.epochs) == ([0, 1], 2, 0.6, 6)
    assert quick.out == Path('w').resolve() / 'results.json'


@pytest.mark.parametrize('argv, message', [
    (['--rate', '1'], '--rate must be in (0, 1)'),
    (['--threshold', '0'], '--threshold must be in (0, 1)'),
    (['--jobs', '0'], '--jobs must be >= 1'),
    (['--seeds', '1', '1'], '--seeds repeats a seed'),
    (['--epochs', '8', '--window', '3', '--interval', '2'], 'no round could stop early'),
])
def test_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(argv)
    assert message in capsys.readouterr().err


def test_commands_differ_by_the_early_bird_options_only():
    args = bench.parse_args(['--quick', '--threshold', '0.05'])
    full, early = (bench.command(args, v, 3, Path('w')) for v in bench.VARIANTS)
    assert full[1].endswith('tools/train.py') and full[2].endswith('imp_digits_resnet18_w32.py')
    assert 'randomness.seed=3' in full and 'model.backbone.base_channels=8' in full
    assert early[:len(full)] == full
    assert early[len(full):] == ['custom_hooks.0.early_bird.interval=1',
                                 'custom_hooks.0.early_bird.threshold=0.05',
                                 'custom_hooks.0.early_bird.window=3']


def record(variant: str, seed: int, trained: list, wall: float, test: float,
           sparsity: float = 0.64) -> dict:
    rounds = [dict(round=i, trained=t, comparable=i == len(trained) - 1 or t == 6,
                   early_bird_distances=[0.02, 0.01, 0.003] if variant == 'early_bird' else None)
              for i, t in enumerate(trained)]
    return dict(variant=variant, seed=seed, wall_s=wall, cpu_s=wall - 1, rounds=rounds,
                epochs=sum(trained), iterations=17 * sum(trained), rounds_wall_s=sum(trained),
                stopped_early=sum(not r['comparable'] for r in rounds), final_sparsity=sparsity,
                final_test=test, final_comparable=True)


def test_tables_pair_each_run_with_the_full_search_of_its_seed():
    records = [record('full', 0, [6, 6, 6], 20.0, 96.0),
               record('early_bird', 0, [4, 4, 6], 15.0, 95.0),
               record('full', 1, [6, 6, 6], 30.0, 97.0),
               record('early_bird', 1, [4, 5, 6], 15.0, 96.0, sparsity=0.65)]
    full, early = (dict(zip(bench.VARIANT_HEADERS, row))
                   for row in bench.variant_rows(records, window=3))
    assert full['vs full: wall'] == '1.000' and full['same as full'] == '-'
    assert early['vs full: wall'] == '0.625 (0.500-0.750)'
    assert early['iterations'] == '0.806 (0.778-0.833)'
    assert early['epochs per round'] == '4 4-5 6' and early['rounds stopped early'] == '2 of 3'
    assert early['same as full'] == 'NO' and early['final-round test % (min-max)'] == (
        '95.50 (95.00-96.00)')
    assert early['max distance in stop windows'] == '2.00 %'
    rows = [dict(zip(bench.SEED_HEADERS, row)) for row in bench.seed_rows(records)]
    assert [(r['seed'], r['variant'], r['same as full']) for r in rows] == [
        ('0', 'full', '-'), ('0', 'early_bird', 'yes'), ('1', 'full', '-'),
        ('1', 'early_bird', 'NO')]
    assert bench.table(bench.SEED_HEADERS, bench.seed_rows(records)).count('\n') == 5


def test_run_timed_reports_the_child_exit_code_and_cpu_time(tmp_path):
    from _common import child_env, run_timed  # on sys.path once the script is loaded

    busy = ('import sys, time\nend = time.process_time() + 0.3\n'
            'while time.process_time() < end: pass\nprint("done"); sys.exit(3)')
    code, wall, cpu = run_timed([sys.executable, '-c', busy], tmp_path / 'log', child_env(1),
                                tmp_path)
    assert code == 3 and (tmp_path / 'log').read_text() == 'done\n'
    assert 0.3 <= cpu <= wall + 0.05
