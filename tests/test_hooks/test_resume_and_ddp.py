"""A killed IMP search resumes to the same masks; 2-process gloo DDP holds identical masks."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mmengine.hooks import Hook

from lth_mm.core import Ticket

from .conftest import ROOT, build_runner, tiny_cfg, tool_env, write_config

TRAIN = str(ROOT / 'tools' / 'train.py')
HOOK = dict(type='IMPHook', rounds=2, rate=0.5, rewind='lt', metric='accuracy/top1')


def digests(work_dir: Path) -> list:
    return [Ticket.load(p).digest()
            for p in sorted((work_dir / 'imp' / 'tickets').glob('round_*.safetensors'))]


def train(config: Path, work_dir: Path, *args: str, timeout: int = 300) -> None:
    result = subprocess.run([sys.executable, TRAIN, str(config), '--work-dir', str(work_dir),
                             *args], cwd=ROOT, env=tool_env(config.parent), capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.slow
def test_kill_and_resume_gives_the_uninterrupted_masks(tmp_path):
    config = write_config(tmp_path / 'imp.py',
                          tiny_cfg(tmp_path / 'unused', [HOOK], epochs=3, train_size=512))
    reference = tmp_path / 'reference'
    train(config, reference)
    expected = digests(reference)
    assert len(expected) == 3

    killed = tmp_path / 'killed'
    process = subprocess.Popen([sys.executable, TRAIN, str(config), '--work-dir', str(killed)],
                               cwd=ROOT, env=tool_env(tmp_path), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    last = killed / 'last_checkpoint'  # written once epoch_4.pth is complete (a kill while
    # the checkpoint is being written leaves a truncated file, which --resume refuses)
    while not (last.exists() and last.read_text().strip().endswith('epoch_4.pth')):
        assert process.poll() is None and time.time() < deadline, 'run ended before round 1'
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert not (killed / 'imp' / 'tickets' / 'round_02.safetensors').exists()

    train(config, killed, '--resume')
    assert digests(killed) == expected
    rows = json.loads((killed / 'imp' / 'summary.json').read_text())
    assert [r['ticket_digest'] for r in rows] == expected


@pytest.mark.slow
@pytest.mark.parametrize('last_checkpoint', ['kept', 'lost'])
def test_crash_right_after_a_round_boundary_resumes(tmp_path, last_checkpoint):
    """Crash after prune + rewind but before the next checkpoint: the boundary is redone. With
    ``last_checkpoint`` lost (a kill while mmengine rewrote it), the newest checkpoint is resumed:
    MMEngine alone would start a new run over the search."""
    reference = build_runner(tiny_cfg(tmp_path / 'reference', [HOOK]))
    reference.train()
    expected = digests(tmp_path / 'reference')
    rows = json.loads((tmp_path / 'reference' / 'imp' / 'summary.json').read_text())

    cfg = tiny_cfg(tmp_path / 'crashed', [HOOK, dict(type='CrashAtEpoch', epoch=2)])
    with pytest.raises(RuntimeError, match='simulated crash'):
        build_runner(cfg).train()
    assert (tmp_path / 'crashed' / 'imp' / 'tickets' / 'round_01.safetensors').exists()
    if last_checkpoint == 'lost':
        (tmp_path / 'crashed' / 'last_checkpoint').unlink()
    runner = build_runner(tiny_cfg(tmp_path / 'crashed', [HOOK], resume=True))
    starts = []
    runner.register_hook(type('Probe', (Hook, ), dict(
        priority='LOWEST', before_train=lambda self, r: starts.append(r.epoch)))())
    runner.train()
    assert starts == [2]  # resumed from epoch_2.pth, not trained again from the start
    assert digests(tmp_path / 'crashed') == expected
    resumed = json.loads((tmp_path / 'crashed' / 'imp' / 'summary.json').read_text())
    assert [r['best_epoch'] for r in resumed] == [r['best_epoch'] for r in rows]


@pytest.mark.slow
def test_a_checkpoint_written_before_early_bird_rounds_resumes(tmp_path):
    """lth_mm before early-bird rounds kept no round start, cut or early-bird state in its
    checkpoints: they resume as a search with no round cut."""
    import torch

    from lth_mm.compat import load_local_checkpoint

    reference = build_runner(tiny_cfg(tmp_path / 'reference', [HOOK]))
    reference.train()
    rows = json.loads((tmp_path / 'reference' / 'imp' / 'summary.json').read_text())
    cfg = tiny_cfg(tmp_path / 'old', [HOOK, dict(type='CrashAtEpoch', epoch=3)])
    with pytest.raises(RuntimeError, match='simulated crash'):
        build_runner(cfg).train()
    path = tmp_path / 'old' / 'epoch_3.pth'  # in round 1, after its first epoch
    checkpoint = load_local_checkpoint(str(path))
    for key in ('round_start', 'cut', 'stopped_early', 'early_bird'):
        del checkpoint['lth_mm_imp'][key]
    del checkpoint['lth_mm_imp']['args']['early_bird']
    torch.save(checkpoint, path)
    build_runner(tiny_cfg(tmp_path / 'old', [HOOK], resume=True)).train()
    assert digests(tmp_path / 'old') == digests(tmp_path / 'reference')
    resumed = json.loads((tmp_path / 'old' / 'imp' / 'summary.json').read_text())
    assert [(r['best_epoch'], r['trained']) for r in resumed] == [
        (r['best_epoch'], r['trained']) for r in rows]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_hold_identical_masks(tmp_path):
    work_dir = tmp_path / 'ddp'
    config = write_config(tmp_path / 'imp.py', tiny_cfg(work_dir, [HOOK]), probe=True)
    env = tool_env(tmp_path)
    env['PORT'] = str(free_port())
    result = subprocess.run(['bash', str(ROOT / 'tools' / 'dist_train.sh'), str(config), '2',
                             '--work-dir', str(work_dir)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ranks = [json.loads((work_dir / f'rank{r}.json').read_text()) for r in (0, 1)]
    assert ranks[0]['rows'] == ranks[1]['rows']
    assert [row[1] for row in ranks[0]['rows']] == [0, 0, 1, 1, 2, 2]
    assert ranks[0]['weights'] == ranks[1]['weights']
    assert [row[2] for row in ranks[0]['rows'][::2]] == digests(work_dir)
