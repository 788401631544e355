"""Ticket tools: inspect, compare, convert tickets and plot ticket searches.

Examples::

    python tools/ticket.py info work_dirs/imp/imp/tickets/round_05.safetensors [--layers]
    python tools/ticket.py info work_dirs/transfer/epoch_182.pth   # the ticket it trained under
    python tools/ticket.py compare A.safetensors B.safetensors [--layers]
    python tools/ticket.py convert mask.pth.tar ticket.safetensors [--dst-scheme mmpretrain]
    python tools/ticket.py convert ticket.safetensors mask.pth.tar   # to torch.nn.utils.prune
    python tools/ticket.py plot work_dirs/imp work_dirs/random --labels IMP random --out curve.png
    python tools/ticket.py report imagenet.safetensors moco.pth.tar --labels ImageNet MoCo --out rep
    python tools/ticket.py results work_dirs/imp_search work_dirs/transfers --out results

Wherever a ticket is read, an lth_mm checkpoint (of a run under ``TicketHook`` or ``IMPHook``, or
IMP's ``round_XX_best.pth``) stands for the ticket it records. Checkpoints and the original
code's mask files are PyTorch pickles: they are read as plain data only
(``torch.load(weights_only=True)`` and a small allow-list); a file that would need full
unpickling, which runs code from it, is refused unless ``--allow-pickle`` is given for a file
you trust. Errors in the input end with a one-line message and exit status 1, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth_mm.core import Ticket  # noqa: E402


def read(path: str, args: argparse.Namespace) -> Ticket:
    """A ticket file, the ticket an lth_mm checkpoint records, or an original-code mask file."""
    from lth_mm.compat import read_ticket

    return read_ticket(path, args.allow_pickle)


def cmd_info(args: argparse.Namespace) -> None:
    ticket = read(args.ticket, args)
    print(f'{args.ticket}: {len(ticket)} masks, {ticket.numel:,} weights, kept {ticket.kept:,}, '
          f'sparsity {100 * ticket.sparsity:.2f} %, digest {ticket.digest()}')
    print(json.dumps(ticket.card, indent=1, sort_keys=True))
    if args.layers:
        for row in ticket.layer_table():
            print(f'{row["name"]:<50} {str(row["shape"]):<22} {row["numel"]:>10,} '
                  f'{100 * row["sparsity"]:>7.2f} %')


def cmd_compare(args: argparse.Namespace) -> None:
    from lth_mm.analysis.inputs import align_tickets

    # keys of another scheme (an original-format export, bare torchvision names) are mapped onto
    # the first ticket's, as the report does
    first, second = align_tickets([read(args.first, args),
                                   read(args.second, args)],
                                  [args.first, args.second])
    overlap = first.overlap(second)
    print(f'sparsity {100 * first.sparsity:.2f} % vs {100 * second.sparsity:.2f} %; '
          f'IoU of kept weights {overlap.overall:.4f}; equal: {first == second}')
    if args.layers:
        for name, iou in overlap.per_layer.items():
            print(f'{name:<50} {iou:.4f}')


def cmd_convert(args: argparse.Namespace) -> None:
    import torch

    from lth_mm.core import keymap
    from lth_mm.core.atomic import atomic_write_bytes

    if not args.dst or Path(args.dst).is_dir():
        raise ValueError(f'the destination {args.dst!r} must be a file name (NAME.safetensors '
                         'for lth_mm, any other name for a torch.nn.utils.prune mask file)')
    if args.src_scheme is not None and not args.dst_scheme:
        raise ValueError(f'--src-scheme {args.src_scheme} names the scheme to convert from: give '
                         '--dst-scheme too (without it the keys are written as they are)')
    ticket = read(args.src, args)
    if args.dst_scheme:
        ticket, report = keymap.convert_ticket(ticket, dst=args.dst_scheme,
                                               src=args.src_scheme or 'auto')
        print(report.summary())
    if args.dst.endswith('.safetensors'):
        (ticket.add_prefix(args.prefix) if args.prefix else ticket).save(args.dst)
    else:
        import io
        buffer = io.BytesIO()
        torch.save({'state_dict': ticket.to_torch_prune(prefix=args.prefix)}, buffer)
        atomic_write_bytes(args.dst, buffer.getvalue())
    print(f'wrote {args.dst}: {len(ticket)} masks, sparsity {100 * ticket.sparsity:.2f} %')


def _work_dir(run: str) -> Path:
    """The work dir of a search given as its work dir, its ``imp`` folder or its summary."""
    path = Path(os.path.abspath(run))
    if path.name == 'summary.json':
        path = path.parent
    return path.parent if path.name == 'imp' else path


def cmd_plot(args: argparse.Namespace) -> None:
    from lth_mm.analysis.inputs import checked_labels
    from lth_mm.engine.round_report import format_table, plot_runs, read_summary
    labels = checked_labels([_work_dir(run) for run in args.runs], args.labels, 'runs')
    runs = {label: read_summary(run) for label, run in zip(labels, args.runs)}
    print(format_table(runs))
    plot_runs(runs, args.out, title=args.title)
    print(f'wrote {args.out}')


def cmd_report(args: argparse.Namespace) -> None:
    from lth_mm.analysis import console_summary, write_report
    analysis, written = write_report(args.tickets, args.out, labels=args.labels,
                                     layer=args.layer, block=args.block,
                                     allow_pickle=args.allow_pickle)
    print(console_summary(analysis))
    print(f'wrote {written[-1]} ({len(written) - 1} more files beside it)')


def cmd_results(args: argparse.Namespace) -> None:
    from lth_mm.engine.results_files import results_markdown, unfinished_text, write_results
    results, written = write_results(args.work_dirs, args.out, title=args.title)
    text = results_markdown(results, args.title)
    print(text.split('\n## Columns')[0].rstrip())
    for item in results.unfinished:
        print(f'not finished: {item["run"]}: {unfinished_text(item)}')
    for item in results.unplaced:
        print(f'not in the table: {item["run"]}: {item["reason"]}')
    print(f'{len(results.runs)} runs; wrote {written[-1]} ({len(written) - 1} more files beside '
          'it)')


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    reads = argparse.ArgumentParser(add_help=False)
    reads.add_argument('--allow-pickle', action='store_true',
                       help="read checkpoints and the original code's mask files by full "
                       'unpickling, which runs code from them: only for files you trust')
    info = sub.add_parser('info', parents=[reads],
                          help='card, sparsity and per-layer table of a ticket')
    info.add_argument('ticket')
    info.add_argument('--layers', action='store_true', help='print the per-layer table')
    info.set_defaults(func=cmd_info)
    compare = sub.add_parser('compare', parents=[reads],
                             help='mask similarity (IoU) of two tickets')
    compare.add_argument('first')
    compare.add_argument('second')
    compare.add_argument('--layers', action='store_true', help='print the IoU per layer')
    compare.set_defaults(func=cmd_compare)
    convert = sub.add_parser('convert', parents=[reads],
                             help='between lth_mm files (.safetensors) and the original code\'s '
                             'mask files (anything else), optionally renaming keys')
    convert.add_argument('src')
    convert.add_argument('dst')
    convert.add_argument('--dst-scheme', help='key scheme to convert to (lth_mm.core.keymap)')
    convert.add_argument('--src-scheme', help="key scheme of the source, with --dst-scheme "
                         "(default: 'auto', detected)")
    convert.add_argument('--prefix', default='', help="prefix for the keys written, after any "
                         "scheme conversion ('module.', 'backbone.')")
    convert.set_defaults(func=cmd_convert)
    plot = sub.add_parser('plot', help='metric vs remaining weights of one or more searches')
    plot.add_argument('runs', nargs='+', help='work dirs (or summary.json files) of searches')
    plot.add_argument('--labels', nargs='+')
    plot.add_argument('--out', default='sparsity_curve.png')
    plot.add_argument('--title', default='')
    plot.set_defaults(func=cmd_plot)
    report = sub.add_parser('report', parents=[reads],
                            help='figures and report.md on tickets of one architecture: layer '
                            'profile, overlap and 3x3 kernel structure against chance')
    report.add_argument('tickets', nargs='+', help="lth_mm tickets or the original's mask files")
    report.add_argument('--labels', nargs='+', help='one per ticket (default: file names)')
    report.add_argument('--out', required=True, help='output folder')
    report.add_argument('--layer', help='3x3 conv of the kernel-pattern figure (default: the '
                        'first 3x3 conv of layer3)')
    report.add_argument('--block', type=int, default=16,
                        help='kernels per side in the kernel-pattern figure')
    report.set_defaults(func=cmd_report)
    results = sub.add_parser('results', help='one table (CSV, markdown) and plot over IMP searches '
                             'and ticket transfers: rows = source tickets, columns = tasks')
    results.add_argument('work_dirs', nargs='+', metavar='WORK_DIR',
                         help='work dirs of IMPHook / TicketHook runs, or folders holding them')
    results.add_argument('--out', required=True, help='output folder')
    results.add_argument('--title', default='Results across runs')
    results.set_defaults(func=cmd_results)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    # Bad input: a message, no traceback. lth_mm's own input errors (TicketFileError,
    # UnsafeFileError, KeyMapError, a PyTorch file that is not readable) are ValueErrors; a
    # damaged file never reaches here as torch's own error (load_torch_file wraps them all).
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise SystemExit(f'ticket.py {args.command}: {err}') from None


if __name__ == '__main__':
    main()
