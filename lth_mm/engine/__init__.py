"""Loops and other MMEngine-side pieces of lth_mm."""
