"""Ticket analysis: what tickets look like and how they compare, against chance.

Plain PyTorch, numpy and matplotlib, like :mod:`lth_mm.core` (no OpenMMLab import):

- :mod:`.chance`: exact moments under random masks of the same per-layer sparsities.
"""
from .chance import all_pruned_moments, intersection_moments, iou_chance, kept_per_unit_pmf

__all__ = ['all_pruned_moments', 'intersection_moments', 'iou_chance', 'kept_per_unit_pmf']
