"""Settings for the whole suite: CPU threads per pytest-xdist worker, and a cheaper cyclic GC.

Threads: ``make test`` runs ``-n 2`` workers. Left alone, each worker's PyTorch (OpenMP) starts
one thread per core, so two workers on two cores run four spinning threads, and the training
tests ran 2-4x slower than one worker alone. Each worker gets its share of the usable cores
(``torch.set_num_threads`` and ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` for the tools the tests
start as subprocesses); a run without xdist keeps PyTorch's default.

GC: MMEngine's ``BaseDataset`` calls ``gc.collect()`` each time it serialises its data list (three
times per ``Runner``), and a full collection walks every object of the process: about 0.3 s
with torch and the OpenMMLab packages imported, more as a worker accumulates tests. After each
test the garbage is collected and what survives (modules, registries, fixtures of wider scope) is
frozen (``gc.freeze``), so later collections walk only what the next test creates. Reference
counting frees objects as before; only cycles among objects alive across a test boundary are left
to the end of the worker.
"""
from __future__ import annotations

import gc
import os


def _threads_per_worker() -> int | None:
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '0') or 0)
    if workers <= 1:
        return None
    return max(1, len(os.sched_getaffinity(0)) // workers)


_THREADS = _threads_per_worker()
if _THREADS is not None:
    for _name in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ[_name] = str(_THREADS)
    import torch

    torch.set_num_threads(_THREADS)


def _collect_then_freeze() -> None:
    gc.collect()
    gc.freeze()


# Once the test modules are imported, then after each test (pluggy passes a hook only the
# arguments it names: none).
pytest_collection_finish = pytest_runtest_logfinish = _collect_then_freeze
