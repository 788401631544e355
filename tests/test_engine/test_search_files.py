"""Checks before a search: the pruning schedule, the work dir, a replay folder."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lth_mm.core import PruneScope, Ticket
from lth_mm.engine.search_files import (
    check_outside,
    check_replay,
    check_schedule,
    check_work_dir,
    clear_work_dir,
    first_round_files,
)


def _model(channels=(3, 4, 2), seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(*[nn.Conv2d(a, b, 3) for a, b in zip(channels, channels[1:])])


def test_a_schedule_that_prunes_everything_is_refused():
    with pytest.raises(ValueError, match=r'rate 0.99 over 3 rounds prunes all 1000 weights of '
                                         r'the scope by round 2'):
        check_schedule(0.99, 3, {'a': 1000}, 'global')
    with pytest.raises(ValueError, match='prunes all 1000 weights'):
        check_schedule(0.99, 3, {'a': 1000}, 'global', oneshot=True)
    check_schedule(0.2, 18, {'a': 1000}, 'global')  # the paper's 98.2 %


def test_a_round_that_prunes_nothing_is_refused():
    with pytest.raises(ValueError, match=r'round 1 of rate 0.001 prunes no weight \(of 100'):
        check_schedule(0.001, 2, {'a': 100}, 'global')
    with pytest.raises(ValueError, match='prunes no weight in any tensor'):
        check_schedule(0.001, 2, {'a': 100, 'b': 50}, 'layerwise')


def test_layerwise_names_the_tensor_it_would_empty():
    with pytest.raises(ValueError, match=r'prunes every weight of tiny \(1\) by round 1'):
        check_schedule(0.6, 2, {'big': 1000, 'tiny': 1}, 'layerwise')


@settings(max_examples=40, deadline=None)
@given(rate=st.floats(0.05, 0.95), rounds=st.integers(1, 8), mode=st.sampled_from(
    ['global', 'layerwise']))
def test_the_schedule_check_agrees_with_real_pruning(rate, rounds, mode):
    """Accepted: real pruning prunes something each round and never empties the scope (or,
    layerwise, a tensor); refused: it does one of those."""
    model = _model()
    ticket = Ticket.dense(model, PruneScope(include_stem=True))
    sizes = {name: mask.numel() for name, mask in ticket.items()}
    try:
        check_schedule(rate, rounds, sizes, mode)
        accepted = True
    except ValueError:
        accepted = False
    fine = True
    for _ in range(rounds):
        kept = ticket.kept
        try:
            ticket = ticket.prune(model, rate, mode=mode)
        except ValueError:
            fine = False
            break
        alive = [int(m.sum()) for m in ticket.values()]
        if ticket.kept == kept or ticket.kept == 0 or (mode == 'layerwise' and 0 in alive):
            fine = False
            break
    assert accepted == fine


def _search_folder(folder: Path, model: nn.Module, rounds: int = 2) -> Path:
    ticket = Ticket.dense(model)
    folder.mkdir(parents=True)
    for rnd in range(rounds + 1):
        ticket.save(folder / f'round_{rnd:02d}.safetensors')
        ticket = ticket.prune(model, 0.5)
    return folder


def test_one_shot_tickets_need_not_nest(tmp_path):
    """One-shot random tickets are each drawn from the dense ticket: they do not nest, and a
    replay of such a search is fine."""
    model = _model((3, 8, 8))
    folder = tmp_path / 'omp'
    folder.mkdir()
    dense = Ticket.dense(model)
    for rnd in (1, 2):
        ticket = dense.prune_to(model, 1 - 0.5 ** rnd, 'random',
                                generator=torch.Generator().manual_seed(rnd))
        ticket.card['round'] = rnd
        ticket.save(folder / f'round_{rnd:02d}.safetensors')
    assert [round(s, 2) for s, _ in check_replay(str(folder), 2, 0.5, model, PruneScope())] == [
        0.5, 0.75]


def test_replay_refuses_the_tickets_of_two_searches_mixed(tmp_path):
    model = _model((3, 8, 8))
    first = _search_folder(tmp_path / 'a', model)
    found = check_replay(str(first), 2, 0.5, model, PruneScope())
    assert [round(s, 2) for s, _ in found] == [0.5, 0.75]
    assert found[1][1] == Ticket.load(first / 'round_02.safetensors').digest()
    other = _model((3, 8, 8), seed=1)  # another search: other weights, other masks
    second = _search_folder(tmp_path / 'b', other)
    (first / 'round_02.safetensors').write_bytes((second / 'round_02.safetensors').read_bytes())
    with pytest.raises(ValueError, match=r'round_02.safetensors keeps \d+ weights round_01 '
                                         r'pruned: the two are not of one search'):
        check_replay(str(first), 2, 0.5, model, PruneScope())


def test_masks_from_inside_the_searchs_own_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match='lies inside this search'):
        check_outside(str(tmp_path / 'w' / 'imp' / 'tickets'), str(tmp_path / 'w' / 'imp'))
    check_outside(str(tmp_path / 'old' / 'imp' / 'tickets'), str(tmp_path / 'w' / 'imp'))


def _earlier_search(work: Path, names) -> Path:
    for name in names:
        path = work / 'imp' / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'x')
    (work / 'epoch_1.pth').write_bytes(b'x')
    return work


def test_the_work_dir_check_writes_nothing_and_clearing_comes_apart(tmp_path):
    work = _earlier_search(tmp_path / 'w', ['tickets/round_00.safetensors', 'summary.json'])
    with pytest.raises(FileExistsError, match='holds an earlier search'):
        check_work_dir(str(work), str(work / 'imp'), overwrite=False)
    found = check_work_dir(str(work), str(work / 'imp'), overwrite=True)
    assert found == ['summary.json', 'tickets/round_00.safetensors']
    assert (work / 'imp' / 'summary.json').exists()  # nothing deleted by the check
    clear_work_dir(str(work), str(work / 'imp'))
    assert not (work / 'imp').exists() and not (work / 'epoch_1.pth').exists()


def test_what_a_first_round_writes():
    assert first_round_files(3, 0, False) == {
        'rewind.safetensors', 'tickets/round_00.safetensors', 'round_00_best.pth',
        'round_00_last.pth'}
    # Without the dense round, round 1's ticket is written before any training; one-shot
    # pruning of the starting weights writes every round's.
    assert first_round_files(3, 1, False) - first_round_files(3, 0, False) == {
        'tickets/round_01.safetensors', 'round_01_best.pth', 'round_01_last.pth'}
    assert 'tickets/round_03.safetensors' in first_round_files(3, 1, True)


def test_resume_without_a_checkpoint_restarts_only_a_first_round(tmp_path):
    restart = first_round_files(2, 0, False)
    early = _earlier_search(tmp_path / 'a', ['tickets/round_00.safetensors',
                                             'rewind.safetensors', 'round_00_best.pth'])
    assert check_work_dir(str(early), str(early / 'imp'), False, restart) == [
        'rewind.safetensors', 'round_00_best.pth', 'tickets/round_00.safetensors']
    later = _earlier_search(tmp_path / 'b', ['tickets/round_00.safetensors',
                                             'tickets/round_01.safetensors', 'summary.json'])
    with pytest.raises(FileExistsError, match='--resume found no checkpoint .* got past its '
                                              'first round'):
        check_work_dir(str(later), str(later / 'imp'), False, restart)
