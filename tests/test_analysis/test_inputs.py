"""Reading and aligning a report's tickets: formats, prefixes, labels and clear refusals."""
from __future__ import annotations

import pathlib

import pytest
import torch
import torchvision
from safetensors.torch import save_file

from lth_mm.analysis.inputs import ReportInputError, align_tickets, default_labels, read_ticket
from lth_mm.core import Ticket


class _Touch:
    """Unpickling this runs ``Path.touch``: a full unpickler would create the file."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path

    def __reduce__(self):
        return pathlib.Path.touch, (self.path,)


def test_reads_lth_mm_and_original_mask_files(resnet18_tickets, ticket_files) -> None:
    assert read_ticket(ticket_files['magnitude']) == resnet18_tickets['magnitude']
    assert read_ticket(ticket_files['magnitude_module']) == resnet18_tickets['magnitude']
    assert read_ticket(ticket_files['random1_moco']) == resnet18_tickets['random1']


def test_reads_legacy_pickles_and_bare_dicts(resnet18_tickets, tmp_path) -> None:
    ticket = resnet18_tickets['random2']
    path = tmp_path / 'legacy.pth'
    torch.save(ticket.to_torch_prune(), path, _use_new_zipfile_serialization=False)
    assert path.read_bytes()[:1] == b'\x80'
    assert read_ticket(path) == ticket


def test_never_unpickles_arbitrary_objects(resnet18_tickets, tmp_path) -> None:
    marker = tmp_path / 'unpickled'
    path = tmp_path / 'checkpoint.pth.tar'
    torch.save({'state_dict': resnet18_tickets['magnitude'].to_torch_prune(prefix='module.'),
                'args': _Touch(marker)}, path)
    with pytest.raises(ReportInputError, match=r'checkpoint.pth.tar refers to the object .*'
                                               r'--allow-pickle'):
        read_ticket(path)
    assert not marker.exists()
    assert read_ticket(path, allow_pickle=True) == resnet18_tickets['magnitude']  # trusted


@pytest.mark.parametrize('content,message', [
    (b'just some text', 'not a readable lth_mm ticket file'),
    (None, 'safetensors file but not an lth_mm ticket'),
    ('weights', 'no "\\*.weight_mask" tensors'),
])
def test_non_ticket_files_are_refused_by_name(tmp_path, content, message) -> None:
    path = tmp_path / 'not_a_ticket.bin'
    if content is None:
        save_file({'conv.weight': torch.zeros(2)}, path)
    elif content == 'weights':
        torch.save({'state_dict': {'conv.weight': torch.zeros(2, 2)}}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(ReportInputError, match=message) as info:
        read_ticket(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path) -> None:
    with pytest.raises(ReportInputError, match='nothing.safetensors does not exist'):
        read_ticket(tmp_path / 'nothing.safetensors')
    with pytest.raises(ReportInputError, match='is not a file'):
        read_ticket(tmp_path)


def test_default_labels() -> None:
    assert default_labels(['a/imp.safetensors', 'b/random.pth.tar']) == ['imp', 'random']
    assert default_labels(['w/imp/tickets/round_05.safetensors',
                           'w/rand/tickets/round_05.safetensors']) == [
        'imp/tickets/round_05', 'rand/tickets/round_05']
    assert default_labels(['x.safetensors', 'x.safetensors']) == ['x#1', 'x#2']


def test_align_maps_key_schemes_onto_the_first(resnet18_tickets, ticket_files) -> None:
    files = [ticket_files[k] for k in ('random2_backbone', 'magnitude_module', 'random1_moco')]
    aligned = align_tickets([read_ticket(f) for f in files], [str(f) for f in files])
    ticket = resnet18_tickets['magnitude']
    assert set(aligned[1]) == {f'backbone.{k}' for k in ticket}
    assert all(torch.equal(aligned[1][f'backbone.{k}'], ticket[k]) for k in ticket)
    assert set(aligned[2]) == set(aligned[0])


def test_align_drops_a_module_prefix_of_the_first_ticket(resnet18_tickets) -> None:
    ticket = resnet18_tickets['magnitude']
    aligned = align_tickets([ticket.add_prefix('module.'), ticket.add_prefix('backbone.')],
                            ['a', 'b'])
    assert aligned[0] == aligned[1] == ticket


def test_align_refuses_other_architectures_naming_keys(resnet18_tickets) -> None:
    resnet = torchvision.models.resnet
    resnet50 = Ticket.dense(resnet.ResNet(resnet.Bottleneck, [1, 1, 1, 1]))  # conv3 per block
    with pytest.raises(ReportInputError) as info:
        align_tickets([resnet18_tickets['magnitude'], resnet50], ['r18.safetensors', 'r50.pth'])
    message = str(info.value)
    assert 'r50.pth does not cover the same weights as r18.safetensors' in message
    assert 'only in the second: layer1.0.conv3.weight' in message


def test_align_refuses_a_pruned_stem_and_other_shapes(resnet18_tickets) -> None:
    ticket = resnet18_tickets['magnitude']
    with_stem = Ticket({'conv1.weight': torch.ones(64, 3, 7, 7, dtype=torch.bool), **ticket})
    with pytest.raises(ReportInputError, match='only in the second: conv1.weight'):
        align_tickets([ticket, with_stem], ['a', 'b'])
    wider = Ticket({k: torch.ones(m.shape[0], 2 * m.shape[1], *m.shape[2:], dtype=torch.bool)
                    for k, m in ticket.items()})
    with pytest.raises(ReportInputError, match='differ in shape at: layer1.0.conv1.weight, '):
        align_tickets([ticket, wider], ['a', 'b'])


def test_align_refuses_keys_of_no_known_scheme() -> None:
    a = Ticket({'features.0.weight': torch.ones(4, 3, 3, 3)})
    b = Ticket({'features.1.weight': torch.ones(4, 3, 3, 3)})
    with pytest.raises(ReportInputError, match=r'only in the first: features.0.weight; only in '
                                               r'the second: features.1.weight.*unknown scheme'):
        align_tickets([a, b], ['a', 'b'])


def test_a_ticket_with_no_masks_is_refused(tmp_path) -> None:
    # It made a report of 'nan % remaining'.
    Ticket({}).save(tmp_path / 'empty.safetensors')
    with pytest.raises(ReportInputError, match='empty.safetensors holds no masks'):
        read_ticket(tmp_path / 'empty.safetensors')
