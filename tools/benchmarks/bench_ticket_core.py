"""Benchmark of lth_mm's ticket core against ``torch.nn.utils.prune`` (issue "Ticket core").

Three measurements on a torchvision ResNet-50 (default ``PruneScope``: the 52 conv weights but
the stem, 23,445,504 weights), CPU only:

(a) Global magnitude pruning, ``--rounds`` rounds of ``--rate``: lth_mm
    (``ticket = ticket.prune(model, rate); ticket.apply_(model)``) against
    ``prune.global_unstructured(..., prune.L1Unstructured, amount=rate)`` on an identical deep copy.
    Between rounds the surviving weights of both models get the same small perturbation (a
    stand-in for training) and the masks are applied. Reports the time per round, the ratio
    torch / lth_mm (> 1: lth_mm is faster), whether the masks are equal, and how many repeats had a
    tie across the threshold (the case lth_mm hands to ``torch.topk``, as torch does; these rounds
    are slower, so the rounds with and without a tie are also summarised apart; the 'all' row is
    the median over repeats of the summed rounds).
(b) Ticket file size in bits per prunable weight: lth_mm's safetensors file (``ticket.save``)
    against the original format (``torch.save`` of the float ``*.weight_mask`` dict of
    ``ticket.to_torch_prune()``), and for reference the original's full checkpoint
    (``weight_orig`` + ``weight_mask`` pairs) and the dense ``state_dict``.
(c) Mask application against one dense SGD step (forward + backward + ``optimizer.step``, momentum
    0.9, weight decay 5e-4) of ResNet-50 at 32x32, batch 32: ``ticket.apply_(model)`` and the
    reused ``MaskApplier`` of ``ticket.bind(model)`` (what the hooks run after every iteration).

Run: ``.venv/bin/python tools/benchmarks/bench_ticket_core.py [--repeats N] [--threads T]``.
Timings are medians over repeats; the spread (min-max) is printed beside them because the machine
may be shared. Measurements are interleaved (lth_mm, torch, lth_mm, ...) so that load changes hit
both sides alike. Ratios are given for wall-clock time and for the process's CPU time
(``time.process_time``): with one torch thread the CPU time is what the wall time would be on an
idle machine, so it is the steadier figure when other processes load the CPU.
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch.nn.utils import prune

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_line, table  # noqa: E402

from lth_mm.core import Ticket, count_to_prune  # noqa: E402


# Helpers ---------------------------------------------------------------------------------------
def spread(values: Sequence[float], scale: float = 1.0, digits: int = 3) -> str:
    """'median (min-max)' of ``values * scale``."""
    vals = [v * scale for v in values]
    return (f'{statistics.median(vals):.{digits}f} '
            f'({min(vals):.{digits}f}-{max(vals):.{digits}f})')


def timed(fn: Callable[[], object], wall: list[float], cpu: list[float]) -> None:
    """Run ``fn``; append its wall-clock time to ``wall`` and its process CPU time to ``cpu``."""
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    wall.append(time.perf_counter() - start)
    cpu.append(time.process_time() - start_cpu)


def ratio(num: Sequence[float], den: Sequence[float]) -> float:
    return statistics.median(num) / statistics.median(den)


def threshold_tie(model: torch.nn.Module, ticket: Ticket, rate: float) -> bool:
    """Whether pruning ``rate`` of ``ticket``'s alive weights of ``model`` meets a tie."""
    params = dict(model.named_parameters())
    alive = np.concatenate([params[n].detach().abs().reshape(-1).numpy()[m.reshape(-1).numpy()]
                            for n, m in ticket.items()])
    k = count_to_prune(rate, alive.size)
    threshold = np.partition(alive, k - 1)[k - 1]
    return int(np.count_nonzero(alive <= threshold)) != k


# (a) pruning rounds ----------------------------------------------------------------------------
def bench_prune(args: argparse.Namespace) -> tuple[str, Ticket, torch.nn.Module]:
    rounds = args.rounds
    lth_times, lth_cpu = [[] for _ in range(rounds)], [[] for _ in range(rounds)]
    torch_times, torch_cpu = [[] for _ in range(rounds)], [[] for _ in range(rounds)]
    equal = [[] for _ in range(rounds)]
    same_weights = [[] for _ in range(rounds)]
    ties = [0] * rounds
    by_tie: dict[bool, tuple[list[float], list[float]]] = {False: ([], []), True: ([], [])}
    sparsity = [0.0] * rounds
    ticket = model = None
    for rep in range(args.repeats):
        torch.manual_seed(args.seed + rep)
        model = torchvision.models.resnet50()
        ref = copy.deepcopy(model)
        ticket = Ticket.dense(model)
        modules = dict(ref.named_modules())
        params = [(modules[name[:-len('.weight')]], 'weight') for name in ticket]
        for rnd in range(rounds):
            tie = threshold_tie(model, ticket, args.rate)
            ties[rnd] += tie
            holder = {}

            def lth_round(holder=holder, ticket=ticket, model=model):
                holder['ticket'] = ticket.prune(model, args.rate)
                holder['ticket'].apply_(model)

            def torch_round(params=params):
                prune.global_unstructured(params, pruning_method=prune.L1Unstructured,
                                          amount=args.rate)

            # alternate which side runs first, so neither always meets a cold cache
            if (rep + rnd) % 2 == 0:
                timed(lth_round, lth_times[rnd], lth_cpu[rnd])
                timed(torch_round, torch_times[rnd], torch_cpu[rnd])
            else:
                timed(torch_round, torch_times[rnd], torch_cpu[rnd])
                timed(lth_round, lth_times[rnd], lth_cpu[rnd])
            ticket = holder['ticket']
            sparsity[rnd] = ticket.sparsity
            by_tie[tie][0].append(lth_times[rnd][-1])
            by_tie[tie][1].append(torch_times[rnd][-1])
            equal[rnd].append(all(torch.equal(ticket[name], module.weight_mask.bool())
                                  for name, (module, _) in zip(ticket, params)))
            perturb(model, ref, ticket, params, args.noise, seed=1000 * rep + rnd)
            same_weights[rnd].append(all(
                torch.equal(dict(model.named_parameters())[name], module.weight)
                for name, (module, _) in zip(ticket, params)))
    rows = []
    for rnd in range(rounds):
        rows.append([rnd + 1, f'{sparsity[rnd]:.4f}', spread(lth_times[rnd]),
                     spread(torch_times[rnd]), f'{ratio(torch_times[rnd], lth_times[rnd]):.2f}x',
                     f'{ratio(torch_cpu[rnd], lth_cpu[rnd]):.2f}x',
                     'yes' if all(equal[rnd]) else f'NO ({sum(equal[rnd])}/{args.repeats})',
                     f'{ties[rnd]}/{args.repeats}',
                     'yes' if all(same_weights[rnd]) else 'NO'])
    def total(times: list[list[float]]) -> list[float]:
        return [sum(t[r] for t in times) for r in range(args.repeats)]

    rows.append(['all', '', spread(total(lth_times)), spread(total(torch_times)),
                 f'{ratio(total(torch_times), total(lth_times)):.2f}x',
                 f'{ratio(total(torch_cpu), total(lth_cpu)):.2f}x', '', '', ''])
    for tie, label in ((False, 'no tie'), (True, 'tie')):
        lth, ref = by_tie[tie]
        if lth:
            rows.append([label, f'{len(lth)} rounds', spread(lth), spread(ref),
                         f'{ratio(ref, lth):.2f}x', '', '', '', ''])
    text = table(['round', 'sparsity', 'lth_mm s (min-max)', 'torch prune s (min-max)',
                  'torch/lth_mm wall', 'CPU', 'masks equal', 'tie at thr.', 'same weights'],
                 rows)
    header = (f'(a) global magnitude pruning, torchvision ResNet-50, {len(ticket)} conv weights '
              f'({ticket.numel:,} weights), rate {args.rate}, {rounds} rounds, '
              f'{args.repeats} repeats (median, min-max)\n'
              '    lth_mm = ticket.prune(model, rate) + ticket.apply_(model); torch = '
              'prune.global_unstructured(L1Unstructured); goal: torch/lth_mm > 1, masks equal')
    return f'{header}\n{text}', ticket, model


@torch.no_grad()
def perturb(model: torch.nn.Module, ref: torch.nn.Module, ticket: Ticket,
            params: list, noise: float, seed: int) -> None:
    """Add the same relative noise to both models' surviving weights, then mask them."""
    gen = torch.Generator().manual_seed(seed)
    mine = dict(model.named_parameters())
    for name, (module, _) in zip(ticket, params):
        weight = mine[name]
        step = torch.randn(weight.shape, generator=gen) * (noise * float(weight.std()))
        weight.add_(step)
        module.weight_orig.add_(step)
        # torch.nn.utils.prune recomputes weight = weight_orig * weight_mask before each forward
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, prune.BasePruningMethod):
                hook(module, None)
    ticket.apply_(model)


# (b) file sizes --------------------------------------------------------------------------------
def bench_files(ticket: Ticket, model: torch.nn.Module) -> str:
    numel = ticket.numel
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ticket.save(tmp / 'ticket.safetensors')
        torch.save(ticket.to_torch_prune(), tmp / 'masks.pth')
        ref = copy.deepcopy(model)
        modules = dict(ref.named_modules())
        for name, mask in ticket.items():
            prune.custom_from_mask(modules[name[:-len('.weight')]], 'weight', mask)
        torch.save(ref.state_dict(), tmp / 'pruned_checkpoint.pth')
        torch.save(model.state_dict(), tmp / 'dense_state_dict.pth')
        back = Ticket.load(tmp / 'ticket.safetensors')
        assert back == ticket, 'ticket file does not round-trip'
        sizes = {p.name: p.stat().st_size for p in tmp.iterdir()}
    original = sizes['masks.pth']
    rows = []
    for label, key in (('lth_mm ticket (safetensors, bit-packed)', 'ticket.safetensors'),
                       ('original masks (torch.save float *.weight_mask)', 'masks.pth'),
                       ('original checkpoint (weight_orig + weight_mask)',
                        'pruned_checkpoint.pth'),
                       ('reference: dense state_dict (torch.save)', 'dense_state_dict.pth')):
        size = sizes[key]
        rows.append([label, f'{size:,}', f'{8 * size / numel:.4f}', f'{size / original:.4f}'])
    header = (f'(b) ticket file size, ResNet-50 ticket at sparsity {ticket.sparsity:.4f}, '
              f'{numel:,} prunable weights; goal: lth_mm <= 1.02 bits/weight')
    return f'{header}\n' + table(['file', 'bytes', 'bits/weight', 'vs original masks'], rows)


# (c) mask application vs one SGD step ----------------------------------------------------------
def bench_apply(args: argparse.Namespace) -> str:
    torch.manual_seed(args.seed)
    model = torchvision.models.resnet50(num_classes=10)
    ticket = Ticket.dense(model).prune_to(model, args.sparsity)
    ticket.apply_(model)
    applier = ticket.bind(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(args.seed)
    inputs = torch.randn(args.batch, 3, args.size, args.size, generator=gen)
    labels = torch.randint(0, 10, (args.batch,), generator=gen)
    model.train()

    def sgd_step():
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(inputs), labels).backward()
        optimizer.step()

    for _ in range(args.warmup):
        sgd_step()
        applier()
    ops = {'dense SGD step (fwd+bwd+step)': sgd_step,
           'MaskApplier() (bind once, per step: hooks)': applier,
           'ticket.apply_(model)': lambda: ticket.apply_(model),
           'ticket.bind(model) (once per ticket)': lambda: ticket.bind(model)}
    wall = {k: [] for k in ops}
    cpu = {k: [] for k in ops}
    for _ in range(args.steps):  # interleaved: step, applier, apply_, bind, step, ...
        for key, op in ops.items():
            timed(op, wall[key], cpu[key])
    step = next(iter(ops))
    rows = [[key, spread(wall[key], 1e3, 1), spread(cpu[key], 1e3, 1),
             f'{100 * ratio(wall[key], wall[step]):.2f} %',
             f'{100 * ratio(cpu[key], cpu[step]):.2f} %'] for key in ops]
    header = (f'(c) mask application vs one dense SGD step, torchvision ResNet-50 (10 classes), '
              f'{args.size}x{args.size}, batch {args.batch}, SGD momentum 0.9 wd 5e-4, ticket '
              f'sparsity {ticket.sparsity:.4f}, {args.steps} steps after {args.warmup} warm-up '
              '(median, min-max); goal <= 3 %')
    return f'{header}\n' + table(['operation', 'wall ms (min-max)', 'CPU ms (min-max)',
                                  'of a step (wall)', '(CPU)'], rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--repeats', type=int, default=5,
                        help='(a): independent runs of all rounds (fresh model each)')
    parser.add_argument('--rounds', type=int, default=3, help='(a): pruning rounds')
    parser.add_argument('--rate', type=float, default=0.2, help='(a): rate per round')
    parser.add_argument('--noise', type=float, default=0.05,
                        help='(a): perturbation between rounds, relative to each layer\'s std')
    parser.add_argument('--steps', type=int, default=20, help='(c): timed SGD steps')
    parser.add_argument('--warmup', type=int, default=2, help='(c): untimed SGD steps first')
    parser.add_argument('--batch', type=int, default=32, help='(c): batch size')
    parser.add_argument('--size', type=int, default=32, help='(c): input side')
    parser.add_argument('--sparsity', type=float, default=0.8, help='(c): ticket sparsity')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads (1: steadiest on a shared machine; 0: torch default)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--skip', nargs='*', default=(), choices=('a', 'b', 'c'),
                        help='parts to skip ((b) needs (a))')
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    print(f'bench_ticket_core: {machine_line(torch.get_num_threads())}', flush=True)
    if 'a' not in args.skip:
        text, ticket, model = bench_prune(args)
        print(f'\n{text}', flush=True)
        if 'b' not in args.skip:
            print(f'\n{bench_files(ticket, model)}', flush=True)
    if 'c' not in args.skip:
        print(f'\n{bench_apply(args)}', flush=True)
    print(f'\ndone in {time.perf_counter() - start:.0f} s; load average now '
          f'{" ".join(f"{x:.1f}" for x in os.getloadavg())}')


if __name__ == '__main__':
    main()
