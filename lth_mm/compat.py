"""Makes the pinned OpenMMLab stack work on today's PyTorch; applied on ``import lth_mm``.

This is the only place lth_mm changes another package's behaviour. Each patch is small, idempotent
and applies only where the stack fails as released (see ``../shared/reference/dependencies.md``):

1. **Checkpoints under ``weights_only``.** torch >= 2.6 loads with ``weights_only=True`` by
   default, and mmengine's own checkpoints (``HistoryBuffer``, numpy scalars in ``message_hub``)
   then fail to resume or ``load_from``. lth_mm registers a local-path loader for mmengine's
   ``CheckpointLoader`` that tries ``weights_only=True`` first and falls back to a full
   unpickle. Use it for checkpoints you trust; ticket files never need it (they hold no pickle),
   and the original code's files are read by lth_mm as plain data (``lth_mm.core.torch_file``).
   A truncated or corrupt checkpoint fails with a message naming the other checkpoints beside it
   to resume from instead.
2. **Distributed runs without a GPU.** mmengine's ``pytorch`` launcher calls
   ``torch.cuda.set_device`` and its DDP wrapper passes ``device_ids=[LOCAL_RANK]``; both fail on a
   CPU machine. Without CUDA, lth_mm initialises the process group with ``gloo``, builds
   ``MMDistributedDataParallel`` with ``device_ids=None`` and reverts SyncBN layers to BN (SyncBN
   needs GPUs). With CUDA nothing changes.
"""
from __future__ import annotations

import glob
import os
import os.path as osp
import pickle
import zipfile
from typing import Any

import torch

_APPLIED = False


def load_local_checkpoint(filename: str, map_location: Any = None) -> Any:
    """mmengine ``CheckpointLoader`` scheme for local paths that works under ``weights_only``."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        try:
            return torch.load(filename, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as err:
            if 'Weights only load failed' not in str(err):
                raise
        # mmengine checkpoints pickle python objects (its message hub): trusted files only.
        return torch.load(filename, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
        raise ValueError(f'checkpoint {filename} is truncated or corrupt ({type(err).__name__}: '
                         f'{str(err).splitlines()[0] if str(err) else ""}). '
                         f'{_other_checkpoints(filename)}') from err


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
