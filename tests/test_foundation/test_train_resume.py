"""tools/train.py saves mmengine checkpoints that resume under torch's weights_only default, and
tools/test.py evaluates them; subprocesses on the CPU with a tiny classifier (10 iters/epoch)."""
from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from mmengine.runner.checkpoint import CheckpointLoader

import lth_mm  # noqa: F401  (the compat loader for the checks below)

from .conftest import BATCH_SIZE, PER_BATCH, run_tool

pytestmark = pytest.mark.slow
ITERS = 5 * PER_BATCH // BATCH_SIZE  # per epoch


def test_train_resume_and_test(tiny_classifier: Path, tmp_path: Path) -> None:
    work = tmp_path / 'work'
    out = run_tool(['tools/train.py', tiny_classifier, '--work-dir', work])
    assert 'Epoch(train) [2]' in out and 'accuracy/top1' in out
    assert {p.name for p in work.glob('epoch_*.pth')} == {'epoch_1.pth', 'epoch_2.pth'}
    assert (work / 'last_checkpoint').read_text().strip() == str(work / 'epoch_2.pth')

    out = run_tool(['tools/train.py', tiny_classifier, '--work-dir', work, '--resume',
                    '--cfg-options', 'train_cfg.max_epochs=3'])
    assert f'resumed epoch: 2, iter: {2 * ITERS}' in out, out[-3000:]
    assert 'Epoch(train) [3]' in out and 'Epoch(train) [1]' not in out
    ckpt = CheckpointLoader.load_checkpoint(str(work / 'epoch_3.pth'), map_location='cpu')
    assert (ckpt['meta']['epoch'], ckpt['meta']['iter']) == (3, 3 * ITERS)
    assert 'optimizer' in ckpt and 'message_hub' in ckpt

    preds = tmp_path / 'preds.pkl'
    out = run_tool(['tools/test.py', tiny_classifier, work / 'epoch_3.pth', '--work-dir', work,
                    '--out', preds, '--amp',  # --amp: bfloat16 autocast on the CPU
                    '--show-dir', tmp_path / 'shown'])
    assert 'Load checkpoint from' in out and 'Epoch(test)' in out and 'accuracy/top1' in out
    results = pickle.loads(preds.read_bytes())
    assert len(results) == PER_BATCH
    assert {'pred_label', 'gt_label'} <= set(results[0])
    # --show-dir: every prediction drawn (MMPretrain's hook draws 1 in 5000 by default)
    assert len(list((tmp_path / 'shown').glob('*.png'))) == PER_BATCH
