"""Helpers shared by the benchmark scripts."""
from __future__ import annotations

import datetime
import os
import platform
from collections.abc import Sequence
from typing import Any


def machine_line(threads: int) -> str:
    """Date, CPU model, cores, GPU, torch version, threads and load: the context of a timing."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as handle:
            cpu = next(line.split(':', 1)[1].strip() for line in handle
                       if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'
    return (f'{datetime.date.today().isoformat()}, {cpu}, {os.cpu_count()} cores, {cuda}, '
            f'torch {torch.__version__}, {threads} torch thread(s), load average '
            f'{" ".join(f"{x:.1f}" for x in os.getloadavg())}')


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with left-aligned columns."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    out = ['  '.join(str(h).ljust(w) for h, w in zip(headers, widths)),
           '  '.join('-' * w for w in widths)]
    out += ['  '.join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return '\n'.join(line.rstrip() for line in out)
