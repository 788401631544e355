"""tools/dist_train.sh: 2 processes under torchrun with --launcher pytorch train in sync on the CPU
(gloo, DDP without device_ids, SyncBN reverted to BN by lth_mm.compat); tools/dist_test.sh then
evaluates the checkpoint with 2 processes."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from .conftest import free_port, run_tool

pytestmark = pytest.mark.slow


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU path (gloo) is tested here')
def test_two_processes_stay_in_sync(tiny_classifier: Path, tmp_path: Path) -> None:
    work = tmp_path / 'work'
    out = run_tool(['bash', 'tools/dist_train.sh', tiny_classifier, 2, '--work-dir', work,
                    '--cfg-options', 'train_cfg.max_epochs=1',
                    'model.backbone.norm_cfg.type=SyncBN'],
                   env=dict(PYTHON=sys.executable, PORT=str(free_port())))
    assert 'Distributed launcher: pytorch' in out and 'Distributed training: True' in out
    assert 'Epoch(train) [1][5/5]' in out  # 40 images, 2 ranks x batch 4
    assert (work / 'epoch_1.pth').is_file()

    states = [json.loads((work / f'rank{rank}.json').read_text()) for rank in (0, 1)]
    assert sorted(work.glob('rank*.json')) == [work / 'rank0.json', work / 'rank1.json']
    for rank, state in enumerate(states):
        assert (state['rank'], state['world_size']) == (rank, 2)
        assert state['wrapper'] == 'MMDistributedDataParallel' and state['device_ids'] is None
        assert not state['has_syncbn']
    assert states[0]['param_hash'] == states[1]['param_hash']

    out = run_tool(['bash', 'tools/dist_test.sh', tiny_classifier, work / 'epoch_1.pth', 2,
                    '--work-dir', tmp_path / 'test'],
                   env=dict(PYTHON=sys.executable, PORT=str(free_port())))
    assert 'Distributed training: True' in out and 'Epoch(test) [1/1]' in out  # 8 images / 2 / 4
    assert 'accuracy/top1' in out
