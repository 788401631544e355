"""MappedPretrained: pre-trained weights that match nothing are an error, not a silent no-op."""
from __future__ import annotations

import pytest
import torch
from torchvision.models import resnet18

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
