"""PruneScope and find_stem_weights: which parameters a ticket covers."""
from __future__ import annotations

import dataclasses
import json

import pytest
from torch import nn

from lth_mm.core import PruneScope, Ticket, find_stem_weights

pytestmark = pytest.mark.usefixtures('single_thread')


def _conv_weights(model: nn.Module, prefix: str = '') -> set[str]:
    return {f'{prefix}{name}.weight' for name, m in model.named_modules()
            if isinstance(m, nn.Conv2d)}


class Wrapper(nn.Module):
    """An MMPretrain-like classifier: ``backbone`` plus a linear ``head``."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(2048, 10)


class DeepStemNet(nn.Module):
    """MMSeg's ResNetV1c layout: a 3-conv ``stem`` beside ``layer1..layer4``."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
            nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
            nn.Conv2d(4, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
        for i in range(1, 5):
            setattr(self, f'layer{i}', nn.Sequential(nn.Conv2d(8, 8, 3), nn.BatchNorm2d(8)))


# Defaults on ResNet-50 -------------------------------------------------------------------------
def test_default_scope_resnet50_selects_the_52_non_stem_convs(resnet50: nn.Module) -> None:
    selected = PruneScope().select(resnet50)
    assert len(selected) == 52
    assert set(selected) == _conv_weights(resnet50) - {'conv1.weight'}
    assert 'conv1.weight' not in selected
    assert {f'layer{i}.0.downsample.0.weight' for i in range(1, 5)} <= set(selected)
    assert all(name.endswith('.weight') for name in selected)
    assert not any(name.startswith('fc.') or '.bn' in name or 'downsample.1' in name
                   for name in selected)
    modules = dict(resnet50.named_modules())
    assert all(isinstance(modules[n[:-len('.weight')]], nn.Conv2d) for n in selected)
    # the values are the model's own parameters, in module order
    params = dict(resnet50.named_parameters())
    assert all(selected[n] is params[n] for n in selected)
    order = [n for n in params if n in selected]
    assert list(selected) == order


def test_include_stem_and_include_linear(resnet50: nn.Module) -> None:
    with_stem = PruneScope(include_stem=True).select(resnet50)
    assert len(with_stem) == 53 and 'conv1.weight' in with_stem
    with_fc = PruneScope(include_linear=True).select(resnet50)
    assert len(with_fc) == 53 and 'fc.weight' in with_fc and 'fc.bias' not in with_fc
    both = PruneScope(include_stem=True, include_linear=True).select(resnet50)
    assert set(both) == set(with_stem) | {'fc.weight'}


def test_prefix_on_a_wrapped_backbone(resnet50: nn.Module) -> None:
    wrapper = Wrapper(resnet50)
    plain = PruneScope().select(resnet50)
    selected = PruneScope(prefix='backbone.').select(wrapper)
    assert list(selected) == [f'backbone.{name}' for name in plain]
    assert 'backbone.conv1.weight' not in selected
    # without a prefix the same 52 convs are found (the head is Linear, so never selected)
    assert set(PruneScope().select(wrapper)) == set(selected)
    assert 'head.weight' in PruneScope(include_linear=True).select(wrapper)
    assert 'head.weight' not in PruneScope(prefix='backbone.', include_linear=True).select(wrapper)


def test_deep_stem_is_excluded() -> None:
    model = DeepStemNet()
    stem = {'stem.0.weight', 'stem.3.weight', 'stem.6.weight'}
    assert find_stem_weights(model) == stem
    selected = PruneScope().select(model)
    assert set(selected) == {f'layer{i}.0.weight' for i in range(1, 5)}
    assert set(PruneScope(include_stem=True).select(model)) == set(selected) | stem


def test_find_stem_weights_only_matches_stems(resnet50: nn.Module, make_tiny) -> None:
    assert find_stem_weights(resnet50) == {'conv1.weight'}
    assert find_stem_weights(Wrapper(resnet50)) == {'backbone.conv1.weight'}
    moco = nn.Module()
    moco.encoder_q = make_tiny(0)
    moco.encoder_k = make_tiny(1)
    assert find_stem_weights(moco) == {'encoder_q.conv1.weight', 'encoder_k.conv1.weight'}
    # a module without any layer1 has no stem: nothing is excluded
    plain = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3))
    assert find_stem_weights(plain) == set()
    assert set(PruneScope().select(plain)) == {'0.weight', '1.weight'}


def test_default_scope_on_tiny(make_tiny, tiny_prunable: list[str]) -> None:
    assert list(PruneScope().select(make_tiny())) == tiny_prunable
    deep = PruneScope().select(make_tiny(deep_stem=True))
    assert list(deep) == tiny_prunable


def test_a_shared_weight_is_selected_once_under_its_first_name() -> None:
    """Tied conv weights: one parameter, one name, the one named_parameters() lists."""
    model = nn.Sequential(nn.Conv2d(3, 3, 3), nn.Conv2d(3, 3, 3), nn.Conv2d(3, 3, 3))
    model[2].weight = model[0].weight
    selected = PruneScope().select(model)
    assert list(selected) == ['0.weight', '1.weight']
    assert set(selected) <= dict(model.named_parameters()).keys()
    assert selected['0.weight'] is model[2].weight
    # the first name out of scope leaves the parameter out, whatever its later names
    assert list(PruneScope(exclude=(r'^0\.',)).select(model)) == ['1.weight']


def test_tickets_on_tied_weights_fit_the_model() -> None:
    model = nn.Sequential(nn.Conv2d(3, 3, 3), nn.Conv2d(3, 3, 3))
    model[1].weight = model[0].weight
    ticket = Ticket.dense(model).prune(model, 0.2)
    assert list(ticket) == ['0.weight']
    ticket.check(model)
    ticket.apply_(model)
    assert bool((model[1].weight[~ticket['0.weight']] == 0).all())


def test_other_layer_types(resnet50: nn.Module) -> None:
    bn = PruneScope(layer_types=('BatchNorm2d',)).select(resnet50)
    assert all('bn' in n or 'downsample.1' in n for n in bn)
    linear = PruneScope(layer_types='Linear').select(resnet50)
    assert list(linear) == ['fc.weight']
    # subclasses of the named types count too
    class MyConv(nn.Conv2d):
        pass
    model = nn.Sequential(MyConv(3, 4, 3), nn.Conv2d(4, 4, 3))
    assert set(PruneScope().select(model)) == {'0.weight', '1.weight'}


# Regular expressions ---------------------------------------------------------------------------
def test_include_and_exclude_regexes(resnet50: nn.Module) -> None:
    layer4 = PruneScope(include=[r'^layer4\.']).select(resnet50)
    assert len(layer4) == 10 and all(n.startswith('layer4.') for n in layer4)
    no_down = PruneScope(exclude=['downsample']).select(resnet50)
    assert len(no_down) == 48 and not any('downsample' in n for n in no_down)
    both = PruneScope(include=[r'^layer4\.', r'^layer3\.'], exclude=[r'conv2']).select(resnet50)
    assert all(n.startswith(('layer3.', 'layer4.')) and 'conv2' not in n for n in both)
    assert len(both) == (6 * 3 + 1 + 3 * 3 + 1) - 6 - 3
    # regexes also apply to the stem when it is included
    stem_only = PruneScope(include_stem=True, include=[r'^conv1\.']).select(resnet50)
    assert list(stem_only) == ['conv1.weight']


def test_invalid_regex_raises() -> None:
    with pytest.raises(ValueError, match='invalid regular expression'):
        PruneScope(include=['(unclosed'])
    with pytest.raises(ValueError, match='invalid regular expression'):
        PruneScope(exclude=['[a-'])


# Errors ----------------------------------------------------------------------------------------
def test_empty_scope_raises_clearly(resnet50: nn.Module) -> None:
    with pytest.raises(ValueError, match='selects no parameter of ResNet') as info:
        PruneScope(prefix='nothing.').select(resnet50)
    assert "prefix='nothing.'" in str(info.value)
    with pytest.raises(ValueError, match='selects no parameter'):
        PruneScope(exclude=['.*']).select(resnet50)
    with pytest.raises(ValueError, match='selects no parameter'):
        PruneScope().select(nn.Linear(3, 4))


@pytest.mark.parametrize('layer_types', [('Conv9d',), ('conv2d',), ('functional',), 'ReLU6x'])
def test_unknown_layer_types_raise(layer_types) -> None:
    with pytest.raises(ValueError, match='not torch.nn module classes'):
        PruneScope(layer_types=layer_types)


def test_from_value() -> None:
    assert PruneScope.from_value(None) == PruneScope()
    scope = PruneScope(include_stem=True)
    assert PruneScope.from_value(scope) is scope
    assert PruneScope.from_value({'prefix': 'backbone.'}) == PruneScope(prefix='backbone.')
    with pytest.raises(ValueError, match=r"unknown fields \['bogus', 'stem'\]") as info:
        PruneScope.from_value({'prefix': 'backbone.', 'stem': True, 'bogus': 1})
    assert 'include_stem' in str(info.value)  # lists the valid fields
    with pytest.raises(TypeError, match='expected None, a dict or a PruneScope'):
        PruneScope.from_value(['Conv2d'])


@pytest.mark.parametrize('scope', [
    PruneScope(),
    PruneScope(layer_types=('Conv2d', 'Conv1d'), include_stem=True, include_linear=True,
               prefix='backbone.', include=(r'layer\d',), exclude=('downsample', 'conv3')),
])
def test_to_dict_round_trip(scope: PruneScope) -> None:
    data = scope.to_dict()
    assert set(data) == {f.name for f in dataclasses.fields(PruneScope)}
    assert json.loads(json.dumps(data)) == data  # JSON-serialisable, lists not tuples
    assert PruneScope.from_value(data) == scope
    assert PruneScope.from_value(json.loads(json.dumps(data))) == scope


def test_sequences_are_normalised_and_scope_is_frozen() -> None:
    scope = PruneScope(layer_types=['Conv2d'], include=['a'], exclude='b')
    assert scope == PruneScope(include=('a',), exclude=('b',))
    assert scope.layer_types == ('Conv2d',) and scope.exclude == ('b',)
    assert hash(scope) == hash(PruneScope(include=('a',), exclude=('b',)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        scope.prefix = 'backbone.'  # type: ignore[misc]


@pytest.mark.parametrize('fields, message', [
    (dict(prefix=5), "prefix must be a string such as 'backbone.'"),
    (dict(include_stem='no'), 'include_stem must be True or False'),
    (dict(include_linear=1), 'include_linear must be True or False'),
])
def test_fields_of_the_wrong_type_are_refused(fields, message):
    # prefix=5 failed only in select (startswith), include_stem='no' read as True.
    with pytest.raises(TypeError, match=message):
        PruneScope.from_value(fields)
