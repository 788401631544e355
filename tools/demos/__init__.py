"""The demos ``tools/demo.py`` runs: each a list of training runs and a table (see ``base``)."""
from . import detection, imp, segmentation, selfsup, transfer
from .base import Demo, Metric, Run, schedule

DEMOS = {demo.name: demo for demo in (imp.DEMO, transfer.DEMO, selfsup.DEMO, detection.DEMO,
                                      segmentation.DEMO)}

__all__ = ['DEMOS', 'Demo', 'Metric', 'Run', 'schedule']
