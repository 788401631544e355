"""Ticket analysis: what tickets look like and how they compare, against chance.

Plain PyTorch, numpy and matplotlib, like :mod:`lth_mm.core` (no OpenMMLab import):

- :mod:`.inputs`: read lth_mm tickets and the original code's mask files, align key schemes;
- :mod:`.chance`: exact moments under random masks of the same per-layer sparsities;
- :mod:`.stats`: layer profile, pairwise overlap, 3x3 kernel structure;
- :mod:`.figures`, :mod:`.text`: the PNG figures, ``report.md`` and ``report.json``;
- :mod:`.report`: :func:`write_report`, behind ``tools/ticket.py report``.
"""
from .chance import all_pruned_moments, intersection_moments, iou_chance, kept_per_unit_pmf
from .inputs import ReportInputError, align_tickets, read_ticket
from .report import Analysis, analyse, render, write_report
from .stats import KernelStats, MaskSet, Overlap, kernel_stats, overlap, stage_of
from .text import console_summary

__all__ = [
    'Analysis', 'KernelStats', 'MaskSet', 'Overlap', 'ReportInputError', 'align_tickets',
    'all_pruned_moments', 'analyse', 'console_summary', 'intersection_moments', 'iou_chance',
    'kept_per_unit_pmf', 'kernel_stats', 'overlap', 'read_ticket', 'render', 'stage_of',
    'write_report'
]
