"""Reading torch files of the original code without running their code (lth_mm.core.torch_file)."""
from __future__ import annotations

import argparse
import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lth_mm.core import Ticket, UnsafeFileError, keymap, load_torch_file


class Marker:
    """Unpickling this object creates a file: the stand-in for code run by a hostile pickle."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, 'w'))


def mask_file(path: Path, **extra) -> Path:
    torch.save({'state_dict': {'module.layer1.0.conv1.weight_mask': torch.ones(2, 2, 3, 3)},
                **extra}, path)
    return path


def test_plain_files_and_the_allow_list(tmp_path):
    path = mask_file(tmp_path / 'plain.pth.tar', epoch=np.int64(3), best_acc=np.float64(95.1),
                     args=argparse.Namespace(arch='resnet50', lr=0.1), hist=np.arange(3))
    loaded = load_torch_file(path)
    assert loaded['epoch'] == 3 and loaded['best_acc'] == pytest.approx(95.1)
    assert loaded['args'].arch == 'resnet50' and list(loaded['hist']) == [0, 1, 2]
    assert Ticket.from_torch_prune(path).sparsity == 0.0


def test_a_pickle_that_runs_code_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / 'marker'
    path = mask_file(tmp_path / 'hostile.pth.tar', extra=Marker(marker))
    assert not marker.exists()
    for read in (load_torch_file, Ticket.from_torch_prune, Ticket.read, keymap.read_state_dict):
        with pytest.raises(UnsafeFileError) as err:
            read(path)
        assert str(path) in str(err.value) and 'io.open' in str(err.value)
        assert 'allow_pickle=True' in str(err.value) and '--allow-pickle' in str(err.value)
        assert not marker.exists()
    # The opt-in, for a file the user trusts, really unpickles it (and so runs its code).
    assert Ticket.read(path, allow_pickle=True).sparsity == 0.0
    assert marker.exists()


@pytest.mark.parametrize('value', ['false', 'no', 1, 0, None])
def test_only_a_real_bool_opts_in(tmp_path, value):
    """A config string such as 'false' is truthy: it must not opt in to running the file's code."""
    marker = tmp_path / 'marker'
    path = mask_file(tmp_path / 'hostile.pth.tar', extra=Marker(marker))
    for read in (lambda: load_torch_file(path, allow_pickle=value),
                 lambda: Ticket.read(path, allow_pickle=value)):
        with pytest.raises(TypeError, match='must be True or False'):
            read()
    assert not marker.exists()


def test_hooks_and_initializers_refuse_a_non_bool_opt_in(tmp_path):
    from lth_mm.engine.mapped_pretrained import MappedPretrainedInit
    from lth_mm.hooks import TicketHook

    with pytest.raises(TypeError, match="TicketHook: allow_pickle must be True or False.*'yes'"):
        TicketHook(ticket=str(tmp_path / 't.safetensors'), allow_pickle='yes')
    with pytest.raises(TypeError, match='MappedPretrained: allow_pickle'):
        MappedPretrainedInit(checkpoint=str(tmp_path / 'w.pth'), allow_pickle='false')


def test_missing_truncated_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth does not exist'):
        load_torch_file(tmp_path / 'missing.pth')
    with pytest.raises(FileNotFoundError, match='is a directory'):
        load_torch_file(tmp_path)
    with pytest.raises(FileNotFoundError):
        Ticket.from_torch_prune(tmp_path / 'missing.pth')
    whole = mask_file(tmp_path / 'whole.pth').read_bytes()
    (tmp_path / 'cut.pth').write_bytes(whole[:len(whole) // 2])
    with pytest.raises(ValueError, match='cut.pth is not a readable PyTorch file'):
        load_torch_file(tmp_path / 'cut.pth')
    torch.save({'weights': torch.ones(2)}, tmp_path / 'weights.pth')
    with pytest.raises(ValueError, match=r'weights.pth: no "\*.weight_mask" tensors found'):
        Ticket.read(tmp_path / 'weights.pth')


def test_read_takes_both_formats(tmp_path):
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.Conv2d(4, 4, 3))
    ticket = Ticket.dense(model, dict(include_stem=True)).prune(model, 0.5)
    ticket.save(tmp_path / 'ticket.bin')  # recognised by content, not by name
    assert Ticket.read(tmp_path / 'ticket.bin') == ticket
    torch.save({'state_dict': ticket.to_torch_prune(prefix='module.')}, tmp_path / 'orig.pth')
    assert Ticket.read(tmp_path / 'orig.pth') == ticket
    (tmp_path / 'text.txt').write_text('not a ticket')
    with pytest.raises(ValueError, match='not a readable lth_mm ticket file'):
        Ticket.read(tmp_path / 'text.txt')


def test_read_takes_the_ticket_a_checkpoint_records(tmp_path):
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.Conv2d(4, 4, 3))
    ticket = Ticket.dense(model, dict(include_stem=True)).prune(model, 0.5)
    ticket.card['notes'] = 'round 1 of a search'
    # as IMPHook writes round_XX_best.pth and the hooks record the ticket in every checkpoint
    torch.save({'state_dict': model.state_dict(), 'lth_mm_ticket': ticket.pack(),
                'meta': dict(round=1)}, tmp_path / 'round_01_best.pth')
    read = Ticket.read(tmp_path / 'round_01_best.pth')
    assert read == ticket and read.card == ticket.card
    # a checkpoint of a dense run: says so, not just "no masks"
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, tmp_path / 'epoch_1.pth')
    with pytest.raises(ValueError, match=r"epoch_1.pth is a checkpoint that records no ticket "
                                         r"\(no 'lth_mm_ticket'"):
        Ticket.read(tmp_path / 'epoch_1.pth')
    # a damaged record is named as such
    torch.save({'lth_mm_ticket': {'masks': 3}}, tmp_path / 'bad.pth')
    with pytest.raises(ValueError, match=r"bad.pth \('lth_mm_ticket'\)"):
        Ticket.read(tmp_path / 'bad.pth')
    # a bad mask beside the meta of a checkpoint is named, not hidden as "no ticket"
    torch.save({'meta': {}, 'state_dict': {'0.weight_mask': torch.full((4, 2, 3, 3), 0.5)}},
               tmp_path / 'half.pth')
    with pytest.raises(ValueError, match='0.weight_mask holds values other than 0 and 1'):
        Ticket.read(tmp_path / 'half.pth')
    # a record of None is no record (as the hooks read checkpoints): the masks beside it count
    torch.save({'lth_mm_ticket': None, 'state_dict': ticket.to_torch_prune()},
               tmp_path / 'none.pth')
    assert Ticket.read(tmp_path / 'none.pth') == ticket
    # the file is named when its top level is no dict
    torch.save(torch.ones(3), tmp_path / 'tensor.pth')
    with pytest.raises(ValueError, match=r'tensor.pth: expected a state dict'):
        Ticket.read(tmp_path / 'tensor.pth')


@pytest.mark.parametrize('damage', ['meta_mask', 'int_name', 'tuple_name', 'tensor_card',
                                    'list_card', 'sparse_mask'])
def test_a_crafted_checkpoint_record_is_a_ticket_file_error(tmp_path, damage):
    """A record is checked as a ticket file is: names are strings, masks dense tensors with
    values, the card a JSON object; anything else is a TicketFileError naming the file."""
    from lth_mm.core.ticket_file import TicketFileError

    model = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3))
    record = Ticket.dense(model, dict(include_stem=True)).prune(model, 0.5).pack()
    name = next(iter(record['masks']))
    if damage == 'meta_mask':
        record['masks'][name] = torch.empty(record['masks'][name].shape, dtype=torch.uint8,
                                            device='meta')
    elif damage in ('int_name', 'tuple_name'):
        new = 7 if damage == 'int_name' else ('a', 1)
        record['masks'] = {new: record['masks'][name]}
        record['shapes'] = {new: record['shapes'][name]}
    elif damage == 'tensor_card':
        record['card'] = {'notes': torch.ones(2)}
    elif damage == 'list_card':
        record['card'] = [1, 2]
    else:
        record['masks'][name] = record['masks'][name].to_sparse()
    path = tmp_path / f'{damage}.pth'
    torch.save({'lth_mm_ticket': record}, path)
    with pytest.raises(TicketFileError, match=rf"{damage}.pth \('lth_mm_ticket'\): corrupt"):
        Ticket.read(path)


class Command:
    """A pickle that calls ``os.system``: torch refuses its module outright."""

    def __reduce__(self):
        return (os.system, ('true',))


def saved_bytes(obj, legacy: bool) -> bytes:
    """``torch.save`` output, in the zip format or the format before torch 1.6."""
    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=not legacy)
    return buffer.getvalue()


PLAIN = {'state_dict': {'module.layer1.0.conv1.weight_mask': torch.ones(2, 2, 3, 3)}}
LEGACY_PLAIN = saved_bytes(PLAIN, legacy=True)


@pytest.mark.parametrize('data', [
    b'hello world', b'{"a": 1}', b'\x80\x02garbage', b'PK\x03\x04' + bytes(40),
    pickle.dumps({'x': 1}, protocol=0), pickle.dumps({'x': 1}, protocol=2),
    LEGACY_PLAIN[:3], LEGACY_PLAIN[:31], LEGACY_PLAIN[:206], LEGACY_PLAIN[:-1]],
    ids=['text', 'json', 'pickle-opcode-garbage', 'zip-header-garbage', 'pickle-proto0',
         'pickle-not-torch', 'legacy-cut-3', 'legacy-cut-31', 'legacy-cut-206', 'legacy-cut-1'])
@pytest.mark.parametrize('allow_pickle', [False, True])
def test_corrupt_and_foreign_files_are_unreadable_not_unsafe(tmp_path, data, allow_pickle):
    """A damaged file is reported as such, naming the file: never a raw torch error, and never
    the advice to opt in to full unpickling (which would not help, and would run the file)."""
    path = tmp_path / 'bad.pth'
    path.write_bytes(data)
    with pytest.raises(ValueError, match='bad.pth is not a readable PyTorch file') as err:
        load_torch_file(path, allow_pickle=allow_pickle)
    assert not isinstance(err.value, UnsafeFileError)
    assert 'allow_pickle' not in str(err.value) and 'weights_only' not in str(err.value)
    with pytest.raises(ValueError, match='bad.pth'):
        Ticket.read(path, allow_pickle=allow_pickle)


@given(data=st.data())
@settings(max_examples=60, deadline=None)
def test_every_truncation_of_a_plain_file_is_unreadable(tmp_path_factory, data):
    legacy = data.draw(st.booleans(), label='legacy')
    whole = LEGACY_PLAIN if legacy else saved_bytes(PLAIN, legacy=False)
    cut = data.draw(st.integers(0, len(whole) - 1), label='cut')
    path = tmp_path_factory.mktemp('cut') / 'cut.pth'
    path.write_bytes(whole[:cut])
    with pytest.raises(ValueError, match='cut.pth is not a readable PyTorch file') as err:
        load_torch_file(path)
    assert not isinstance(err.value, UnsafeFileError)


@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'legacy'])
@pytest.mark.parametrize('obj, needed', [(Marker('unused'), 'io.open'),
                                          (Command(), 'system')], ids=['open', 'os.system'])
def test_a_complete_file_with_code_is_unsafe_in_both_formats(tmp_path, legacy, obj, needed):
    path = tmp_path / 'code.pth'
    path.write_bytes(saved_bytes({'state_dict': PLAIN['state_dict'], 'extra': obj}, legacy))
    with pytest.raises(UnsafeFileError, match=f'code.pth refers to the object \\S*{needed}'):
        load_torch_file(path)


def test_a_truncated_file_with_code_is_unreadable_even_with_the_opt_in(tmp_path):
    """Cut inside or after the name of the function it refers to, the file looks like it needs
    unpickling; the opt-in would not help: the file is damaged."""
    whole = saved_bytes({'state_dict': PLAIN['state_dict'], 'extra': Marker('unused')}, True)
    path = tmp_path / 'cut.pth'
    name = whole.index(b'io\nopen\n')  # the GLOBAL opcode's argument: module, name
    for cut in (name + 5, name + 8):  # inside the name; just after it (the rest is missing)
        path.write_bytes(whole[:cut])
        for allow_pickle in (False, True):
            with pytest.raises(ValueError, match='cut.pth is not a readable PyTorch file') as err:
                load_torch_file(path, allow_pickle=allow_pickle)
            assert not isinstance(err.value, UnsafeFileError)


@pytest.mark.parametrize('protocol', [4, 5])
def test_a_whole_file_of_a_newer_pickle_protocol_needs_the_opt_in_not_corrupt(tmp_path, protocol):
    # torch's restricted unpickler refuses protocol 4/5 framing without naming a global; such a
    # file is whole, so it is one to opt in for, not a damaged one.
    path = tmp_path / 'p.pth'
    torch.save({'w': torch.ones(3)}, path, pickle_protocol=protocol)
    with pytest.raises(UnsafeFileError, match='allow_pickle=True'):
        load_torch_file(path)
    assert torch.equal(load_torch_file(path, allow_pickle=True)['w'], torch.ones(3))


# A dtype a pickle rebuilds as a copy and then gives object fields: an array of it reads the
# file's bytes as object pointers (numpy frees an address the file chose: a crash, or worse).
class _ObjectDtype:
    def __reduce__(self):
        return (np.dtype, ('O8', False, True))


class _CraftedDtype:
    def __init__(self, spec: str) -> None:
        self.spec = spec

    def __reduce__(self):
        if self.spec == 'f8-flags':  # no fields, only the flag that says "holds objects"
            return (np.dtype, ('f8', False, True), (3, '<', None, None, None, -1, -1, 1))
        fields = {'a': (_ObjectDtype(), 0)}
        return (np.dtype, (self.spec, False, True), (3, '|', None, ('a', ), fields, 8, 1, 1))


class _CraftedArray:
    def __init__(self, spec: str) -> None:
        self.spec = spec

    def __reduce__(self):
        state = (1, (1, ), _CraftedDtype(self.spec), False, b'\x41' * 8)
        return (np.core.multiarray._reconstruct, (np.ndarray, (0, ), b'b'), state)


_LOAD_ALL = """
import sys
from lth_mm.compat import load_local_checkpoint
from lth_mm.core.torch_file import load_torch_file
from lth_mm.datasets.cifar10 import read_cifar_batch
readers = {'checkpoint': load_local_checkpoint, 'torch_file': load_torch_file,
           'cifar': lambda path: read_cifar_batch(path, 'CIFAR', 'url')}
for path in sys.argv[1:]:
    reader = path.rsplit('.', 1)[-1]
    try:
        readers[reader](path)
    except ValueError as err:
        print('refused', path, type(err).__name__, flush=True)
    else:
        print('loaded', path, flush=True)
"""


def test_a_crafted_dtype_is_refused_not_built(tmp_path: Path) -> None:
    """numpy.dtype in a pickle gives numpy's shared number dtypes only: a crafted one is refused
    by the checkpoint loader, load_torch_file and the CIFAR reader (each loaded it, and the
    process crashed when the array was freed or read). In another process: a crash is a fail."""
    import subprocess
    import sys

    paths = []
    for spec in ('V8', 'f8', 'S8', 'f8-flags'):
        for reader in ('checkpoint', 'torch_file'):
            paths.append(tmp_path / f'{spec}.{reader}')
            torch.save({'meta': {'epoch': 1, 'x': _CraftedArray(spec)},
                        'state_dict': {'w': torch.zeros(2)}}, paths[-1])
        paths.append(tmp_path / f'{spec}.cifar')
        paths[-1].write_bytes(pickle.dumps({'labels': [0], 'data': np.zeros((1, 3072), np.uint8),
                                            'x': _CraftedArray(spec)}, protocol=2))
    env = {k: v for k, v in os.environ.items() if k != 'LTH_MM_ALLOW_PICKLE'}
    out = subprocess.run([sys.executable, '-c', _LOAD_ALL, *map(str, paths)],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, (out.returncode, out.stdout, out.stderr[-2000:])
    lines = out.stdout.splitlines()
    assert len(lines) == len(paths) and all(line.startswith('refused') for line in lines), lines


def test_big_endian_and_string_arrays_read_right(tmp_path: Path) -> None:
    """A pickle sets a dtype's byte order in its state: it is applied (the shared dtypes
    ignored it, and '>f8' arrays read as denormals), and string arrays are plain data too."""
    from lth_mm.datasets.cifar10 import read_cifar_batch

    values = {'f': np.arange(3, dtype='>f8'), 'i': np.arange(3, dtype='>i4'),
              'n': argparse.Namespace(a=np.arange(2, dtype='>i2')), 'u': np.array(['ab', 'c']),
              's': np.str_('resnet'), 'b': np.array([b'xy']), 'h': np.arange(2, dtype='<f2')}
    torch.save(values, tmp_path / 'values.pth')
    out = load_torch_file(tmp_path / 'values.pth')
    assert out['f'].tolist() == [0.0, 1.0, 2.0] and out['i'].tolist() == [0, 1, 2]
    assert out['n'].a.tolist() == [0, 1] and out['u'].tolist() == ['ab', 'c']
    assert out['s'] == 'resnet' and out['b'].tolist() == [b'xy'] and out['h'].tolist() == [0, 1]
    (tmp_path / 'batch').write_bytes(pickle.dumps(
        {'data': np.arange(3, dtype='>i4'), 'labels': [1], 'names': np.array(['q'])}, protocol=2))
    batch = read_cifar_batch(str(tmp_path / 'batch'), 'CIFAR', 'url')
    assert batch['data'].tolist() == [0, 1, 2] and batch['names'].tolist() == ['q']
