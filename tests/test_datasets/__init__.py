"""Tests of lth_mm.datasets."""
