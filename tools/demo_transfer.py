"""Ticket transfer on built-in data: IMP tickets of digits 0-4 fine-tuned on digits 5-9.

The paper's transfer experiment (section 3 of the reference), shrunk to scikit-learn's digits and
a ResNet-18 of width 32, all through ``tools/train.py`` (MMEngine Runner, lth_mm's hooks):

1. "pre-train" densely on digits 0-4 (the source task); its final weights are the pre-trained
   weights (``<work_dir>/pretrained.pth``);
2. find tickets on the source task with IMP, every round rewound to the pre-trained weights
   (``IMPHook(rewind='pt_trans')``, as the paper does for its ImageNet tickets);
3. transfer to digits 5-9 (relabelled 0-4): for every chosen round's sparsity, fine-tune once from
   the DENSE pre-trained weights with ``TicketHook`` holding (a) the IMP ticket or (b) a random
   ticket of exactly the same sparsity; (c) dense fine-tuning (the round-0 ticket, sparsity 0) and
   (d) dense training from scratch are the references. The classifier head is re-initialised for
   the new task (same seed in every run): its five outputs meant 0-4 and now mean 5-9.

Each fine-tuning keeps its best-validation checkpoint; ``tools/test.py`` (called in this process)
then evaluates it on the test split, so every number is the test accuracy at the best-validation
epoch, as the paper reports. Writes ``summary.csv``, ``summary.md`` and ``transfer_curve.png``.

Example:
    python tools/demo_transfer.py --work-dir work_dirs/demo_transfer
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, TextIO

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from lth_mm.compat import load_local_checkpoint  # noqa: E402
from lth_mm.core import Ticket  # noqa: E402
from lth_mm.core.atomic import atomic_write_bytes, atomic_write_text  # noqa: E402
from lth_mm.engine.round_report import format_table, plot_runs, read_summary, runs_csv  # noqa: E402

CONFIGS = Path('configs/demo/transfer')
PRETRAIN = CONFIGS / 'pretrain_digits04_resnet18_w32.py'
IMP = CONFIGS / 'imp_digits04_resnet18_w32.py'
TRANSFER = CONFIGS / 'transfer_digits59_resnet18_w32.py'
SCRATCH = CONFIGS / 'scratch_digits59_resnet18_w32.py'
METRIC = 'accuracy/top1'
LABELS = {'imp': 'IMP ticket', 'random': 'random ticket', 'scratch': 'from scratch',
          'source': 'IMP on 0-4'}
# --quick: a smoke test (the tests run it): a width-8 network and one epoch per run.
QUICK = dict(pretrain_epochs=1, rounds=2, rate=0.6, epochs=1, transfer_rounds='2')
WIDTH8 = ['model.backbone.stem_channels=8', 'model.backbone.base_channels=8',
          'model.head.in_channels=64']


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo_transfer', help='where runs go')
    parser.add_argument('--pretrain-epochs', type=int, default=12,
                        help='epochs of dense pre-training on digits 0-4')
    parser.add_argument('--rounds', type=int, default=5, help='IMP pruning rounds after round 0')
    parser.add_argument('--rate', type=float, default=0.6, help='fraction pruned per IMP round')
    parser.add_argument('--epochs', type=int, default=6,
                        help='epochs per IMP round and per fine-tuning run')
    parser.add_argument('--transfer-rounds', default='all',
                        help="which rounds' tickets to transfer: 'all' or a comma list, e.g. 2,4,5")
    parser.add_argument('--no-scratch', action='store_true',
                        help='skip the from-scratch reference on digits 5-9')
    parser.add_argument('--seed', type=int, default=0, help='seed of the runs and random tickets')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads per run (OMP_NUM_THREADS); the network is small, and '
                        'more threads than free cores slow it down many times')
    parser.add_argument('--quick', action='store_true',
                        help='smoke test: width 8, 2 rounds, 1 epoch a run, transfer round 2 only')
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    if min(args.rounds, args.epochs, args.pretrain_epochs, args.threads) < 1:
        parser.error('--rounds, --epochs, --pretrain-epochs and --threads must be >= 1')
    if args.transfer_rounds == 'all':
        args.transfer_rounds = list(range(1, args.rounds + 1))
    else:
        try:
            args.transfer_rounds = sorted({int(r) for r in args.transfer_rounds.split(',')})
        except ValueError:
            parser.error(f'--transfer-rounds: expected all or a comma list of rounds, got '
                         f'{args.transfer_rounds!r}')
        if not all(1 <= r <= args.rounds for r in args.transfer_rounds):
            parser.error(f'--transfer-rounds must lie in 1..{args.rounds}')
    return args


# Runs -------------------------------------------------------------------------------------------
def schedule(epochs: int) -> List[str]:
    """Options for an ``epochs``-long run of the base recipe (LR x0.1 at 50 % and 75 %)."""
    return [f'train_cfg.max_epochs={epochs}',
            f'param_scheduler.1.milestones=[{max(1, epochs // 2)},{max(1, 3 * epochs // 4)}]']


def train(config: Path, work_dir: Path, options: List[str]) -> None:
    """Run ``tools/train.py`` in a subprocess; its output goes to ``<work_dir>.log``."""
    cmd = [sys.executable, str(ROOT / 'tools' / 'train.py'), str(ROOT / config),
           '--work-dir', str(work_dir), '--cfg-options', *options]
    env = dict(os.environ, PYTHONPATH=f'{ROOT}{os.pathsep}{os.environ.get("PYTHONPATH", "")}',
               OMP_NUM_THREADS=str(torch.get_num_threads()))
    log = work_dir.with_suffix('.log')
    shutil.rmtree(work_dir, ignore_errors=True)  # a re-run must not find the last run's files
    work_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(log, 'w') as handle:
        result = subprocess.run(cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = ''.join(log.read_text().splitlines(keepends=True)[-30:])
        raise SystemExit(f'demo_transfer: {config} failed (exit {result.returncode}); log {log}:'
                         f'\n{tail}')


def _test_tool():
    """``tools/test.py`` as a module: its ``main(argv)`` returns the test metrics."""
    spec = importlib.util.spec_from_file_location('lth_mm_tools_test', ROOT / 'tools' / 'test.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def best_validation(work_dir: Path) -> Dict[str, Any]:
    """The best-validation checkpoint of a run (CheckpointHook ``save_best``) and its score.

    The score is read from the run's ``vis_data/scalars.json`` (first epoch with the highest
    validation metric, the rule CheckpointHook's ``'greater'`` follows) and checked against the
    epoch in the checkpoint's name.
    """
    ckpts = sorted(work_dir.glob('best_accuracy_top1_epoch_*.pth'))
    if len(ckpts) != 1:
        raise SystemExit(f'demo_transfer: expected one best checkpoint in {work_dir}, got {ckpts}')
    epoch = int(re.search(r'epoch_(\d+)\.pth$', ckpts[0].name).group(1))
    scalars = sorted(work_dir.glob('*/vis_data/scalars.json'))[-1]
    scores = [(int(row['step']), float(row[METRIC]))
              for row in map(json.loads, scalars.read_text().splitlines()) if METRIC in row]
    best_epoch, best = scores[0]
    for step, score in scores:
        if score > best:
            best_epoch, best = step, score
    if best_epoch != epoch:
        raise SystemExit(f'demo_transfer: {scalars} has its best {METRIC} at epoch {best_epoch}, '
                         f'the best checkpoint is {ckpts[0].name}')
    return dict(checkpoint=ckpts[0], best_epoch=epoch, best_val_metric=best)


def fine_tune(tool, name: str, work_dir: Path, pretrained: Optional[Path],
              ticket: Optional[Path], options: List[str], log: TextIO) -> Dict[str, Any]:
    """Train one run on digits 5-9, then test its best-validation checkpoint; returns a row.

    The test's console output goes to ``log`` (one file for all tests, open for the whole demo:
    mmengine's loggers keep the stream they were created with).
    """
    config = TRANSFER if ticket is not None else SCRATCH
    hook = [f'custom_hooks.0.ticket={ticket}'] if ticket is not None else []
    start = [f'load_from={pretrained}'] if ticket is not None else []
    train(config, work_dir, options + hook + start)
    best = best_validation(work_dir)
    # The test loads the best checkpoint (no load_from override); TicketHook re-applies the mask.
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log), \
            warnings.catch_warnings():
        warnings.simplefilter('ignore')
        metrics = tool.main([str(ROOT / config), str(best['checkpoint']),
                             '--work-dir', str(work_dir / 'test'), '--cfg-options', *options,
                             *hook, f'experiment_name=test_{name}'])
    sparsity = Ticket.load(ticket).sparsity if ticket is not None else 0.0
    return dict(sparsity=sparsity, metric=METRIC, best_epoch=best['best_epoch'],
                best_val_metric=best['best_val_metric'], test_metric=float(metrics[METRIC]),
                ticket=str(ticket) if ticket is not None else None)


# Random tickets ---------------------------------------------------------------------------------
def build_model(options: Sequence[str] = ()) -> torch.nn.Module:
    """The transfer config's model (random initialisation), with ``--cfg-options``-style edits."""
    from mmengine.config import Config, DictAction
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    cfg = Config.fromfile(str(ROOT / TRANSFER))
    if options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--o', *options]).o)
    init_default_scope('mmpretrain')
    return MODELS.build(cfg.model)


def random_ticket(imp_ticket: Ticket, model: torch.nn.Module, seed: int) -> Ticket:
    """A global random ticket over the IMP ticket's weights with exactly its sparsity.

    ``Ticket.prune_to`` prunes ``round(sparsity * numel)`` weights, the same count the IMP ticket
    pruned; the layers' sparsities are whatever random global pruning gives (about uniform).
    """
    dense = Ticket.dense(model, imp_ticket.scope)
    if set(dense) != set(imp_ticket):
        raise ValueError('the IMP ticket and the model cover different weights')
    ticket = dense.prune_to(model, imp_ticket.sparsity, criterion='random',
                            generator=torch.Generator().manual_seed(int(seed)),
                            notes=f'random ticket matching {imp_ticket.digest()}')
    ticket.card['round'] = imp_ticket.card.get('round')
    return ticket


def make_random_tickets(imp_dir: Path, out_dir: Path, rounds: Sequence[int], pretrained: Path,
                        seed: int, options: Sequence[str] = ()) -> Dict[int, Path]:
    """Save a random ticket of each round's IMP sparsity, drawn on the pre-trained model."""
    model = build_model(options)
    state = torch.load(pretrained, map_location='cpu', weights_only=True)['state_dict']
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith('data_preprocessor.') for k in missing):
        raise SystemExit(f'demo_transfer: {pretrained} does not fit the model: missing '
                         f'{missing[:5]}, unexpected {unexpected[:5]}')
    shutil.rmtree(out_dir, ignore_errors=True)
    paths = {}
    for rnd in rounds:
        imp_ticket = Ticket.load(imp_dir / f'round_{rnd:02d}.safetensors')
        ticket = random_ticket(imp_ticket, model, seed + 1000 + rnd)
        paths[rnd] = out_dir / f'round_{rnd:02d}.safetensors'
        ticket.save(paths[rnd])
    return paths


# Main -------------------------------------------------------------------------------------------
def main(argv: Optional[Sequence[str]] = None) -> Dict[str, List[Dict[str, Any]]]:
    args = parse_args(argv)
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated')  # mmengine's import
    torch.set_num_threads(args.threads)
    work_dir = (ROOT / args.work_dir).resolve()
    started = time.time()
    common = [f'randomness.seed={args.seed}'] + (WIDTH8 if args.quick else [])

    def step(message: str) -> float:
        print(f'[demo_transfer] {message} ...', flush=True)
        return time.time()

    def done(since: float) -> None:
        print(f'[demo_transfer]   done in {time.time() - since:.0f} s', flush=True)

    # 1. Dense pre-training on the source task.
    t = step(f'1/3 pre-training on digits 0-4 ({args.pretrain_epochs} epochs)')
    train(PRETRAIN, work_dir / 'pretrain', common + schedule(args.pretrain_epochs))
    last = work_dir / 'pretrain' / f'epoch_{args.pretrain_epochs}.pth'
    pretrained = work_dir / 'pretrained.pth'
    checkpoint = load_local_checkpoint(str(last), map_location='cpu')  # our own file
    buffer = io.BytesIO()
    torch.save({'state_dict': checkpoint['state_dict'],
                'meta': {'source': str(last), 'digits': [0, 1, 2, 3, 4]}}, buffer)
    atomic_write_bytes(pretrained, buffer.getvalue())
    done(t)

    # 2. IMP on the source task, rewinding to the pre-trained weights.
    final = 1 - (1 - args.rate) ** args.rounds
    t = step(f'2/3 IMP on digits 0-4: {args.rounds} rounds of {args.rate:.0%} '
             f'(to {final:.2%} sparsity), {args.epochs} epochs a round, rewind pt_trans')
    train(IMP, work_dir / 'imp', common + schedule(args.epochs) + [
        f'load_from={pretrained}', f'custom_hooks.0.rounds={args.rounds}',
        f'custom_hooks.0.rate={args.rate}'])
    source_rows = read_summary(work_dir / 'imp')
    imp_dir = work_dir / 'imp' / 'imp' / 'tickets'
    done(t)

    # 3. Transfer to the target task.
    random_paths = make_random_tickets(imp_dir, work_dir / 'random_tickets', args.transfer_rounds,
                                       pretrained, args.seed, WIDTH8 if args.quick else ())
    tool = _test_tool()
    options = common + schedule(args.epochs)
    jobs = [('imp', 0, imp_dir / 'round_00.safetensors')]
    for rnd in args.transfer_rounds:
        jobs += [('imp', rnd, imp_dir / f'round_{rnd:02d}.safetensors'),
                 ('random', rnd, random_paths[rnd])]
    if not args.no_scratch:
        jobs.append(('scratch', 0, None))
    runs: Dict[str, List[Dict[str, Any]]] = {'imp': [], 'random': [], 'scratch': []}
    (work_dir / 'transfer').mkdir(parents=True, exist_ok=True)
    with open(work_dir / 'transfer' / 'tests.log', 'w') as test_log:
        for index, (kind, rnd, ticket) in enumerate(jobs, 1):
            name = 'dense' if kind == 'imp' and rnd == 0 else f'{kind}_round_{rnd:02d}'
            what = {'imp': f'IMP ticket of round {rnd}', 'random': f'random ticket, round {rnd}',
                    'scratch': 'dense, from scratch'}[kind]
            if kind == 'imp' and rnd == 0:
                what = 'dense fine-tuning (round-0 ticket)'
            t = step(f'3/3 digits 5-9 [{index}/{len(jobs)}]: {what} ({args.epochs} epochs)')
            row = fine_tune(tool, name, work_dir / 'transfer' / name,
                            None if kind == 'scratch' else pretrained, ticket, options, test_log)
            row['round'] = rnd
            runs[kind].append(row)
            if kind == 'imp' and rnd == 0:
                runs['random'].append(dict(row))  # sparsity 0: both curves start at the dense run
            print(f'[demo_transfer]   sparsity {row["sparsity"]:.2%}: test '
                  f'{row["test_metric"]:.2f} at best val {row["best_val_metric"]:.2f} (epoch '
                  f'{row["best_epoch"]}); {time.time() - t:.0f} s', flush=True)
    if args.no_scratch:
        runs.pop('scratch')

    report = {LABELS[k]: v for k, v in runs.items()}
    chosen = set(args.transfer_rounds) | {0}
    # IMPHook counts epochs over the whole search; report them within the round, as the others.
    report[LABELS['source']] = [dict(r, best_epoch=r['best_epoch'] - int(r['round']) * args.epochs)
                                for r in source_rows if int(r['round']) in chosen]
    table = format_table(report)
    wall = time.time() - started
    notes = (
        'Test accuracy (%) at the best-validation epoch. Columns 1-3: digits 5-9, fine-tuned once '
        f'({args.epochs} epochs) from the dense weights pre-trained on digits 0-4 with the IMP '
        'ticket of that round (found on 0-4 with rewinding to the pre-trained weights) or a '
        'random ticket of the same sparsity; round 0 is dense fine-tuning (both ticket columns '
        'show the same run); "from scratch" is dense training on 5-9 from a random '
        'initialisation. Last column: the IMP round on the source task itself (digits 0-4).')
    settings = (f'pre-training {args.pretrain_epochs} epochs; IMP {args.rounds} rounds x '
                f'{args.rate:.0%}, {args.epochs} epochs a round; seed {args.seed}'
                + ('; --quick (width 8)' if args.quick else '') + f'; wall time {wall:.0f} s')
    atomic_write_text(work_dir / 'summary.md',
                      '# Ticket transfer: digits 0-4 -> digits 5-9, ResNet-18 (width '
                      f'{8 if args.quick else 32})\n\n{notes}\n\n```\n{table}\n```\n\n'
                      f'Settings: {settings}\n')
    atomic_write_text(work_dir / 'summary.csv', runs_csv(
        report, ('round', 'sparsity', 'best_epoch', 'best_val_metric', 'test_metric')))
    plot_runs({k: v for k, v in report.items() if k != LABELS['source']},
              work_dir / 'transfer_curve.png',
              title='Digits 0-4 -> 5-9: transferred IMP ticket vs random ticket')
    print('\n' + notes + '\n\n' + table)
    print(f'\n[demo_transfer] {settings}')
    print(f'[demo_transfer] wrote {work_dir / "summary.csv"}, {work_dir / "summary.md"}, '
          f'{work_dir / "transfer_curve.png"}')
    return report


if __name__ == '__main__':
    main()
