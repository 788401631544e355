"""A weight initializer that loads pre-trained weights of any naming scheme through the key maps."""
from __future__ import annotations

import os
import os.path as osp
from typing import Sequence
from urllib.parse import urlparse

import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.logging import print_log
from mmengine.model.weight_init import update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS
from mmengine.runner import checkpoint as mm_checkpoint
from torch import nn

from ..compat import checkpoint_globals, checkpoint_pickle_allowed
from ..core import keymap, load_torch_file, pickle_opt_in
from ..core.options import prefixes


@WEIGHT_INITIALIZERS.register_module(name='MappedPretrained')
class MappedPretrainedInit:
    """Load a checkpoint into a module, converting its key names with :mod:`lth_mm.core.keymap`.

    Reads torchvision state dicts (``imagenet_weight.pt``, ``moco.pt``), the paper's SimCLR file,
    MoCo v2 ``module.encoder_q.*`` checkpoints (the key encoder and queue are ignored), OpenMMLab
    zoo checkpoints of MMPretrain / MMDet / MMSeg and MMPretrain's self-supervised checkpoints,
    by local path or URL (a URL downloads: only when your config names one). What did not match
    is logged; a shape mismatch is an error unless the key is in ``skip``.

    Put it in the **backbone's** ``init_cfg``, after the usual initialisers, so that what is not
    loaded (a CIFAR stem, say) still gets them and children do not re-initialise the loaded
    weights::

        backbone=dict(type='ResNet_CIFAR', depth=50, zero_init_residual=False, init_cfg=[
            dict(type='Kaiming', layer=['Conv2d']),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
            dict(type='MappedPretrained', checkpoint='moco_v2_800ep_pretrain.pth.tar',
                 skip=('conv1', 'fc'))])

    Every file is read as plain data (``torch.load(weights_only=True)`` with a small
    allow-list), a downloaded one too; one that would need full unpickling is refused unless
    ``allow_pickle=True``. A URL (``http(s)://``) or zoo name (``torchvision://``,
    ``open-mmlab://``, ``mmcls://``) is downloaded once into torch's hub cache
    (``$TORCH_HOME/hub/checkpoints``, where mmengine puts it too; in a distributed run rank 0
    first while the others wait, then any rank whose cache does not hold it, as on another node),
    then read like a local file. Anything else is a local path.

    Args:
        checkpoint: Path or URL of the checkpoint.
        src: The checkpoint's naming scheme, or ``'auto'`` to detect it.
        dst: The module's naming scheme, or ``'auto'``.
        skip: Canonical (torchvision) key prefixes left at their initialisation; the paper's
            transfer skips ``('conv1', 'fc')``. The log line names entries that matched no
            key of the checkpoint (misspelt, or a part the file does not hold).
        allow_pickle: Read a file that holds more than plain data by full unpickling, which
            runs code from it: only for files you trust.
    """

    def __init__(self, checkpoint: str, src: str = 'auto', dst: str = 'auto',
                 skip: Sequence[str] = (), allow_pickle: bool = False) -> None:
        if not checkpoint or checkpoint == '???':
            raise ValueError('MappedPretrained: set checkpoint= to a file or URL')
        self.checkpoint = checkpoint
        self.src = src
        self.dst = dst
        self.skip = prefixes(skip, 'MappedPretrained: skip')
        self.allow_pickle = pickle_opt_in(allow_pickle, 'MappedPretrained: allow_pickle')
        self.wholemodule = False

    def __call__(self, module: nn.Module) -> None:
        if self.checkpoint.startswith(DOWNLOADS):  # only where a config names one
            path = downloaded(self.checkpoint)
        elif not osp.isfile(self.checkpoint):
            raise FileNotFoundError(
                f'MappedPretrained: the pre-trained checkpoint {self.checkpoint} does not exist '
                f'(relative paths start at {os.getcwd()}). Put the weights there (the paper\'s '
                'imagenet_weight.pt, simclr_weight.pt or moco_v2_800ep_pretrain.pth.tar; see '
                'docs/classification.md), or set checkpoint= of this MappedPretrained init_cfg '
                'to where they are (a local file, or a URL: '
                + ', '.join(DOWNLOADS) + ')')
        else:
            path = self.checkpoint
        # plain data, MMEngine's checkpoints included (their message hub: lth_mm.compat)
        # allow_pickle here, or --allow-pickle / LTH_MM_ALLOW_PICKLE=1 for the run's checkpoints
        state = load_torch_file(path, allow_pickle=self.allow_pickle or checkpoint_pickle_allowed(),
                                extra_globals=checkpoint_globals())
        try:
            report = keymap.load_pretrained(module, state, self.src, self.dst, self.skip)
        except keymap.KeyMapError as err:
            raise keymap.KeyMapError(f'MappedPretrained: {self.checkpoint}: {err}') from err
        if not report.matched:
            raise keymap.KeyMapError(
                f'MappedPretrained: no tensor of {self.checkpoint} matched '
                f'{type(module).__name__}, so nothing was loaded ({report.summary()}). Check '
                f"src= (the checkpoint's naming scheme, 'auto' detects it; one of "
                f'{", ".join(keymap.SCHEMES)}) and dst=, or that the file holds these weights')
        print_log(f'MappedPretrained: {self.checkpoint} -> {type(module).__name__}: '
                  f'{report.summary()}', logger='current')
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return f'{self.__class__.__name__}: load from {self.checkpoint}'


#: What ``MappedPretrained`` downloads: URLs, and the names of mmengine's model zoos.
DOWNLOADS = ('http://', 'https://', 'torchvision://', 'modelzoo://', 'open-mmlab://',
             'openmmlab://', 'mmcls://')


def _url(checkpoint: str) -> str:
    """The URL (or, for a few ``open-mmlab://`` names, the file under mmengine's home) a
    checkpoint name stands for, as mmengine's ``CheckpointLoader`` resolves it."""
    scheme, name = checkpoint.split('://', 1)
    if scheme in ('http', 'https'):
        return checkpoint
    if scheme in ('torchvision', 'modelzoo'):
        urls = mm_checkpoint.get_torchvision_models()
    elif scheme == 'mmcls':
        urls = mm_checkpoint.get_mmcls_models()
    else:
        urls = mm_checkpoint.get_external_models()
        name = mm_checkpoint.get_deprecated_model_names().get(name, name)
    if name not in urls:
        raise ValueError(f'MappedPretrained: {checkpoint}: no model {name!r} in mmengine\'s '
                         f'{scheme}:// zoo (names like {", ".join(sorted(urls)[:4])}, ...)')
    url = urls[name]
    return url if url.startswith(('http://', 'https://')) else osp.join(
        mm_checkpoint._get_mmengine_home(), url)


def downloaded(checkpoint: str) -> str:
    """The local copy of a URL or zoo name: ``$TORCH_HOME/hub/checkpoints/<file name>``,
    downloaded there first if missing (rank 0 first, the other ranks after it where their cache,
    on another node, still lacks it), the file mmengine would use."""
    url = _url(checkpoint)
    if not url.startswith(('http://', 'https://')):
        return url
    path = osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(urlparse(url).path))
    rank, world_size = get_dist_info()
    if rank == 0:
        _download(url, path)
    if world_size > 1:
        barrier()
        _download(url, path)  # a node of its own: its cache is not rank 0's
    return path


def _download(url: str, path: str) -> None:
    if not osp.isfile(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
        print_log(f'MappedPretrained: downloading {url} to {path}', logger='current')
        torch.hub.download_url_to_file(url, path, progress=False)  # to a temporary, then moved
