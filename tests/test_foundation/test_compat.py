"""``import lth_mm`` applies lth_mm.compat: checkpoints load under weights_only, DDP runs on CPU."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.dist import utils as dist_utils
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.model import MMDistributedDataParallel
from mmengine.runner import load_checkpoint, save_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn

from lth_mm import compat

from .conftest import free_port


def small_net(norm: type[nn.Module] = nn.BatchNorm2d) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), norm(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 2))


def test_import_applies_the_patches() -> None:
    assert compat._APPLIED
    assert CheckpointLoader._schemes[''] is compat.load_local_checkpoint
    assert hasattr(dist_utils._init_dist_pytorch, '__wrapped__')
    assert hasattr(MMDistributedDataParallel.__init__, '__wrapped__')


def test_apply_twice_is_harmless() -> None:
    before = (CheckpointLoader._schemes[''], dist_utils._init_dist_pytorch,
              MMDistributedDataParallel.__init__)
    compat.apply()
    compat.apply()
    after = (CheckpointLoader._schemes[''], dist_utils._init_dist_pytorch,
             MMDistributedDataParallel.__init__)
    assert after == before
    # each patch wraps the original exactly once
    assert not hasattr(dist_utils._init_dist_pytorch.__wrapped__, '__wrapped__')
    assert not hasattr(MMDistributedDataParallel.__init__.__wrapped__, '__wrapped__')


def test_mmengine_checkpoint_with_message_hub_loads(tmp_path: Path) -> None:
    hub = MessageHub.get_instance('lth_mm-test-compat')
    hub.update_scalar('train/loss', 1.5)
    hub.update_info('iter', 7)
    model = small_net()
    path = tmp_path / 'epoch_1.pth'
    save_checkpoint({'meta': {'epoch': 1, 'iter': 7}, 'state_dict': model.state_dict(),
                     'message_hub': hub.state_dict()}, str(path))
    with pytest.raises(pickle.UnpicklingError):  # what the patch is for: torch's default
        torch.load(path)

    ckpt = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert ckpt['meta'] == {'epoch': 1, 'iter': 7}
    assert isinstance(ckpt['message_hub']['log_scalars']['train/loss'], HistoryBuffer)

    fresh = small_net()
    nn.init.zeros_(fresh[0].weight)
    load_checkpoint(fresh, str(path), map_location='cpu')
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key


class _RunsCode:
    """Unpickled in full, writes ``marker``: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'echo ran > {self.marker}', ))


class _Reaches:
    """Asks the unpickler for ``getattr(obj, name)``, as a crafted checkpoint could."""

    def __init__(self, obj, name: str) -> None:
        self.obj, self.name = obj, name

    def __reduce__(self):
        return (getattr, (self.obj, self.name))


def _hub_checkpoint(path: Path, **extra) -> None:
    hub = MessageHub.get_instance('lth_mm-test-compat-unsafe')
    hub.update_scalar('train/loss', 0.5)
    torch.save({'meta': {'epoch': 1, **extra}, 'state_dict': small_net().state_dict(),
                'message_hub': hub.state_dict()}, str(path))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """mmengine's checkpoints load as plain data; one that refers to anything more is refused
    (it was unpickled in full, silently: a ``load_from``, ``--resume`` or ``tools/test.py`` of a
    downloaded checkpoint ran its code) unless LTH_MM_ALLOW_PICKLE=1."""
    monkeypatch.delenv(compat.ALLOW_PICKLE_ENV, raising=False)
    marker, path = tmp_path / 'ran.txt', tmp_path / 'evil.pth'
    _hub_checkpoint(path, note=_RunsCode(marker))
    for load in (compat.load_local_checkpoint,
                 lambda p: CheckpointLoader.load_checkpoint(p, map_location='cpu')):
        with pytest.raises(compat.UnsafeFileError,
                           match=r'evil.pth refers to the object posix.system.*--allow-pickle '
                                 r'\(tools/train.py, tools/test.py\) or LTH_MM_ALLOW_PICKLE=1'):
            load(str(path))
        assert not marker.exists()
    monkeypatch.setenv(compat.ALLOW_PICKLE_ENV, '1')  # the user's opt-in for a file they trust
    assert compat.load_local_checkpoint(str(path))['meta']['note'] == 0
    assert marker.read_text().strip() == 'ran'
    monkeypatch.setenv(compat.ALLOW_PICKLE_ENV, 'yes')
    with pytest.raises(ValueError, match="LTH_MM_ALLOW_PICKLE='yes': set it to 1"):
        compat.load_local_checkpoint(str(path))


@pytest.mark.parametrize('obj, name', [(HistoryBuffer, '__subclasses__'),
                                       (HistoryBuffer, '__init__'),
                                       (HistoryBuffer, '_statistics_methods'),
                                       (HistoryBuffer, 'update')])
def test_getattr_reaches_only_history_buffer_statistics(tmp_path: Path, obj, name,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """mmengine's pickles hold ``getattr(HistoryBuffer, 'min')``; any other getattr is refused."""
    monkeypatch.delenv(compat.ALLOW_PICKLE_ENV, raising=False)
    path = tmp_path / 'reach.pth'
    _hub_checkpoint(path, reach=_Reaches(obj, name))
    with pytest.raises(compat.UnsafeFileError, match='reach.pth refers to'):
        compat.load_local_checkpoint(str(path))
    ok = tmp_path / 'ok.pth'
    _hub_checkpoint(ok, reach=_Reaches(HistoryBuffer, 'mean'))
    assert compat.load_local_checkpoint(str(ok))['meta']['reach'] is HistoryBuffer.mean


@pytest.mark.parametrize('state', [
    {'statistics_methods': {'mean': HistoryBuffer.max}},  # every logged mean a max
    {'statistics_methods': {'median': HistoryBuffer.mean}},
    {'_statistics_methods': {}},  # a field HistoryBuffer does not have
])
def test_a_history_buffer_state_cannot_change_the_process(tmp_path: Path, state: dict,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """HistoryBuffer.__setstate__ merges the file's statistics into the dict every buffer of the
    process shares: a plain-data checkpoint made every logged mean a max. Such a state is
    refused; a real buffer loads as a plain HistoryBuffer."""
    monkeypatch.delenv(compat.ALLOW_PICKLE_ENV, raising=False)
    shared = dict(HistoryBuffer._statistics_methods)
    crafted = HistoryBuffer([0.5], [1])
    path, plain = tmp_path / 'crafted.pth', tmp_path / 'plain.pth'
    with monkeypatch.context() as patch:
        patch.setattr(HistoryBuffer, '__getstate__', lambda self: dict(self.__dict__, **state))
        torch.save({'message_hub': {'log_scalars': {'train/loss': crafted}}}, path)
    torch.save({'message_hub': {'log_scalars': {'train/loss': HistoryBuffer([1., 3.], [1, 1])}}},
               plain)
    try:
        with pytest.raises(compat.UnsafeFileError, match='crafted.pth refers to'):
            compat.load_local_checkpoint(str(path))
        assert HistoryBuffer._statistics_methods == shared
        buffer = compat.load_local_checkpoint(str(plain))['message_hub']['log_scalars'][
            'train/loss']
        assert type(buffer) is HistoryBuffer and buffer.statistics('mean') == 2.0
    finally:
        HistoryBuffer._statistics_methods.clear()
        HistoryBuffer._statistics_methods.update(shared)


def test_a_fresh_process_reads_mmengine_checkpoints(tmp_path: Path) -> None:
    """HistoryBuffer's statistics are known before any HistoryBuffer exists (a new
    ``tools/test.py`` process read its checkpoint as 'not plain data')."""
    path = tmp_path / 'epoch_1.pth'
    _hub_checkpoint(path)
    code = ('import sys, lth_mm; from lth_mm.compat import load_local_checkpoint; '
            'print(type(load_local_checkpoint(sys.argv[1])["message_hub"]["log_scalars"]'
            '["train/loss"]).__name__)')
    env = {k: v for k, v in os.environ.items() if k != compat.ALLOW_PICKLE_ENV}
    out = subprocess.run([sys.executable, '-c', code, str(path)], capture_output=True, text=True,
                         env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == 'HistoryBuffer'


def test_tensor_only_checkpoint_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / 'weights.pth'
    torch.save({'w': torch.arange(3)}, path)
    assert torch.equal(compat.load_local_checkpoint(str(path))['w'], torch.arange(3))
    with pytest.raises(FileNotFoundError):
        compat.load_local_checkpoint(str(tmp_path / 'absent.pth'))


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU patches are inactive with CUDA')
def test_pytorch_launcher_and_ddp_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1-process group through the patched launcher; DDP drops device_ids and SyncBN."""
    for key, value in dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0', MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(free_port())).items():
        monkeypatch.setenv(key, value)
    assert not torch.distributed.is_initialized()
    dist_utils._init_dist_pytorch('nccl')  # as mmengine's init_dist('pytorch') calls it
    try:
        assert torch.distributed.get_backend() == 'gloo'
        ddp = MMDistributedDataParallel(module=small_net(nn.SyncBatchNorm),
                                        device_ids=[int(os.environ['LOCAL_RANK'])])
        assert ddp.device_ids is None
        assert not any(isinstance(m, nn.SyncBatchNorm) for m in ddp.modules())
        assert any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in ddp.modules())
        ddp(torch.randn(2, 3, 8, 8)).sum().backward()
        assert all(p.grad is not None for p in ddp.parameters())
    finally:
        torch.distributed.destroy_process_group()
