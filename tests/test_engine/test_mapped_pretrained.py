"""MappedPretrained: pre-trained weights that match nothing are an error, not a silent no-op; a
URL is read as plain data like a local file."""
from __future__ import annotations

import functools
import http.server
import threading

import pytest
import torch
from torchvision.models import resnet18

from lth_mm.core import UnsafeFileError
from lth_mm.core.keymap import KeyMapError
from lth_mm.engine.mapped_pretrained import MappedPretrainedInit


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / 'resnet18.pth'
    torch.save(resnet18().state_dict(), path)  # torchvision names
    return path


def test_weights_of_the_scheme_load(checkpoint):
    model = resnet18()
    MappedPretrainedInit(checkpoint=str(checkpoint), skip='fc')(model)
    saved = torch.load(checkpoint, weights_only=True)
    assert torch.equal(model.layer1[0].conv1.weight, saved['layer1.0.conv1.weight'])
    assert not torch.equal(model.fc.weight, saved['fc.weight'])  # one prefix, skipped


def test_an_mmengine_checkpoint_is_plain_data(tmp_path):
    """A checkpoint MMEngine wrote (message hub: HistoryBuffer, numpy values) loads without
    allow_pickle; the demos' configs needed the opt-in before."""
    from mmengine.logging import MessageHub

    torch.manual_seed(0)
    hub = MessageHub.get_instance('lth_mm-test-mapped-pretrained')
    hub.update_scalar('train/loss', 0.25)
    source = resnet18()
    path = tmp_path / 'epoch_12.pth'
    torch.save({'meta': {'epoch': 12}, 'message_hub': hub.state_dict(),
                'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}},
               path)
    model = resnet18()
    MappedPretrainedInit(checkpoint=str(path), src='mmpretrain', skip='fc')(model)
    assert torch.equal(model.layer1[0].conv1.weight, source.layer1[0].conv1.weight)


def test_the_runs_opt_in_reaches_pre_trained_weights(tmp_path, monkeypatch):
    """--allow-pickle / LTH_MM_ALLOW_PICKLE=1 says it covers pre-trained weights: it does (the
    refusal named it, and MappedPretrained then refused again)."""
    import pathlib

    monkeypatch.delenv('LTH_MM_ALLOW_PICKLE', raising=False)
    torch.manual_seed(0)
    source = resnet18()
    path = tmp_path / 'with_object.pth'
    torch.save({'state_dict': source.state_dict(), 'where': pathlib.PurePosixPath('/data')}, path)
    with pytest.raises(UnsafeFileError, match='pathlib.PurePosixPath'):
        MappedPretrainedInit(checkpoint=str(path), skip='fc')(resnet18())
    monkeypatch.setenv('LTH_MM_ALLOW_PICKLE', '1')
    model = resnet18()
    MappedPretrainedInit(checkpoint=str(path), skip='fc')(model)
    assert torch.equal(model.layer1[0].conv1.weight, source.layer1[0].conv1.weight)


def test_a_wrong_scheme_that_matches_nothing_is_an_error(checkpoint):
    model = resnet18()
    before = model.layer1[0].conv1.weight.detach().clone()
    message = r'(?s)MappedPretrained: no tensor of .*resnet18.pth matched ResNet, so nothing .*src='
    with pytest.raises(KeyMapError, match=message):
        MappedPretrainedInit(checkpoint=str(checkpoint), src='mmdet')(model)
    assert torch.equal(model.layer1[0].conv1.weight, before)


def test_errors_about_the_files_content_name_the_file(checkpoint, tmp_path):
    state = torch.load(checkpoint, weights_only=True)
    weight = state.pop('layer1.0.conv1.weight')
    state['layer1.0.conv1.weight_orig'] = weight
    state['layer1.0.conv1.weight_mask'] = torch.ones(3)  # not the weight's shape
    path = tmp_path / 'pruned.pth'
    torch.save(state, path)
    with pytest.raises(KeyMapError, match=r'MappedPretrained: .*pruned.pth: .*weight_mask'):
        MappedPretrainedInit(checkpoint=str(path))(resnet18())


class _Payload:
    """Writes a file when unpickled: stands for code a checkpoint would run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A folder served over HTTP on this machine, and torch's hub cache in ``tmp_path``."""
    folder = tmp_path / 'served'
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    yield folder, f'http://127.0.0.1:{server.server_port}'
    server.shutdown()
    server.server_close()


def test_a_url_is_downloaded_once_and_read_as_plain_data(served, checkpoint, tmp_path):
    folder, url = served
    (folder / 'resnet18.pth').write_bytes(checkpoint.read_bytes())
    marker = tmp_path / 'code_ran'
    torch.save({'state_dict': torch.load(checkpoint, weights_only=True),
                'extra': _Payload(marker)}, folder / 'evil.pth')
    model = resnet18()
    MappedPretrainedInit(checkpoint=f'{url}/resnet18.pth')(model)
    saved = torch.load(checkpoint, weights_only=True)
    assert torch.equal(model.layer1[0].conv1.weight, saved['layer1.0.conv1.weight'])
    cached = tmp_path / 'torch_home' / 'hub' / 'checkpoints' / 'resnet18.pth'
    assert cached.read_bytes() == checkpoint.read_bytes()
    (folder / 'resnet18.pth').unlink()  # the cached copy is read from now on
    MappedPretrainedInit(checkpoint=f'{url}/resnet18.pth')(resnet18())
    with pytest.raises(UnsafeFileError, match='evil.pth'):  # as a local file would be
        MappedPretrainedInit(checkpoint=f'{url}/evil.pth')(resnet18())
    assert not marker.exists()
    MappedPretrainedInit(checkpoint=f'{url}/evil.pth', allow_pickle=True)(resnet18())
    assert marker.exists()  # the opt-in, for a file the user trusts


def test_zoo_names_resolve_as_mmengine_does_and_other_schemes_are_paths(
        served, checkpoint, tmp_path, monkeypatch):
    from mmengine.runner.checkpoint import get_torchvision_models
    url = get_torchvision_models()['resnet18']
    cached = tmp_path / 'torch_home' / 'hub' / 'checkpoints' / url.rsplit('/', 1)[-1]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(checkpoint.read_bytes())  # downloaded before: nothing is fetched
    model = resnet18()
    MappedPretrainedInit(checkpoint='torchvision://resnet18')(model)
    saved = torch.load(checkpoint, weights_only=True)
    assert torch.equal(model.layer1[0].conv1.weight, saved['layer1.0.conv1.weight'])
    with pytest.raises(ValueError, match="no model 'resnet_nope' in mmengine's torchvision"):
        MappedPretrainedInit(checkpoint='torchvision://resnet_nope')(resnet18())
    monkeypatch.chdir(tmp_path)  # a local folder named 'weights:' is just a folder
    (tmp_path / 'weights:').mkdir()
    marker = tmp_path / 'code_ran'
    torch.save({'state_dict': saved, 'extra': _Payload(marker)}, tmp_path / 'weights:' / 'w.pth')
    with pytest.raises(UnsafeFileError, match='w.pth'):
        MappedPretrainedInit(checkpoint='weights://w.pth')(resnet18())
    assert not marker.exists()


def test_every_rank_downloads_what_its_cache_lacks(served, checkpoint, tmp_path, monkeypatch):
    """Rank 0 downloads first; a rank on another node (a cache of its own) then downloads too."""
    from lth_mm.engine import mapped_pretrained
    folder, url = served
    (folder / 'resnet18.pth').write_bytes(checkpoint.read_bytes())
    waited = []
    monkeypatch.setattr(mapped_pretrained, 'get_dist_info', lambda: (1, 2))  # rank 1 of 2
    monkeypatch.setattr(mapped_pretrained, 'barrier', lambda: waited.append(True))
    path = mapped_pretrained.downloaded(f'{url}/resnet18.pth')
    assert waited == [True] and open(path, 'rb').read() == checkpoint.read_bytes()
    assert path == str(tmp_path / 'torch_home' / 'hub' / 'checkpoints' / 'resnet18.pth')
