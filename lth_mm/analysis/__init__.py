"""Ticket analysis: what tickets look like and how they compare, against chance.

Plain PyTorch, numpy and matplotlib, like :mod:`lth_mm.core` (no OpenMMLab import):

- :mod:`.inputs`: read lth_mm tickets and the original code's mask files, align key schemes;
- :mod:`.chance`: exact moments under random masks of the same per-layer sparsities;
- :mod:`.stats`: layer profile, pairwise overlap, 3x3 kernel structure.
"""
from .chance import all_pruned_moments, intersection_moments, iou_chance, kept_per_unit_pmf
from .inputs import ReportInputError, align_tickets, read_ticket
from .stats import KernelStats, MaskSet, Overlap, kernel_stats, overlap, stage_of

__all__ = [
    'KernelStats', 'MaskSet', 'Overlap', 'ReportInputError', 'align_tickets',
    'all_pruned_moments', 'intersection_moments', 'iou_chance', 'kept_per_unit_pmf',
    'kernel_stats', 'overlap', 'read_ticket', 'stage_of'
]
