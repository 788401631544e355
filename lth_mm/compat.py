"""Makes the pinned OpenMMLab stack work on today's PyTorch; applied on ``import lth_mm``.

This is the only place lth_mm changes another package's behaviour. Each patch is small, idempotent
and applies only where the stack fails as released (see ``../shared/reference/dependencies.md``):

1. **Checkpoints under ``weights_only``.** torch >= 2.6 loads with ``weights_only=True`` by
   default, and mmengine's own checkpoints (``HistoryBuffer``, numpy scalars in ``message_hub``)
   then fail to resume or ``load_from``. lth_mm registers a local-path loader for mmengine's
   ``CheckpointLoader`` that reads them as plain data too: torch's restricted unpickler, allowed
   to build numpy values, ``HistoryBuffer`` and the one ``getattr`` its pickles hold (its
   statistics methods, ``HistoryBuffer.min`` ...), nothing else. A checkpoint that refers to
   anything more is refused (:class:`~lth_mm.core.torch_file.UnsafeFileError`), unless the user
   opts in for files they trust: ``--allow-pickle`` of ``tools/train.py`` / ``tools/test.py``,
   or the environment variable ``LTH_MM_ALLOW_PICKLE=1``. A truncated or corrupt checkpoint
   fails with a message naming the other checkpoints beside it to resume from instead.
2. **Distributed runs without a GPU.** mmengine's ``pytorch`` launcher calls
   ``torch.cuda.set_device`` and its DDP wrapper passes ``device_ids=[LOCAL_RANK]``; both fail on a
   CPU machine. Without CUDA, lth_mm initialises the process group with ``gloo``, builds
   ``MMDistributedDataParallel`` with ``device_ids=None`` and reverts SyncBN layers to BN (SyncBN
   needs GPUs). With CUDA nothing changes.
"""
from __future__ import annotations

import functools
import glob
import os
import os.path as osp
import pickle
from typing import Any

import torch

from .core.ticket import Ticket
from .core.torch_file import UnsafeFileError, load_torch_file

_APPLIED = False

#: The environment variable that opts in to full unpickling of checkpoints (``1``); what
#: ``--allow-pickle`` of ``tools/train.py`` and ``tools/test.py`` sets.
ALLOW_PICKLE_ENV = 'LTH_MM_ALLOW_PICKLE'


def checkpoint_pickle_allowed() -> bool:
    """Whether the user opted in to full unpickling of checkpoints (``LTH_MM_ALLOW_PICKLE=1``)."""
    value = os.environ.get(ALLOW_PICKLE_ENV, '').strip()
    if value in ('', '0'):
        return False
    if value == '1':
        return True
    raise ValueError(f'{ALLOW_PICKLE_ENV}={value!r}: set it to 1 to read checkpoints you trust '
                     'by full unpickling, or to 0 (or unset it) for plain data only')


#: HistoryBuffer's own statistics (its class dict of methods fills only once an instance exists).
STATISTICS = ('min', 'max', 'current', 'mean')


def _history_getattr(obj: Any, name: str) -> Any:
    """The only ``getattr`` mmengine's checkpoints need: a statistics method of
    ``HistoryBuffer`` (``HistoryBuffer.min``, saved in its ``statistics_methods``)."""
    from mmengine.logging import HistoryBuffer

    if obj in (HistoryBuffer, _checked_history_buffer()) and name in STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f'getattr({getattr(obj, "__name__", type(obj).__name__)}, '
                                 f'{name!r}) is not a HistoryBuffer statistics method')


@functools.lru_cache(maxsize=None)
def _checked_history_buffer() -> type:
    """``HistoryBuffer`` as a checkpoint may rebuild it: the state it sets is checked first.

    mmengine's ``HistoryBuffer.__setstate__`` merges the file's ``statistics_methods`` into the
    dict all buffers of the process share, so a file could make every logged mean a max. Here
    the state may hold only a buffer's own fields and the four statistics under their own
    names; the object then becomes a plain ``HistoryBuffer``.
    """
    from mmengine.logging import HistoryBuffer

    fields = set(vars(HistoryBuffer())) | {'statistics_methods'}

    class CheckedHistoryBuffer(HistoryBuffer):

        def __setstate__(self, state: Any) -> None:
            if not isinstance(state, dict) or not set(state) <= fields:
                raise pickle.UnpicklingError(
                    f'a HistoryBuffer state with {sorted(set(state) - fields)!r}'
                    if isinstance(state, dict) else 'a HistoryBuffer state that is no dict')
            methods = state.get('statistics_methods', {})
            if not isinstance(methods, dict) or any(
                    name not in STATISTICS or method is not getattr(HistoryBuffer, name)
                    for name, method in methods.items()):
                raise pickle.UnpicklingError('HistoryBuffer statistics_methods other than its '
                                             f'own {STATISTICS}')
            self.__class__ = HistoryBuffer
            HistoryBuffer.__setstate__(self, state)

    return CheckedHistoryBuffer


def checkpoint_globals() -> list:
    """What mmengine's checkpoints hold beyond torch's and lth_mm's plain data: HistoryBuffer,
    its state checked (:func:`_checked_history_buffer`), and its statistics methods. Nothing
    without MMEngine (the ticket tools and reports run without the stack), where reading an
    MMEngine checkpoint is refused, naming HistoryBuffer."""
    try:
        buffer = _checked_history_buffer()
    except ImportError:
        return []
    return [(buffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
            (_history_getattr, 'builtins.getattr')]


def read_ticket(path: str | os.PathLike, allow_pickle: bool = False) -> Ticket:
    """:meth:`Ticket.read` with MMEngine's checkpoints readable as plain data: a ticket file,
    the ticket an lth_mm checkpoint records, or an original-code mask file."""
    return Ticket.read(path, allow_pickle, checkpoint_globals())


def load_local_checkpoint(filename: str, map_location: Any = None) -> Any:
    """mmengine ``CheckpointLoader`` scheme for local paths: plain data (and mmengine's message
    hub) under ``weights_only``; full unpickling only with ``LTH_MM_ALLOW_PICKLE=1``."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    allow_pickle = checkpoint_pickle_allowed()
    try:
        return load_torch_file(
            filename, allow_pickle=allow_pickle, map_location=map_location,
            extra_globals=checkpoint_globals(),
            opt_in=f'--allow-pickle (tools/train.py, tools/test.py) or {ALLOW_PICKLE_ENV}=1')
    except UnsafeFileError:
        raise
    except ValueError as err:
        raise ValueError(f'checkpoint {err} {_other_checkpoints(filename)}') from err


def _other_checkpoints(filename: str) -> str:
    """Advice naming the other checkpoints beside ``filename``, newest first."""
    filename = osp.abspath(filename)
    folder = osp.dirname(filename)
    others = sorted((p for p in glob.glob(osp.join(folder, '*.pth')) if p != filename),
                    key=osp.getmtime, reverse=True)
    if not others:
        return f'No other checkpoint is in {folder}: the run has to start again.'
    return (f'Resume from another one with --resume PATH: {", ".join(others[:3])}'
            + (f' ... ({len(others)} in {folder})' if len(others) > 3 else ''))


def _init_dist_pytorch_cpu(original):
    def init_dist_pytorch(backend: str, init_backend: str = 'torch', **kwargs: Any) -> None:
        if torch.cuda.is_available():
            return original(backend, init_backend=init_backend, **kwargs)
        torch.distributed.init_process_group(
            backend='gloo', rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']), **kwargs)
    init_dist_pytorch.__wrapped__ = original
    return init_dist_pytorch


def _ddp_init_cpu(original):
    def __init__(self, module: torch.nn.Module, *args: Any, **kwargs: Any) -> None:
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        if on_cpu and not torch.cuda.is_available():
            from mmengine.model import revert_sync_batchnorm
            module = revert_sync_batchnorm(module)
            kwargs['device_ids'] = None
            kwargs.pop('output_device', None)
        original(self, module, *args, **kwargs)
    __init__.__wrapped__ = original
    return __init__


def apply() -> None:
    """Apply the patches above once; later calls do nothing."""
    global _APPLIED
    if _APPLIED:
        return
    from mmengine.dist import utils as dist_utils
    from mmengine.model.wrappers import distributed
    from mmengine.runner.checkpoint import CheckpointLoader

    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)
    dist_utils._init_dist_pytorch = _init_dist_pytorch_cpu(dist_utils._init_dist_pytorch)
    ddp = distributed.MMDistributedDataParallel
    ddp.__init__ = _ddp_init_cpu(ddp.__init__)
    _APPLIED = True
