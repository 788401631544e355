"""A weight initializer that loads pre-trained weights of any naming scheme through the key maps."""
from __future__ import annotations

import os
import os.path as osp
from typing import Sequence

from mmengine.logging import print_log
from mmengine.model.weight_init import update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn

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

    A local file is read as plain data (``torch.load(weights_only=True)`` with a small
    allow-list); one that would need full unpickling is refused unless ``allow_pickle=True``.

    Args:
        checkpoint: Path or URL of the checkpoint.
        src: The checkpoint's naming scheme, or ``'auto'`` to detect it.
        dst: The module's naming scheme, or ``'auto'``.
        skip: Canonical (torchvision) key prefixes left at their initialisation; the paper's
            transfer skips ``('conv1', 'fc')``. The log line names entries that matched no
            key of the checkpoint (misspelt, or a part the file does not hold).
        allow_pickle: Read a local file that holds more than plain data by full unpickling,
            which runs code from it: only for files you trust.
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
        if '://' in self.checkpoint:  # a URL or an mmengine prefix: only where a config names one
            state = _load_checkpoint(self.checkpoint, map_location='cpu', logger='current')
        elif not osp.isfile(self.checkpoint):
            raise FileNotFoundError(
                f'MappedPretrained: the pre-trained checkpoint {self.checkpoint} does not exist '
                f'(relative paths start at {os.getcwd()}). Put the weights there (the paper\'s '
                'imagenet_weight.pt, simclr_weight.pt or moco_v2_800ep_pretrain.pth.tar; see '
                'docs/classification.md), or set checkpoint= of this MappedPretrained init_cfg '
                'to where they are')
        else:
            state = load_torch_file(self.checkpoint, allow_pickle=self.allow_pickle)
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
