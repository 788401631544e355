"""Run a built-in demo: its training runs (in parallel where they may), progress, and its table.

A demo (``tools/demos/``) is a list of ``tools/train.py`` runs and the table their records make
(``IMPHook``'s ``imp/summary.json``, ``TicketHook``'s ``ticket/summary.json``). This runner starts
each run once the runs it needs have finished, ``--jobs`` at a time, each with its torch threads
pinned (``--threads``), and prints one line per finished round (round, sparsity, validation and
test metric, seconds, the run's ETA) while the full logs go to ``<work_dir>/<seed>/<run>.log``.
With several ``--seeds`` every run is repeated per seed and the table shows the mean and the
range. A demo may show several test metrics of its ``TicketHook`` runs, one table each, and
prepare offline data before its first run. Writes ``summary.md``, ``summary.csv`` and
``curve.png`` into the work dir, then the demo's ticket reports (``reports/``,
``tools/ticket.py report``) and, for demos that ask, the results table over its runs
(``results/``, ``tools/ticket.py results``).

Examples::

    python tools/demo.py imp                       # make demo
    python tools/demo.py transfer --seeds 0 1 2    # make demo-transfer, three seeds
    python tools/demo.py imp --quick               # a smoke test of the whole demo
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'tools'))

from demos import DEMOS, Demo, Metric, Run  # noqa: E402
from demos.base import positive  # noqa: E402

from lth_mm.core.atomic import atomic_write_text  # noqa: E402
from lth_mm.engine.round_report import (  # noqa: E402
    aggregate_seeds,
    format_table,
    plot_runs,
    read_summary,
    runs_csv,
)
from lth_mm.engine.runner_utils import CfgOptions  # noqa: E402


def is_progress(text: str) -> bool:
    """The hooks' log lines the runner shows: one per finished round or run."""
    return (text.startswith('IMPHook: round ') and ' done in ' in text
            or text.startswith('TicketHook: done'))


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='demo', required=True)
    demo_parsers = {}
    for demo in DEMOS.values():
        demo_parser = demo_parsers[demo.name] = sub.add_parser(demo.name, help=demo.title)
        demo_parser.add_argument('--work-dir', help='where the runs go (default: '
                                 f'work_dirs/demo_{demo.name})')
        demo_parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                                 help='repeat every run with each seed (mean and range shown)')
        demo_parser.add_argument('--jobs', type=positive, default=None,
                                 help=f'runs at once (default: the usable cores, '
                                 f'{usable_cores()} here)')
        demo_parser.add_argument('--threads', type=positive, default=None,
                                 help='torch threads per run (default: cores / jobs)')
        demo_parser.add_argument('--quick', action='store_true',
                                 help='a smoke test: tiny network, few rounds, one epoch a run '
                                 '(options given explicitly still apply)')
        demo.arguments(demo_parser)
    args = parser.parse_args(argv)
    demo = DEMOS[args.demo]
    if args.quick:  # --quick's values as defaults: what the user typed wins
        demo_parsers[demo.name].set_defaults(**demo.quick)
        args = parser.parse_args(argv)
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds {" ".join(map(str, args.seeds))}: give each seed once (a seed '
                     'given twice would run twice in the same folder)')
    cores = usable_cores()
    args.jobs = cores if args.jobs is None else args.jobs
    args.threads = max(1, cores // args.jobs) if args.threads is None else args.threads
    args.work_dir = Path(args.work_dir or f'work_dirs/demo_{demo.name}')
    if not args.work_dir.is_absolute():
        args.work_dir = ROOT / args.work_dir
    return args


class Job:
    """One run of one seed: a ``tools/train.py`` process, its log, and its progress lines."""

    def __init__(self, run: Run, seed: int, seed_dir: Path, threads: int, label: str) -> None:
        self.run, self.seed, self.seed_dir, self.label = run, seed, seed_dir, label
        self.work_dir = seed_dir / run.name
        self.log = seed_dir / f'{run.name}.log'
        options = [o.replace('{work}', str(seed_dir)).replace('{seed}', str(seed))
                   for o in run.options]
        self.cmd = [sys.executable, str(ROOT / 'tools' / 'train.py'), str(ROOT / run.config),
                    '--work-dir', str(self.work_dir), '--cfg-options',
                    f'randomness.seed={seed}', *options]
        self.env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS=str(threads),
                        MKL_NUM_THREADS=str(threads),
                        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]))
        self.process: Optional[subprocess.Popen] = None
        self.started = self.ended = 0.0

    def check_options(self) -> None:
        """Refuse an option that ``--cfg-options`` would not pass on as written: it splits
        values at commas and reads brackets as lists (``CfgOptions``, as MMEngine's
        ``DictAction``), so a path holding them would name another file."""
        for option in self.cmd[self.cmd.index('--cfg-options') + 1:]:
            key, _, value = option.partition('=')
            if '/' in value and CfgOptions._parse_iterable(value) != value:
                raise SystemExit(
                    f'demo: {self.label}: the path {value!r} (option {key}) holds characters '
                    "that --cfg-options cannot pass on (commas, brackets or quotes); choose a "
                    '--work-dir (and a checkout folder) without them')

    def start(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)  # each run starts afresh
        self.work_dir.parent.mkdir(parents=True, exist_ok=True)
        self.started = time.time()
        self.process = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, bufsize=1)
        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self) -> None:
        with open(self.log, 'w') as log:
            for line in self.process.stdout:
                log.write(line)
                text = line.split(' - INFO - ', 1)[-1].strip()
                if is_progress(text):
                    say(f'[{self.label}] {text}')

    def poll(self) -> Optional[int]:
        code = self.process.poll() if self.process else None
        if code is not None and not self.ended:
            self.process.wait()
            self.ended = time.time()
        return code


def say(message: str) -> None:
    print(message, flush=True)


def run_all(jobs: List[Job], parallel: int) -> None:
    """Run the jobs, ``parallel`` at a time, each once the runs it needs (same seed) are done."""
    waiting, running, done = list(jobs), [], []
    started = time.time()
    while waiting or running:
        finished = {(j.run.name, j.seed) for j in done}
        for job in [j for j in waiting if all((n, j.seed) in finished for n in j.run.needs)]:
            if len(running) >= parallel:
                break
            waiting.remove(job)
            job.start()
            running.append(job)
        time.sleep(0.2)
        for job in list(running):
            code = job.poll()
            if code is None:
                continue
            running.remove(job)
            if code != 0:
                for other in running:
                    other.process.terminate()
                tail = ''.join(job.log.read_text().splitlines(keepends=True)[-30:])
                raise SystemExit(f'demo: {job.label} ({job.run.config}) failed (exit {code}); '
                                 f'log {job.log}:\n{tail}')
            done.append(job)
            elapsed = time.time() - started
            left = len(waiting) + len(running)
            mean = sum(j.ended - j.started for j in done) / len(done)
            eta = f', ETA {_seconds(mean * left / parallel)}' if left else ''
            say(f'[demo] {job.label} finished in {_seconds(job.ended - job.started)}; '
                f'{len(done)}/{len(jobs)} runs done in {_seconds(elapsed)}{eta}')


def _seconds(seconds: float) -> str:
    from lth_mm.hooks.enforce import format_seconds
    return format_seconds(seconds)


def table_rows(demo_runs: List[Run], seed_dir: Path,
               metrics: Sequence[Metric] = ()) -> Dict[str, List[dict]]:
    """The record rows of one seed's runs, by table column; with ``metrics``, each row also
    holds its run's test metrics (``tests``)."""
    columns: Dict[str, List[dict]] = {}
    for run in demo_runs:
        if not run.columns:
            continue
        found = read_summary(seed_dir / run.name / ('imp' if run.round is None else 'ticket'))
        found = [dict(row, round=run.round) for row in found] if run.round is not None else found
        if metrics:
            found = [dict(row, tests=best_weights_test(run, seed_dir / run.name, row, metrics))
                     for row in found]
        for column in run.columns:
            columns.setdefault(column, []).extend(found)
    return columns


def write_reports(demo: Demo, args: argparse.Namespace, seed_dirs: Dict[int, Path],
                  run_dirs: List[Path]) -> None:
    """The demo's ticket reports and, if it asks, the results table over ``run_dirs``."""
    started, written = time.time(), []
    if demo.reports is not None:
        from lth_mm.analysis import console_summary, write_report
        for report in demo.reports(args, seed_dirs):
            analysis, files = write_report(report.tickets, report.out, labels=report.labels)
            say(f'\n[demo] ticket report: {report.title}\n{console_summary(analysis)}')
            written.append(files[-1])
    if demo.results:
        from lth_mm.engine.results_files import write_results
        results, files = write_results(run_dirs, args.work_dir / 'results', title=demo.title)
        say(f'\n[demo] results table: {len(results.rows)} rows x {len(results.columns)} columns '
            f'over {len(results.runs)} runs')
        written.append(files[-1])
    if written:
        say(f'[demo] reports written in {_seconds(time.time() - started)}: '
            + ', '.join(str(path) for path in written))


def best_weights_test(run: Run, work_dir: Path, row: dict,
                      metrics: Sequence[Metric]) -> Dict[str, float]:
    """The metrics of a ``TicketHook`` run's one test, of its best weights.

    MMEngine's ``LoggerHook`` writes the metrics of a run's last test to
    ``<work_dir>/<timestamp>/<timestamp>.json``; ``TicketHook`` tests once, the best weights, and
    records that test's value of its ``metric`` in the row, which must match.
    """
    where = f'demo: {run.name} ({work_dir})'
    if run.round is None:
        raise SystemExit(f'{where}: metric tables read TicketHook runs only (IMPHook tests every '
                         'round and the test log keeps the last)')
    logs = [p for p in work_dir.glob('*/*.json') if p.stem == p.parent.name]
    if len(logs) != 1:
        raise SystemExit(f'{where}: expected one test log <timestamp>/<timestamp>.json, found '
                         f'{len(logs)}')
    tests = json.loads(logs[0].read_text())
    missing = [m.key for m in metrics if not isinstance(tests.get(m.key), (int, float))]
    if missing:
        raise SystemExit(f'{where}: the test log {logs[0]} has no {missing} (it has '
                         f'{sorted(tests)})')
    logged, recorded = tests.get(row.get('metric')), row.get('test_metric')
    if not (isinstance(logged, (int, float)) and isinstance(recorded, (int, float))
            and math.isclose(logged, recorded, rel_tol=1e-9, abs_tol=1e-12)):
        raise SystemExit(f'{where}: the test log {logs[0]} is not the test of the best weights '
                         f'({row.get("metric")} {logged} there, {recorded} in the record)')
    return tests


def metric_rows(columns: Dict[str, List[dict]], metric: Metric) -> Dict[str, List[dict]]:
    """The rows of one metric's table: its scaled test value as ``test_metric`` (and the best
    validation value when it is the metric that picked the weights)."""
    def scaled(value: Optional[float]) -> Optional[float]:
        return None if value is None else metric.scale * value

    return {column: [dict(row, metric=metric.label, test_metric=scaled(row['tests'][metric.key]),
                          best_val_metric=scaled(row['best_val_metric'])
                          if row.get('metric') == metric.key else None)
                     for row in rows]
            for column, rows in columns.items()}


#: The columns of ``summary.csv``; a demo with several metrics adds ``metric`` first.
CSV_FIELDS = ('round', 'sparsity', 'best_val_metric', 'test_metric', 'test_metric_min',
              'test_metric_max', 'n')


def summary_csv(reports: Dict[str, Dict[str, List[dict]]]) -> str:
    """``summary.csv``: the rows of every table (a ``metric`` column when there are several)."""
    if list(reports) == ['']:
        return runs_csv(reports[''], CSV_FIELDS)
    parts = [runs_csv(report, ('metric', *CSV_FIELDS)).split('\n', 1) for report in
             reports.values()]
    return parts[0][0] + '\n' + ''.join(body for _, body in parts)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, List[dict]]:
    args = parse_args(argv)
    demo: Demo = DEMOS[args.demo]
    demo_runs = demo.runs(args)
    several = len(args.seeds) > 1
    seed_dirs = {seed: args.work_dir / f'seed_{seed}' if several else args.work_dir
                 for seed in args.seeds}
    jobs = [Job(run, seed, seed_dirs[seed], args.threads,
                f'{run.name} seed {seed}' if several else run.name)
            for seed in args.seeds for run in demo_runs]
    for job in jobs:  # before any folder is written or emptied
        job.check_options()
    say(f'[demo] {demo.title}: {len(jobs)} runs ({len(demo_runs)} x {len(args.seeds)} seeds), '
        f'{args.jobs} at a time with {args.threads} torch thread(s) each; logs in '
        f'{args.work_dir}')
    started = time.time()
    if demo.prepare is not None:
        demo.prepare(args)
        say(f'[demo] prepared the data in {_seconds(time.time() - started)}')
    run_all(jobs, args.jobs)
    per_seed = [table_rows(demo_runs, seed_dirs[s], demo.metrics) for s in args.seeds]
    reports = {m.label: aggregate_seeds([metric_rows(rows, m) for rows in per_seed])
               for m in demo.metrics} or {'': aggregate_seeds(per_seed)}
    for label, report in reports.items():
        order = [c for c in demo.columns or () if c in report]
        reports[label] = {c: report[c] for c in order + [c for c in report if c not in order]}
    report = next(iter(reports.values()))
    table = '\n\n'.join(f'{label}\n{format_table(r)}' if label else format_table(r)
                         for label, r in reports.items())
    settings = (f'seeds {" ".join(map(str, args.seeds))}; {args.jobs} runs at a time, '
                f'{args.threads} thread(s) each; wall time {_seconds(time.time() - started)}'
                + ('; --quick' if args.quick else ''))
    atomic_write_text(args.work_dir / 'summary.md', f'# {demo.title}\n\n{demo.notes}\n\n'
                      f'```\n{table}\n```\n\nSettings: {settings}\n')
    atomic_write_text(args.work_dir / 'summary.csv', summary_csv(reports))
    plot_runs({k: v for k, v in report.items() if k in (demo.plot_columns or report)},
              args.work_dir / 'curve.png', title=demo.title)
    say(f'\n{demo.notes}\n\n{table}\n\n[demo] {settings}')
    say(f'[demo] wrote {args.work_dir / "summary.md"}, {args.work_dir / "summary.csv"}, '
        f'{args.work_dir / "curve.png"}')
    write_reports(demo, args, seed_dirs, [job.work_dir for job in jobs if job.run.columns])
    if demo.finish is not None:
        say('[demo] wrote ' + ', '.join(str(p) for p in demo.finish(args, seed_dirs)))
    return report


if __name__ == '__main__':
    main()
