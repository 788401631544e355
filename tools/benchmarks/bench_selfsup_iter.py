"""Benchmark: the cost of a ticket in a MoCo v2 iteration (issue "Self-supervised tickets").

MMPretrain's MoCo v2 of ``configs/selfsup/mocov2/imp_mocov2_resnet50_8xb32_in1k.py`` (ResNet-50,
MLP neck, momentum encoder, queue), random 2-view batches at ``--size`` pixels, MMEngine's
``OptimWrapper`` and the model's own ``train_step`` (forward of both encoders, the momentum update,
backward, SGD step), in one process, in alternating blocks of ``--block`` iterations so that load
changes hit both variants alike:

- ``dense``: no ticket (the baseline);
- ``ticket``: an 80 %-sparse ticket of the backbone held by lth_mm's ``TicketEnforcingHook`` code
  path: bound once (online and momentum encoder masked), then one fused mask multiplication of
  the online backbone after every step (``after_train_iter``). The momentum encoder needs none:
  its update copies or moves towards the masked online weights, so its zeros stay zero.

Printed: median time per iteration of each variant and their ratio; the same ratio paired, per
pair of neighbouring blocks (median and range over the pairs: the machine's drift between pairs
cancels); the after-step hook's own time, measured around the call, as a share of a dense
iteration (unlike the ratios, it does not move with the machine's speed); and the time one extra
masking of the momentum encoder would take per iteration (what masking it every step would
cost), as a fraction of a dense iteration.

Run: ``.venv/bin/python tools/benchmarks/bench_selfsup_iter.py [--iters N] [--size S]``.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_line, table  # noqa: E402

CONFIG = ROOT / 'configs' / 'selfsup' / 'mocov2' / 'imp_mocov2_resnet50_8xb32_in1k.py'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--iters', type=int, default=24, help='timed iterations per variant')
    parser.add_argument('--block', type=int, default=4, help='iterations per alternating block')
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--size', type=int, default=64, help='input side in pixels')
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()

    import torch
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    import lth_mm  # noqa: F401
    from lth_mm.core import PruneScope, Ticket
    from lth_mm.hooks.enforce import TicketEnforcingHook

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(str(CONFIG))
    cfg.model.backbone.init_cfg = None
    cfg.model.neck.init_cfg = None
    cfg.model.queue_len = args.batch * 8
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    ticket = Ticket.dense(model, PruneScope(prefix='backbone.')).prune(model, 0.8)
    hook = TicketEnforcingHook()
    runner = types.SimpleNamespace(model=model)

    def batch() -> dict:
        views = [torch.randint(0, 256, (args.batch, 3, args.size, args.size), dtype=torch.uint8)
                 for _ in range(2)]
        return dict(inputs=views, data_samples=[None] * args.batch)

    hook_times = []

    def step(masked: bool) -> float:
        data = batch()
        start = time.perf_counter()
        model.train_step(data, optim_wrapper=wrapper)
        if masked:
            stamp = time.perf_counter()
            hook.after_train_iter(runner, 0)
            hook_times.append(time.perf_counter() - stamp)
        return time.perf_counter() - start

    times = {'dense': [], 'ticket': []}
    for _ in range(2):  # warm-up
        step(False)
    hook.set_ticket(runner, ticket)
    copies, paired = [], []
    while len(times['ticket']) < args.iters:
        for name in ('dense', 'ticket'):
            for _ in range(args.block):
                times[name].append(step(name == 'ticket'))
        paired.append(statistics.median(times['ticket'][-args.block:])
                      / statistics.median(times['dense'][-args.block:]))
        start = time.perf_counter()
        hook._copies()
        copies.append(time.perf_counter() - start)
    params = dict(model.named_parameters())
    assert all(torch.count_nonzero(params[k].detach()[~m]) == 0 for k, m in ticket.items())

    dense = statistics.median(times['dense'])
    ticket_time = statistics.median(times['ticket'])
    copy_time = statistics.median(copies)
    hook_time = statistics.median(hook_times)
    print(machine_line(args.threads))
    print(f'MoCo v2, ResNet-50, batch {args.batch} x 2 views at {args.size} px, '
          f'{args.iters} iterations per variant in blocks of {args.block}; ticket 80 % sparse '
          f'({len(ticket)} backbone convs, {len(hook._copies.params)} momentum-encoder copies)')
    print(table(('variant', 'time / iteration', 'vs dense'), [
        ('dense', f'{1000 * dense:.1f} ms', '1.000'),
        ('ticket (online masked every step)', f'{1000 * ticket_time:.1f} ms',
         f'{ticket_time / dense:.3f}; paired {statistics.median(paired):.3f} '
         f'({min(paired):.3f}-{max(paired):.3f})'),
        ('  of which the after-step hook', f'{1000 * hook_time:.2f} ms',
         f'+{hook_time / dense:.4f} of a dense iteration'),
        ('  + masking the momentum encoder too', f'{1000 * copy_time:.2f} ms',
         f'+{copy_time / dense:.4f} (not paid: masked once per binding)'),
    ]))


if __name__ == '__main__':
    main()
