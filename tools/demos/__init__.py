"""The demos ``tools/demo.py`` runs: each a list of training runs and a table (see ``base``)."""
from . import imp, selfsup, transfer
from .base import Demo, Run, schedule

DEMOS = {demo.name: demo for demo in (imp.DEMO, transfer.DEMO, selfsup.DEMO)}

__all__ = ['DEMOS', 'Demo', 'Run', 'schedule']
