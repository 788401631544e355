"""The self-supervised IMP configs' inputs, read back from the merged configs and the built
preprocessor (the searches themselves run in ``tests/test_hooks/test_selfsup.py``)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mmpretrain.registry import MODELS

from .conftest import CONFIGS, config_id, load_cfg

SIMCLR = sorted((CONFIGS / 'selfsup' / 'simclr').glob('imp_simclr_*.py'))
MOCO = CONFIGS / 'selfsup' / 'mocov2' / 'imp_mocov2_resnet50_8xb32_in1k.py'


def test_simclr_configs_are_found() -> None:
    assert {p.name for p in SIMCLR} == {'imp_simclr_resnet50_8xb32_in1k.py',
                                        'imp_simclr_resnet50_16xb256_in1k.py'}


@pytest.mark.parametrize('path', SIMCLR, ids=config_id)
def test_simclr_inputs_are_not_normalised(path: Path) -> None:
    """The original SimCLR search (SimCLR/args.py: tfs_train ends at ToTensor(), its `normalize`
    unused) fed RGB in [0, 1], the inputs simclr_weight.pt was pre-trained on: the model sees
    the 0-255 pixels divided by 255, converted from the loader's BGR to RGB."""
    cfg = load_cfg(path)
    pre = cfg.data_preprocessor
    assert (pre.type, pre.mean, pre.std, pre.to_rgb) == (
        'SelfSupDataPreprocessor', [0., 0., 0.], [255., 255., 255.], True)
    assert 'data_preprocessor' not in cfg.model  # the Runner merges the top-level one in

    preprocessor = MODELS.build(dict(pre))
    bgr = torch.stack([torch.full((4, 4), v) for v in (10., 128., 255.)]).to(torch.uint8)
    views = [torch.stack([bgr, bgr])]  # MultiView: a list of views, each a batch
    out = preprocessor(dict(inputs=views, data_samples=None))['inputs'][0]
    expected = torch.tensor([255., 128., 10.]) / 255  # RGB in [0, 1]
    assert torch.allclose(out[:, :, 0, 0], expected.expand(2, 3))


def test_moco_keeps_imagenet_normalisation() -> None:
    """The original MoCo (main_moco_imp.py) normalised with ImageNet's mean / std, as
    MMPretrain's MoCo v2 config does: the MoCo config keeps it."""
    pre = load_cfg(MOCO).data_preprocessor
    assert (pre.mean, pre.std, pre.to_rgb) == ([123.675, 116.28, 103.53],
                                               [58.395, 57.12, 57.375], True)
