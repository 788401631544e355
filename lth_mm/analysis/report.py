"""The ticket report: read and align tickets, compute, render, then write everything at once.

:func:`write_report` checks all input (files, labels, architectures, the output folder, the
pattern layer) and renders every figure and text in memory before it creates the output folder;
each file is then written atomically, ``report.md`` last.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core import Ticket
from ..core.atomic import atomic_write_bytes
from ..core.keymap import KeyMapError, detect_scheme
from . import figures
from .inputs import ReportInputError, align_tickets, checked_labels, read_ticket
from .stats import KernelStats, MaskSet, Overlap, choose_layer, kernel_stats, overlap
from .text import report_json, report_markdown

__all__ = ['Analysis', 'analyse', 'render', 'write_report']

PathLike = str | os.PathLike


@dataclass
class Analysis:
    """All numbers of a report.

    Attributes:
        files: The ticket files, as given.
        tickets: The tickets as read (before key mapping: their digests identify the files).
        scheme: The key scheme of the first ticket, onto which the others were mapped.
        masks: The aligned masks.
        overlap: Pairwise IoU against chance (``None`` for a single ticket).
        kernels: 3x3 kernel structure (``None`` without 3x3 convs).
        layer: The 3x3 layer of the kernel-pattern figure (``None`` without 3x3 convs).
        block: Kernels per side of that figure.
    """

    files: list[str]
    tickets: list[Ticket]
    scheme: str
    masks: MaskSet
    overlap: Overlap | None
    kernels: KernelStats | None
    layer: str | None
    block: int


def _check_labels(paths: Sequence[PathLike], labels: Sequence[str] | None) -> list[str]:
    if not paths:
        raise ReportInputError('no ticket files given')
    return checked_labels(paths, labels)


def analyse(paths: Sequence[PathLike], labels: Sequence[str] | None = None,
            layer: str | None = None, block: int = 16, allow_pickle: bool = False) -> Analysis:
    """Read, align and measure tickets of one architecture (nothing is written).

    Args:
        paths: lth_mm ticket files or the original code's mask files.
        labels: One per ticket; default: the file names (with parent folders where needed).
        layer: The 3x3 conv layer of the kernel-pattern figure (a name or its tail); default:
            the first 3x3 conv of ``layer3``.
        block: Kernels per side shown in that figure.
        allow_pickle: Read original-code files that need full unpickling (runs code from them:
            trusted files only).

    Raises:
        ReportInputError: bad files, labels, layer or block, or tickets of other architectures.
    """
    labels = _check_labels(paths, labels)
    if block < 1:
        raise ReportInputError(f'--block must be at least 1, got {block}')
    files = [str(p) for p in paths]
    tickets = [read_ticket(p, allow_pickle) for p in paths]
    aligned = align_tickets(tickets, files)
    try:
        scheme = detect_scheme(aligned[0])
    except KeyMapError:
        scheme = 'unknown'
    masks = MaskSet.from_tickets(dict(zip(labels, aligned)))
    kernels = kernel_stats(masks)
    if kernels is None:
        if layer is not None:
            raise ReportInputError(f'--layer {layer!r}: the tickets have no 3x3 conv masks')
        chosen = None
    else:
        try:
            chosen = choose_layer(kernels.layers, layer)
        except ValueError as err:
            raise ReportInputError(str(err)) from err
    return Analysis(files, tickets, scheme, masks, overlap(masks) if len(tickets) > 1 else None,
                    kernels, chosen, block)


#: Every file a report may hold (which ones depends on the tickets: :func:`render`).
REPORT_FILES = ('layer_profile.png', 'overlap.png', 'overlap_layers.png', 'kernel_histogram.png',
                'kernel_removal.png', 'kernel_patterns.png', 'report.json', 'report.md')


def render(analysis: Analysis) -> dict[str, bytes]:
    """Every file of the report by name (figures, ``report.json``, ``report.md``), in memory."""
    ms = analysis.masks
    files = {'layer_profile.png': figures.layer_profile_png(ms)}
    if analysis.overlap is not None:
        files['overlap.png'] = figures.overlap_png(ms, analysis.overlap)
        files['overlap_layers.png'] = figures.layer_overlap_png(ms, analysis.overlap)
    if analysis.kernels is not None:
        files['kernel_histogram.png'] = figures.kernel_histogram_png(analysis.kernels, ms.labels)
        files['kernel_removal.png'] = figures.kernel_removal_png(analysis.kernels, ms.labels)
        files['kernel_patterns.png'] = figures.kernel_patterns_png(
            ms, analysis.kernels, analysis.layer, analysis.block)
    files['report.json'] = report_json(analysis).encode()
    files['report.md'] = report_markdown(analysis, list(files)).encode()
    return files


def write_report(paths: Sequence[PathLike], out: PathLike, labels: Sequence[str] | None = None,
                 layer: str | None = None, block: int = 16, allow_pickle: bool = False
                 ) -> tuple[Analysis, list[Path]]:
    """Write the ticket report (PNG figures, ``report.md``, ``report.json``) into ``out``.

    Args:
        paths, labels, layer, block, allow_pickle: See :func:`analyse`.
        out: The output folder (created; an earlier report's files in it are replaced, and
            where it held a report (``report.json``), those this report has not are removed:
            :data:`REPORT_FILES`; other files are left alone).

    Returns:
        The analysis and the paths written (``report.md`` last).

    Raises:
        ReportInputError: before anything is written, for any bad input.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ReportInputError(f'--out {out} exists and is not a folder')
    analysis = analyse(paths, labels, layer, block, allow_pickle)
    files = render(analysis)
    earlier = (out / 'report.json').is_file()  # the folder holds a report already
    written = [atomic_write_bytes(out / name, data) for name, data in files.items()
               if name != 'report.md']
    for name in set(REPORT_FILES) - set(files) if earlier else ():  # its files, not this one's
        (out / name).unlink(missing_ok=True)
    written.append(atomic_write_bytes(out / 'report.md', files['report.md']))
    return analysis, written

