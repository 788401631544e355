"""Ticket files: bit-exact round trips, size, atomic writes and clear errors, never unpickling."""
from __future__ import annotations

import json
import os
import pickle
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save
from safetensors.torch import save_file
from torch import nn

from lth_mm.core import PruneScope, Ticket, TicketFileError
from lth_mm.core.ticket_file import FORMAT, pack_mask, pack_masks, unpack_mask, unpack_masks

pytestmark = pytest.mark.usefixtures('single_thread')

FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

shape_st = st.lists(st.integers(0, 9), min_size=0, max_size=4).map(tuple)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))


@st.composite
def tickets(draw) -> Ticket:
    """Random tickets: any shapes (numel 0, 1, not a multiple of 8), densities and cards."""
    shapes = draw(st.lists(shape_st, min_size=0, max_size=5))
    density = draw(st.floats(0, 1))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    masks = {f'm{i}.weight': torch.rand(s, generator=gen) < density
             for i, s in enumerate(shapes)}
    names = st.text(st.characters(codec='ascii', exclude_characters='\x00'), min_size=1,
                    max_size=12)
    card = draw(st.dictionaries(names.filter(lambda k: k != 'scope'), json_scalars, max_size=4))
    card['notes'] = draw(st.text(max_size=30))
    scope = draw(st.sampled_from([None, PruneScope(), PruneScope(prefix='backbone.',
                                                                 include=(r'layer\d',))]))
    return Ticket(masks, scope, card)


def _save_raw(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> Path:
    path.write_bytes(st_save(tensors, metadata=metadata))
    return path


def _parts(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    data = path.read_bytes()
    header = json.loads(data[8:8 + int.from_bytes(data[:8], 'little')])
    return dict(st_load(data)), header['__metadata__']


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    """A valid ticket file: two masks, one with 10 weights (2 bytes, 6 padding bits)."""
    ticket = Ticket({'a.weight': torch.tensor([1, 0, 1, 1, 0, 0, 1, 0, 1, 1]),
                     'b.weight': torch.ones(2, 4)}, PruneScope(), {'notes': 'ok'})
    ticket.save(tmp_path / 'ticket.safetensors')
    return tmp_path / 'ticket.safetensors'


# Round trips -----------------------------------------------------------------------------------
@given(ticket=tickets())
@FAST
def test_save_load_is_bit_exact(tmp_path: Path, ticket: Ticket) -> None:
    path = tmp_path / 'sub' / 'dir' / 't.safetensors'  # missing folders are created
    ticket.save(path)
    loaded = Ticket.load(path)
    assert loaded == ticket
    assert list(loaded) == list(ticket)
    assert all(loaded[k].shape == ticket[k].shape and loaded[k].dtype == torch.bool
               for k in ticket)
    assert loaded.card == ticket.card
    assert loaded.scope == ticket.scope
    assert loaded.sparsity == ticket.sparsity


@given(shape=shape_st, seed=st.integers(0, 1000))
@settings(max_examples=40, deadline=None)
def test_pack_unpack(shape: tuple[int, ...], seed: int) -> None:
    mask = torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < 0.5
    packed = pack_mask(mask)
    numel = mask.numel()
    assert packed.dtype == np.uint8 and packed.shape == ((numel + 7) // 8,)
    if numel % 8:  # zero padding in the low bits of the last byte
        assert int(packed[-1]) & ((1 << (8 - numel % 8)) - 1) == 0
    assert torch.equal(unpack_mask(packed, shape), mask)


def test_bit_order_is_numpy_big_endian() -> None:
    packed = pack_mask(torch.tensor([True, False, False, False, False, False, False, True, True]))
    assert packed.tolist() == [0b10000001, 0b10000000]


def test_resnet50_ticket_costs_about_one_bit_per_weight(tmp_path: Path,
                                                        resnet50: nn.Module) -> None:
    dense = Ticket.dense(resnet50)
    gen = torch.Generator().manual_seed(0)
    ticket = Ticket({k: torch.rand(m.shape, generator=gen) < 0.2 for k, m in dense.items()},
                    dense.scope, dense.card)
    path = tmp_path / 'r50.safetensors'
    ticket.save(path)
    assert path.stat().st_size * 8 / ticket.numel < 1.02
    assert Ticket.load(path) == ticket


def test_saved_file_is_readable_like_an_ordinary_file(saved: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o666 & ~umask


def test_writes_never_change_the_umask_and_sync_the_folder(tmp_path, monkeypatch) -> None:
    """Another thread creating a file meanwhile must get the process's umask; the rename must
    survive a power cut (the folder is synced after it)."""
    from lth_mm.core import atomic
    if not Path('/proc/self/status').exists():
        pytest.skip('reads the umask from /proc (Linux)')
    umasks, synced = [], []
    real_umask, real_fsync = os.umask, os.fsync
    monkeypatch.setattr(os, 'umask', lambda mask: umasks.append(mask) or real_umask(mask))
    monkeypatch.setattr(os, 'fsync', lambda fd: synced.append(
        stat.S_ISDIR(os.fstat(fd).st_mode)) or real_fsync(fd))
    previous = real_umask(0o027)
    try:
        atomic.atomic_write_bytes(tmp_path / 'sub' / 'file.bin', b'data')
    finally:
        real_umask(previous)
    assert umasks == [] and synced == [False, True]  # the file, then its folder
    assert stat.S_IMODE((tmp_path / 'sub' / 'file.bin').stat().st_mode) == 0o640


def test_metadata_layout(saved: Path) -> None:
    tensors, metadata = _parts(saved)
    assert metadata['format'] == FORMAT and metadata['format_version'] == '1'
    assert json.loads(metadata['shapes']) == {'a.weight': [10], 'b.weight': [2, 4]}
    card = json.loads(metadata['card'])
    assert card['notes'] == 'ok' and card['scope'] == PruneScope().to_dict()
    assert tensors['a.weight'].tolist() == [0b10110010, 0b11000000]
    assert tensors['b.weight'].tolist() == [0xFF]


# Atomic writes ---------------------------------------------------------------------------------
@pytest.mark.parametrize('fail', ['replace', 'fsync', 'chmod'])
@pytest.mark.parametrize('error', [OSError('disk full'), KeyboardInterrupt('disk full')])
def test_failed_save_leaves_the_old_file(saved: Path, monkeypatch: pytest.MonkeyPatch,
                                         fail: str, error: BaseException) -> None:
    old_bytes = saved.read_bytes()
    other = Ticket({'c.weight': torch.zeros(100)})

    def boom(*args, **kwargs):
        raise error

    monkeypatch.setattr(os, fail, boom)
    with pytest.raises(type(error), match='disk full'):
        other.save(saved)
    monkeypatch.undo()
    assert saved.read_bytes() == old_bytes
    assert sorted(p.name for p in saved.parent.iterdir()) == [saved.name]  # no temp files
    assert Ticket.load(saved)['a.weight'].tolist()[:3] == [True, False, True]


def test_save_replaces_an_existing_file(saved: Path) -> None:
    other = Ticket({'c.weight': torch.zeros(100)})
    other.save(saved)
    assert Ticket.load(saved) == other
    assert sorted(p.name for p in saved.parent.iterdir()) == [saved.name]


# Load errors -----------------------------------------------------------------------------------
def _expect(path: Path, *fragments: str) -> TicketFileError:
    with pytest.raises(TicketFileError) as info:
        Ticket.load(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    assert isinstance(info.value, ValueError)
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    _expect(tmp_path / 'nope.safetensors', 'does not exist')
    _expect(tmp_path, 'is not a file')


@pytest.mark.parametrize('cut', [1, 8, 9, 40])
def test_truncated_file(saved: Path, cut: int) -> None:
    data = saved.read_bytes()
    saved.write_bytes(data[:cut])
    _expect(saved, 'not a readable lth_mm ticket file')


@pytest.mark.parametrize('cut', [-1, -3])  # the tensor data is 3 bytes
def test_truncated_tensor_data_is_named_a_damaged_ticket(saved: Path, cut: int) -> None:
    """The header was read as an lth_mm ticket's: the file is that, cut short; not 'foreign'."""
    data = saved.read_bytes()
    saved.write_bytes(data[:cut])
    err = _expect(saved, 'damaged lth_mm ticket file', f'the file is {len(data) + cut:,} bytes',
                  f'shorter than the {len(data):,} its header describes', 'Copy it again')
    assert 'not a safetensors file' not in str(err)


def test_appended_bytes_are_named(saved: Path) -> None:
    data = saved.read_bytes()
    saved.write_bytes(data + b'\0' * 3)
    err = _expect(saved, 'damaged lth_mm ticket file',
                  f'longer than the {len(data):,} its header describes', 'Copy it again')
    assert 'not a safetensors file' not in str(err)


@pytest.mark.parametrize('data', [b'', b'hello world, not a ticket', bytes(range(256)) * 4,
                                  b'\xff' * 64, b'{"json": true}'])
def test_garbage_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / 'garbage.safetensors'
    path.write_bytes(data)
    _expect(path, 'not a readable lth_mm ticket file', 'not a safetensors file')


@pytest.mark.parametrize('zipfile', [True, False])
def test_torch_save_pickle_points_to_from_torch_prune(tmp_path: Path, zipfile: bool) -> None:
    path = tmp_path / 'mask.pth'
    torch.save({'state_dict': {'layer1.0.conv1.weight_mask': torch.ones(3)}}, path,
               _use_new_zipfile_serialization=zipfile)
    _expect(path, 'PyTorch checkpoint', 'Ticket.from_torch_prune')


def test_plain_safetensors_weights_file(tmp_path: Path) -> None:
    path = tmp_path / 'weights.safetensors'
    save_file({'conv.weight': torch.randn(2, 3)}, str(path))
    _expect(path, 'not an lth_mm ticket', 'format=None')
    save_file({'conv.weight': torch.randn(2, 3)}, str(path), metadata={'format': 'pt'})
    _expect(path, 'not an lth_mm ticket', "format='pt'")


def test_unsupported_format_version(saved: Path) -> None:
    tensors, metadata = _parts(saved)
    _save_raw(saved, tensors, dict(metadata, format_version='2'))
    _expect(saved, "format version '2' is not supported")
    _save_raw(saved, tensors, {k: v for k, v in metadata.items() if k != 'format_version'})
    _expect(saved, 'format version None is not supported')


@pytest.mark.parametrize('shapes', [
    'not json', '[10, 8]', '{"a.weight": 10, "b.weight": [2, 4]}',
    '{"a.weight": [-10], "b.weight": [2, 4]}', '{"a.weight": [-2, -5], "b.weight": [2, 4]}',
    '{"a.weight": [2.5, 4], "b.weight": [2, 4]}', '{"a.weight": ["10"], "b.weight": [2, 4]}',
    '{"a.weight": [true], "b.weight": [2, 4]}', '{"a.weight": null, "b.weight": [2, 4]}',
    None])
def test_corrupt_shapes_metadata(saved: Path, shapes: str | None) -> None:
    tensors, metadata = _parts(saved)
    metadata = {k: v for k, v in metadata.items() if k != 'shapes'}
    if shapes is not None:
        metadata['shapes'] = shapes
    _save_raw(saved, tensors, metadata)
    _expect(saved, 'corrupt ticket metadata')


@pytest.mark.parametrize('shape, fragment', [
    ([0, 10**20], 'overflow a 64-bit integer'), ([0, 2**62, 2], 'overflow a 64-bit integer'),
    ([0, 2**63], 'overflow a 64-bit integer'), ([1] * 10_000, '10000 dimensions, at most 32'),
    ([1] * 33, '33 dimensions, at most 32')])
def test_shapes_beyond_int64_or_32_dims(saved: Path, shape: list[int], fragment: str) -> None:
    """Rejected as corrupt metadata naming the mask, not a torch overflow with a C++ stack."""
    tensors, metadata = _parts(saved)
    numel = 0 if 0 in shape else 1
    tensors['a.weight'] = np.zeros((numel + 7) // 8, np.uint8)
    _save_raw(saved, tensors, dict(metadata, shapes=json.dumps(dict(
        json.loads(metadata['shapes']), **{'a.weight': shape}))))
    _expect(saved, 'corrupt ticket metadata', "'a.weight'", fragment)
    record = pack_masks({'b.weight': torch.ones(2, 4, dtype=torch.bool)}, {})
    record['shapes']['b.weight'] = shape
    record['masks']['b.weight'] = torch.zeros((numel + 7) // 8, dtype=torch.uint8)
    with pytest.raises(TicketFileError, match=f"corrupt ticket record.*'b.weight'.*{fragment}"):
        unpack_masks(record, where='ckpt.pth')


@pytest.mark.parametrize('shape', [[1] * 32, [0, 2**62], [2**31, 0, 2**31], [0, 2**63 - 1]])
def test_shapes_at_the_limits_load(saved: Path, shape: list[int]) -> None:
    tensors, metadata = _parts(saved)
    tensors['a.weight'] = np.full((1 if 0 not in shape else 0), 0x80, np.uint8)
    _save_raw(saved, tensors, dict(metadata, shapes=json.dumps(dict(
        json.loads(metadata['shapes']), **{'a.weight': shape}))))
    assert list(Ticket.load(saved)['a.weight'].shape) == shape


@pytest.mark.parametrize('keep', [0, 2], ids=['no-tensor-data', 'cut-tensor-data'])
def test_format_is_checked_before_the_tensors_are_read(saved: Path, keep: int) -> None:
    """A file of another format version says so, even when its tensor data is cut short."""
    tensors, metadata = _parts(saved)
    for edit, fragments in (({'format_version': '2'}, ["format version '2' is not supported"]),
                            ({'format': 'other'}, ['not an lth_mm ticket', "format='other'"])):
        data = _save_raw(saved, tensors, dict(metadata, **edit)).read_bytes()
        saved.write_bytes(data[:8 + int.from_bytes(data[:8], 'little') + keep])
        _expect(saved, *fragments)


@pytest.mark.parametrize('header', [b'[1, 2]', b'"text"', b'{"__metadata__": [1]}',
                                    b'[' * 100_000, b'\xff\xfe'])
def test_header_that_is_not_a_json_object(tmp_path: Path, header: bytes) -> None:
    path = tmp_path / 'odd.safetensors'
    path.write_bytes(len(header).to_bytes(8, 'little') + header)
    _expect(path, 'not a readable lth_mm ticket file')


def test_deeply_nested_shapes_metadata(saved: Path) -> None:
    tensors, metadata = _parts(saved)
    _save_raw(saved, tensors, dict(metadata, shapes='[' * 100_000))
    _expect(saved, 'corrupt ticket metadata')


@pytest.mark.parametrize('card', ['{broken', '[1, 2]', '"text"'])
def test_corrupt_card(saved: Path, card: str) -> None:
    tensors, metadata = _parts(saved)
    _save_raw(saved, tensors, dict(metadata, card=card))
    _expect(saved, 'corrupt ticket metadata')


def test_invalid_scope_in_card(saved: Path) -> None:
    tensors, metadata = _parts(saved)
    _save_raw(saved, tensors, dict(metadata, card=json.dumps({'scope': {'bogus': 1}})))
    _expect(saved, 'invalid scope', 'bogus')
    _save_raw(saved, tensors, dict(metadata, card=json.dumps({'scope': {'include': ['(']}})))
    _expect(saved, 'invalid scope', 'regular expression')


@pytest.mark.parametrize('value', ['"x"', '-1', '1.5', 'true'])
def test_a_round_that_is_no_round_number(saved: Path, value: str) -> None:
    """Read before anything prunes from the ticket (the next round is the card's + 1)."""
    tensors, metadata = _parts(saved)
    _save_raw(saved, tensors, dict(metadata, card=f'{{"round": {value}}}'))
    _expect(saved, 'invalid ticket card', "round must be an integer >= 0")


def test_shapes_and_masks_disagree(saved: Path) -> None:
    tensors, metadata = _parts(saved)
    shapes = json.loads(metadata['shapes'])
    _save_raw(saved, tensors, dict(metadata, shapes=json.dumps(dict(shapes, c=[3]))))
    _expect(saved, 'corrupt ticket', "shapes without mask ['c']")
    _save_raw(saved, dict(tensors, d=np.zeros(1, np.uint8)), metadata)
    _expect(saved, 'corrupt ticket', "masks without shape ['d']")


def test_unreadable_tensor_entry_in_a_ticket_header(saved: Path) -> None:
    """An lth_mm header whose tensor entries safetensors refuses: damaged, not foreign."""
    data = saved.read_bytes()
    assert data.count(b'"shape":[2]') == 1  # a.weight: 2 packed bytes
    saved.write_bytes(data.replace(b'"shape":[2]', b'"shape":[7]'))
    err = _expect(saved, 'damaged lth_mm ticket file', 'its tensor data does not',
                  'Copy it again')
    assert 'not a safetensors file' not in str(err)


@pytest.mark.parametrize('packed, fragments', [
    (np.zeros(3, np.uint8), ['3 bytes of uint8 for shape [10]', 'expected 2 uint8 bytes']),
    (np.zeros(1, np.uint8), ['1 bytes of uint8 for shape [10]', 'expected 2 uint8 bytes']),
    (np.zeros(0, np.uint8), ['0 bytes of uint8 for shape [10]', 'expected 2 uint8 bytes']),
    (np.zeros((1, 2), np.uint8), ['stored with 2 dimensions [1, 2]', 'packed masks are 1-D']),
    (np.zeros((2, 1), np.uint8), ['stored with 2 dimensions [2, 1]', 'packed masks are 1-D']),
    (np.zeros(2, np.int8), ['stored as int8', 'bit-packed as uint8']),
    (np.zeros(2, np.float32), ['stored as float32', 'bit-packed as uint8'])])
def test_wrong_packed_length_dtype_or_ndim(saved: Path, packed: np.ndarray,
                                           fragments: list[str]) -> None:
    """Each defect is named as such: a 2-D mask of the right byte count is not 'N bytes'."""
    tensors, metadata = _parts(saved)
    _save_raw(saved, dict(tensors, **{'a.weight': packed}), metadata)
    _expect(saved, "corrupt mask 'a.weight'", *fragments)
    record = pack_masks({'a.weight': torch.ones(10, dtype=torch.bool)}, {})
    record['masks']['a.weight'] = torch.from_numpy(packed)
    with pytest.raises(TicketFileError, match="corrupt mask 'a.weight'") as info:
        unpack_masks(record, where='ckpt.pth')
    assert all(fragment in str(info.value) for fragment in fragments), info.value


@pytest.mark.parametrize('bit', range(6))
def test_padding_bits_set(saved: Path, bit: int) -> None:
    tensors, metadata = _parts(saved)
    packed = tensors['a.weight'].copy()
    packed[-1] |= 1 << bit  # 10 weights: the 6 low bits of the second byte are padding
    _save_raw(saved, dict(tensors, **{'a.weight': packed}), metadata)
    _expect(saved, "corrupt mask 'a.weight'", 'padding bits are set')


def test_the_last_real_bit_is_not_padding(saved: Path) -> None:
    tensors, metadata = _parts(saved)
    packed = tensors['a.weight'].copy()
    packed[-1] = 0b01000000  # weight 9 kept, weight 8 pruned: valid
    _save_raw(saved, dict(tensors, **{'a.weight': packed}), metadata)
    assert Ticket.load(saved)['a.weight'].tolist()[8:] == [False, True]


# Never unpickle --------------------------------------------------------------------------------
@pytest.fixture
def no_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args, **kwargs):
        raise AssertionError('Ticket.load must never unpickle')

    for module, name in [(pickle, 'load'), (pickle, 'loads'), (pickle, 'Unpickler'),
                         (torch, 'load')]:
        monkeypatch.setattr(module, name, forbidden)


@pytest.mark.usefixtures('no_unpickling')
def test_loading_never_unpickles(saved: Path, tmp_path: Path) -> None:
    assert Ticket.load(saved).card['notes'] == 'ok'
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps({'a': 1}, protocol=2))
    _expect(path, 'Ticket.from_torch_prune')


@given(edit=st.one_of(
    st.tuples(st.just('flip'), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just('cut'), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just('random'), st.integers(0, 10**6), st.integers(0, 300))))
@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_corrupted_files_load_or_raise_ticket_file_error(saved: Path, edit) -> None:
    """Whatever the damage, loading gives a valid ticket or a TicketFileError, nothing else."""
    kind, where, extra = edit
    data = bytearray(saved.read_bytes())
    if kind == 'flip':
        data[where % len(data)] ^= 1 << extra
    elif kind == 'cut':
        data = data[:where % len(data)]
    else:
        data = bytearray(np.random.default_rng(where).bytes(extra))
    path = saved.with_name('damaged.safetensors')
    path.write_bytes(bytes(data))
    try:
        ticket = Ticket.load(path)
    except TicketFileError as err:
        assert str(path) in str(err)
    else:
        assert all(m.dtype == torch.bool for m in ticket.values())
