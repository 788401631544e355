"""tools/ticket.py results: one table over IMP searches and ticket transfers.

The first test reads work dirs written by the real hooks (one search, two transfers); the others
build work dirs by hand, the way the hooks write them (record rows, ticket files, mmengine's
config dump), to cover seeds, moved and re-written files, baselines and bad input quickly.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from torch import nn

from lth_mm.core import Ticket
from lth_mm.engine import results_files
from lth_mm.engine.results import collect_results
from lth_mm.engine.results_files import cell_text, results_markdown
from lth_mm.engine.round_report import write_summary

from ..test_hooks.conftest import build_runner, tiny_cfg

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location('ticket_tool', ROOT / 'tools' / 'ticket.py')
ticket_tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ticket_tool)

SOURCE, TARGET = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)


def task(classes) -> dict:
    """Config overrides that train the tiny digits model on ``classes``."""
    options = {'model.head.num_classes': len(classes),
               'data_preprocessor.num_classes': len(classes)}
    options.update({f'{split}_dataloader.dataset.classes': tuple(classes)
                    for split in ('train', 'val', 'test')})
    return options


def cells_by_label(results) -> dict:
    """{(mask, round, column label): cell}."""
    return {(row.mask, row.round, column.label): cell
            for (row, column), cell in results.cells.items()}


# The real hooks ---------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def real_runs(tmp_path_factory) -> Path:
    """One IMP search on digits 0-4 and two transfers of its round-2 ticket to digits 5-9 (the
    ticket itself and a random ticket of its sparsity), trained by the real hooks."""
    root = tmp_path_factory.mktemp('real')
    build_runner(tiny_cfg(root / 'search', [dict(type='IMPHook', rounds=2, rate=0.5,
                                                 metric='accuracy/top1')],
                          epochs=1, **task(SOURCE))).train()
    ticket = str(root / 'search' / 'imp' / 'tickets' / 'round_02.safetensors')
    for name, randomize in (('transfer', False), ('random', True)):
        build_runner(tiny_cfg(root / 'transfers' / name, [dict(
            type='TicketHook', ticket=ticket, randomize=randomize, reinit_prefixes=('head.', ),
            metric='accuracy/top1')], epochs=1, **task(TARGET))).train()
    return root


@pytest.mark.slow
def test_real_search_and_transfers_land_in_their_cells(real_runs, tmp_path, capsys):
    out = tmp_path / 'out'
    ticket_tool.main(['results', str(real_runs / 'search'), str(real_runs / 'transfers'),
                      '--out', str(out)])
    printed = capsys.readouterr().out
    assert '| Digits 5-9 | Digits 0-4 (search) |' in printed and '3 runs; wrote' in printed
    assert sorted(p.name for p in out.iterdir()) == ['results.csv', 'results.json',
                                                      'results.md', 'results.png']

    search = json.loads((real_runs / 'search' / 'imp' / 'summary.json').read_text())
    transfer, random = (json.loads((real_runs / 'transfers' / name / 'ticket' /
                                    'summary.json').read_text())[0]
                        for name in ('transfer', 'random'))
    assert transfer['randomized'] is False and random['randomized'] is True
    assert random['ticket_digest'] != transfer['ticket_digest'] == search[2]['ticket_digest']
    expected = {('ticket', r['round'], 'Digits 0-4 (search)'): r['test_metric'] for r in search}
    expected[('ticket', 2, 'Digits 5-9')] = transfer['test_metric']
    expected[('random', 2, 'Digits 5-9')] = random['test_metric']
    cells = json.loads((out / 'results.json').read_text())['cells']
    assert {(c['mask'], c['round'], c['column']): c['mean'] for c in cells} == expected
    assert all(c['n'] == 1 and c['value_from'] == 'test' for c in cells)
    by_key = {(c['mask'], c['round'], c['column']): c for c in cells}
    assert by_key['random', 2, 'Digits 5-9']['runs'] == [str(real_runs / 'transfers' / 'random')]
    row = by_key['ticket', 2, 'Digits 5-9']
    assert (row['pre-training'], row['task'], row['ticket'], row['rewind']) == (
        'random init', 'Digits 0-4', 'IMP', 'lt')
    assert row['sparsity'] == pytest.approx(0.75)

    table = (out / 'results.md').read_text()
    line = next(x for x in table.splitlines() if x.startswith('| random init | Digits 0-4 | IMP '
                                                             '| lt | random |'))
    assert line.endswith(f'| 75.00 | 2 | {random["test_metric"]:.2f} | - |')
    csv_lines = (out / 'results.csv').read_text().splitlines()
    assert csv_lines[0].startswith('pre-training,task,ticket,rewind,mask,sparsity,round,'
                                   'Digits 5-9,Digits 5-9 sd,Digits 5-9 min,Digits 5-9 max,')
    assert len(csv_lines) == 1 + 4  # rounds 0, 1, 2 of the search and the random ticket
    assert (out / 'results.png').read_bytes()[:4] == b'\x89PNG'


# Hand-made work dirs, as the hooks write them ------------------------------------------------
def small_model(seed: int, width: int = 4) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(1, width, 3), layer1=nn.Conv2d(width, width, 3),
        layer2=nn.Conv2d(width, 2 * width, 3), layer3=nn.Conv2d(2 * width, 2 * width, 3)))


def dump_config(work: Path, hooks: list, seed: int = 0, classes=SOURCE, **options) -> None:
    """mmengine's dump of the tiny digits config with ``hooks``, as a run in ``work`` writes."""
    cfg = tiny_cfg(work, hooks, **task(classes), **{'randomness.seed': seed}, **options)
    work.mkdir(parents=True, exist_ok=True)
    cfg.dump(str(work / 'digits_resnet18_w32.py'))


def make_search(work: Path, values, seed: int = 0, width: int = 4, cut=(), **hook) -> list:
    """A search's work dir: config dump, round tickets, ``imp/summary.json``; its tickets. The
    rounds in ``cut`` ended early (early-bird: ``comparable`` false)."""
    hook = dict(type='IMPHook', rounds=len(values) - 1, rate=0.5, metric='accuracy/top1', **hook)
    dump_config(work, [hook], seed)
    model = small_model(seed, width)
    tickets = [Ticket.dense(model)]
    for _ in values[1:]:
        with torch.no_grad():  # training moves the weights between rounds
            for param in model.parameters():
                param.add_(torch.randn_like(param))
        tickets.append(tickets[-1].prune(model, 0.5, hook.get('criterion', 'magnitude'),
                                         generator=torch.Generator().manual_seed(seed)))
    rows = []
    for rnd, (ticket, value) in enumerate(zip(tickets, values)):
        name = f'imp/tickets/round_{rnd:02d}.safetensors'
        ticket.save(work / name)
        rows.append(dict(round=rnd, sparsity=ticket.sparsity, metric='accuracy/top1',
                         best_val_metric=value + 1, test_metric=value, ticket=name,
                         ticket_digest=ticket.digest(), comparable=rnd not in cut))
    write_summary(rows, work / 'imp')
    return tickets


def make_transfer(work: Path, ticket_file: Path, value, seed: int = 0, randomize: bool = False,
                  reverse: bool = False, test: bool = True, moved_to: Path = None,
                  **options) -> None:
    """A transfer's work dir, with the record TicketHook writes after training."""
    source = Ticket.load(ticket_file)
    used = source.random_like(torch.Generator().manual_seed(0)) if randomize else source
    used = used.reverse() if reverse else used
    dump_config(work, [dict(type='TicketHook', ticket=str(ticket_file), randomize=randomize,
                            reverse=reverse, metric='accuracy/top1')], seed, TARGET, **options)
    row = dict(round=source.card['round'], sparsity=used.sparsity, metric='accuracy/top1',
               best_val_metric=value + 1, test_metric=value if test else None,
               ticket=str(ticket_file), ticket_digest=used.digest(), ticket_card=used.card,
               reversed=reverse, randomized=randomize)
    write_summary([row], work / 'ticket')


@pytest.mark.slow
def test_the_real_records_hold_what_the_hand_made_ones_do(real_runs, tmp_path):
    """The hand-made work dirs below stand for the hooks' own: same record keys."""
    make_search(tmp_path / 's', [90.0, 80.0])
    make_transfer(tmp_path / 't', tmp_path / 's' / 'imp/tickets/round_01.safetensors', 70.0)
    for made, real in (('s/imp', 'search/imp'), ('t/ticket', 'transfers/random/ticket')):
        keys = set(json.loads((tmp_path / made / 'summary.json').read_text())[0])
        assert keys <= set(json.loads((real_runs / real / 'summary.json').read_text())[0])


def test_seeds_merge_into_mean_range_and_n_and_repeats_count_once(tmp_path):
    runs = tmp_path / 'runs'
    for seed, values in ((0, [90.0, 80.0, 70.0]), (1, [94.0, 84.0, 60.0])):
        make_search(runs / f'search_s{seed}', values, seed=seed)
        ticket = runs / f'search_s{seed}' / 'imp/tickets/round_02.safetensors'
        make_transfer(runs / f'transfer_s{seed}', ticket, 50.0 + 10 * seed, seed=seed)
    shutil.copytree(runs / 'transfer_s1', tmp_path / 'copy' / 'transfer_s1')  # the same run
    results = collect_results([runs, tmp_path / 'copy'])
    cells = cells_by_label(results)
    search = cells['ticket', 2, 'Digits 0-4 (search)']
    assert (search.stat(), search.stat('min'), search.stat('max'), search.stat('n')) == (
        65.0, 60.0, 70.0, 2)
    assert search.stat('sd') == pytest.approx(7.0710678)
    transfer = cells['ticket', 2, 'Digits 5-9']
    assert (transfer.stat(), transfer.stat('n')) == (55.0, 2)
    assert cell_text(transfer) == '55.00 (50.00-60.00, n=2)'
    assert sorted(map(str, transfer.runs)) == [str(runs / 'transfer_s0'),
                                               str(runs / 'transfer_s1')]
    assert [(u['run'], u['value']) for u in results.unplaced] == [
        (str(tmp_path / 'copy' / 'transfer_s1'), 60.0)]
    assert 'repeats' in results.unplaced[0]['reason']
    assert len({row.source for row in results.rows}) == 1  # the two seeds: one row group


def test_early_stopped_rounds_are_marked_in_every_output(tmp_path):
    """An early-bird round that ended early in one seed is marked ``*`` (markdown, text) and
    ``comparable: false`` (JSON); the full last round is not."""
    make_search(tmp_path / 'eb_s0', [90.0, 80.0, 70.0], seed=0, cut=(0, 1))
    make_search(tmp_path / 'eb_s1', [92.0, 82.0, 72.0], seed=1, cut=(1, ))
    results = collect_results([tmp_path / 'eb_s0', tmp_path / 'eb_s1'])
    cells = cells_by_label(results)
    assert cell_text(cells['ticket', 0, 'Digits 0-4 (search)']) == '91.00* (90.00-92.00, n=2)'
    assert cell_text(cells['ticket', 1, 'Digits 0-4 (search)']) == '81.00* (80.00-82.00, n=2)'
    assert cell_text(cells['ticket', 2, 'Digits 0-4 (search)']) == '71.00 (70.00-72.00, n=2)'
    assert '`*`: an early-bird round' in results_markdown(results)
    dumped = json.loads(results_files.results_json(results))['cells']
    assert sorted((c['round'], c['comparable']) for c in dumped) == [
        (0, False), (1, False), (2, True)]


def test_moved_runs_random_and_reversed_tickets_and_validation_only(tmp_path):
    tickets = make_search(tmp_path / 'search', [90.0, 80.0, 70.0])
    moved = tmp_path / 'elsewhere' / 'round_02.safetensors'  # the file the transfers read ...
    moved.parent.mkdir()
    shutil.copy(tmp_path / 'search' / 'imp/tickets/round_02.safetensors', moved)
    make_transfer(tmp_path / 'plain', moved, 61.0)
    make_transfer(tmp_path / 'random', moved, 41.0, randomize=True)
    make_transfer(tmp_path / 'reversed', moved, 21.0, reverse=True, test=False)
    shutil.rmtree(moved.parent)  # ... is gone: placed by digest, and by card for the others
    results = collect_results([tmp_path / 'search', tmp_path / 'plain', tmp_path / 'random',
                               tmp_path / 'reversed'])
    assert results.unplaced == []
    cells = cells_by_label(results)
    assert cells['ticket', 2, 'Digits 5-9'].stat() == 61.0
    assert cells['random', 2, 'Digits 5-9'].stat() == 41.0
    reversed_cell = cells['reversed', 2, 'Digits 5-9']
    assert (reversed_cell.key, reversed_cell.stat(), cell_text(reversed_cell)) == (
        'best_val_metric', 22.0, '22.00†')
    reversed_row = next(r for r in results.rows if r.mask == 'reversed')
    assert reversed_row.sparsity == pytest.approx(1 - tickets[2].sparsity)
    assert [r.mask for r in results.rows] == ['ticket'] * 3 + ['random', 'reversed']


def test_runs_that_cannot_be_placed_are_listed_with_the_reason(tmp_path, capsys):
    make_search(tmp_path / 'search', [90.0, 80.0])
    make_search(tmp_path / 'other_search', [90.0, 80.0], seed=5)
    make_transfer(tmp_path / 'stranger', tmp_path / 'other_search/imp/tickets/round_01.safetensors',
                  30.0)
    make_transfer(tmp_path / 'stale', tmp_path / 'search/imp/tickets/round_01.safetensors', 40.0)
    shutil.rmtree(tmp_path / 'search')
    make_search(tmp_path / 'search', [91.0, 81.0], seed=7)  # run again after the transfer
    out = tmp_path / 'out'
    ticket_tool.main(['results', str(tmp_path / 'search'), str(tmp_path / 'stranger'),
                      str(tmp_path / 'stale'), '--out', str(out)])
    results = collect_results([tmp_path / 'search', tmp_path / 'stranger', tmp_path / 'stale'])
    reasons = {Path(u['run']).name: u['reason'] for u in results.unplaced}
    assert set(reasons) == {'stranger', 'stale'}
    assert 'no round ticket of the searches given' in reasons['stranger']
    assert 'add the work dir of the search' in reasons['stranger']
    assert 'holds another ticket than the one this run trained with' in reasons['stale']
    assert all(column.setting == 'search' for column in results.columns)
    assert cells_by_label(results)['ticket', 1, 'Digits 0-4 (search)'].stat() == 81.0
    assert f'not in the table: {tmp_path / "stale"}: ' in capsys.readouterr().out
    text = (out / 'results.md').read_text()
    assert f'- `{tmp_path / "stranger"}` (value 30.00): its ticket' in text


def test_columns_and_row_groups_named_by_what_differs(tmp_path):
    make_search(tmp_path / 'imp', [90.0, 80.0])
    make_search(tmp_path / 'imp_short', [90.0, 70.0], seed=1, round_length=1)
    make_search(tmp_path / 'random', [90.0, 60.0], criterion='random')
    make_search(tmp_path / 'reinit', [90.0, 85.0], rewind='reinit',
                masks_from=str(tmp_path / 'imp' / 'imp' / 'tickets'))
    shutil.copytree(tmp_path / 'imp' / 'imp' / 'tickets', tmp_path / 'reinit' / 'imp' / 'tickets',
                    dirs_exist_ok=True)  # a replay holds the same tickets
    ticket_file = tmp_path / 'imp' / 'imp/tickets/round_01.safetensors'
    pretrained = str(tmp_path / 'imp' / 'epoch_1.pth')
    make_transfer(tmp_path / 'pretrained', ticket_file, 55.0, load_from=pretrained)
    make_transfer(tmp_path / 'scratch', ticket_file, 45.0, load_from=None)
    make_transfer(tmp_path / 'slow_lr', ticket_file, 35.0, load_from=None,
                  **{'optim_wrapper.optimizer.lr': 0.01})
    moved = tmp_path / 'copied.safetensors'  # only its digest to go by: IMP, not the replay
    shutil.copy(ticket_file, moved)
    make_transfer(tmp_path / 'by_digest', moved, 65.0, seed=9, load_from=pretrained)
    results = collect_results([tmp_path])
    assert results.unplaced == []
    methods = {(r.source.method, r.source.rewind, r.source.options) for r in results.rows}
    assert methods == {('IMP', 'lt', '[round_length=None]'), ('IMP', 'lt', '[round_length=1]'),
                       ('random pruning', 'lt', ''), ('IMP masks', 'reinit', '')}
    labels = [c.label for c in results.columns]
    lr = 'optim_wrapper.optimizer.lr'
    assert labels == [f'Digits 5-9 [weights: epoch_1, {lr}=0.1]',
                      f'Digits 5-9 [weights: random init, {lr}=0.01]',
                      f'Digits 5-9 [weights: random init, {lr}=0.1]', 'Digits 0-4 (search)']
    cells = cells_by_label(results)
    assert (cells['ticket', 1, labels[0]].stat(), cells['ticket', 1, labels[0]].stat('n')) == (
        60.0, 2)
    assert cells['ticket', 1, labels[1]].stat() == 35.0
    assert cells['ticket', 1, labels[2]].stat() == 45.0
    placed = {(row.source.method, row.source.options) for (row, column) in results.cells
              if column.setting == 'transfer'}
    assert placed == {('IMP', '[round_length=None]')}


def test_a_checkpoint_in_a_work_dir_is_named_by_its_task(tmp_path):
    dump_config(tmp_path / 'pretrain', [], classes=(0, 1, 2))
    checkpoint = tmp_path / 'pretrain' / 'epoch_3.pth'
    checkpoint.write_bytes(b'not read')
    make_search(tmp_path / 'search', [90.0, 80.0], rewind='pt_trans')
    dump_config(tmp_path / 'search', [dict(type='IMPHook', rounds=1, rate=0.5,
                                           rewind='pt_trans')], load_from=str(checkpoint))
    results = collect_results([tmp_path / 'search'])
    assert {(r.source.weights, r.source.rewind) for r in results.rows} == {
        ('Digits 0-2', 'pt_trans')}


def test_a_run_without_its_config_dump_is_named_after_its_folder(tmp_path):
    make_search(tmp_path / 'old_search', [90.0, 80.0], criterion='random')
    (tmp_path / 'old_search' / 'digits_resnet18_w32.py').unlink()
    results = collect_results([tmp_path / 'old_search'])
    source = results.rows[1].source
    assert (source.weights, source.task, source.method, source.rewind) == (
        '?', 'old_search', 'random pruning', '?')  # the method from the ticket's card
    text = results_markdown(results)
    assert '## Runs without a config dump' in text
    assert 'old_search`: no config dump in the work dir' in text


# Bad input ------------------------------------------------------------------------------------
def _refused(tmp_path: Path, *args: str, match: str) -> None:
    out = tmp_path / 'out'
    with pytest.raises(SystemExit, match=match):
        ticket_tool.main(['results', *args, '--out', str(out)])
    assert not out.exists()


def test_bad_input_is_refused_and_nothing_is_written(tmp_path):
    make_search(tmp_path / 'search', [90.0, 80.0])
    ticket = tmp_path / 'search' / 'imp/tickets/round_01.safetensors'
    _refused(tmp_path, str(ticket), match=r'round_01.safetensors is a file, not a work dir')
    (tmp_path / 'empty').mkdir()
    _refused(tmp_path, str(tmp_path / 'search'), str(tmp_path / 'empty'),
             match=r'empty holds no ticket search \(<work_dir>/imp/summary.json')
    _refused(tmp_path, str(tmp_path / 'missing'), match='missing does not exist')
    make_search(tmp_path / 'wide', [90.0, 80.0], width=8)
    _refused(tmp_path, str(tmp_path / 'search'), str(tmp_path / 'wide'),
             match=r'not of one architecture: .*wide/imp/tickets/round_00.safetensors does not '
             r'cover the same weights.*make one table per architecture')
    make_search(tmp_path / 'broken', [90.0, 80.0])
    (tmp_path / 'broken' / 'imp/tickets/round_00.safetensors').write_text('no ticket')
    _refused(tmp_path, str(tmp_path / 'broken'), match=r'broken/imp/tickets/round_00.safetensors')
    (tmp_path / 'bad_summary' / 'ticket').mkdir(parents=True)
    (tmp_path / 'bad_summary' / 'ticket' / 'summary.json').write_text('[{"round": 1}]')
    _refused(tmp_path, str(tmp_path / 'bad_summary'),
             match=r'bad_summary/ticket/summary.json is not a ticket-search summary')
    make_transfer(tmp_path / 'alone', ticket, 50.0)
    _refused(tmp_path, str(tmp_path / 'alone'), match='no run could be placed in the table: .*'
             'alone: its ticket .* is no round ticket of the searches given')
    (tmp_path / 'out').write_text('a file')
    with pytest.raises(SystemExit, match='exists and is not a folder'):
        ticket_tool.main(['results', str(tmp_path / 'search'), '--out', str(tmp_path / 'out')])


def test_checkpoints_of_one_name_are_told_apart_in_a_stable_order(tmp_path, monkeypatch):
    for name, values in (('moco', [50.0, 40.0]), ('imagenet', [90.0, 80.0])):
        checkpoint = tmp_path / 'ckpts' / name / 'epoch_100.pth'
        checkpoint.parent.mkdir(parents=True)
        checkpoint.write_bytes(b'not read')
        make_search(tmp_path / 'runs' / f'search_{name}', values)
        dump_config(tmp_path / 'runs' / f'search_{name}', [dict(
            type='IMPHook', rounds=1, rate=0.5, metric='accuracy/top1')],
            load_from=str(checkpoint))
    results = collect_results([tmp_path / 'runs'])
    assert [(r.source.weights, r.source.options, r.round) for r in results.rows] == [
        ('epoch_100', '[weights: imagenet/epoch_100.pth]', 0),
        ('epoch_100', '[weights: imagenet/epoch_100.pth]', 1),
        ('epoch_100', '[weights: moco/epoch_100.pth]', 0),
        ('epoch_100', '[weights: moco/epoch_100.pth]', 1)]
    panels = {}
    monkeypatch.setattr(results_files, 'runs_png',
                        lambda lines, title='': panels.update(lines) or b'')
    results_files.results_png(results)
    (lines, ), = panels.values(),
    assert {label.rsplit('[', 1)[-1]: [r['test_metric'] for r in rows]
            for label, rows in lines.items()} == {'weights: imagenet/epoch_100.pth]': [90.0, 80.0],
                                                  'weights: moco/epoch_100.pth]': [50.0, 40.0]}


def test_runs_without_a_fixed_seed_are_never_repeats(tmp_path):
    for name, seed, values in (('a', 0, [90.0, 80.0]), ('b', 1, [70.0, 60.0])):
        make_search(tmp_path / name, values, seed=seed)  # mmengine drew each run's seed
        dump_config(tmp_path / name, [dict(type='IMPHook', rounds=1, rate=0.5,
                                           metric='accuracy/top1')], seed=None)
    results = collect_results([tmp_path])
    assert results.unplaced == []
    cell = cells_by_label(results)['ticket', 1, 'Digits 0-4 (search)']
    assert (cell.stat(), cell.stat('n')) == (70.0, 2)


def test_relative_paths_point_where_the_run_was_started(tmp_path, monkeypatch):
    """Per-seed paths given relative to the folder training was started in (as the README's
    commands give them) merge seeds as absolute ones do, wherever the table is made from."""
    monkeypatch.chdir(tmp_path)  # training starts here
    for seed in (0, 1):
        folder = tmp_path / 'runs' / f'seed_{seed}'
        make_search(folder / 'imp', [90.0, 80.0], seed=seed)
        make_search(folder / 'reinit', [70.0, 60.0 + seed], seed=seed, rewind='reinit',
                    masks_from=f'runs/seed_{seed}/imp/imp/tickets')
        (folder / 'pretrain').mkdir()
        (folder / 'pretrain' / 'epoch_1.pth').write_bytes(b'not read')
        ticket = folder / 'imp' / 'imp/tickets/round_01.safetensors'
        make_transfer(folder / 'transfer', ticket, 60.0 + seed, seed=seed,
                      load_from=f'runs/seed_{seed}/pretrain/epoch_1.pth')
    dump = tmp_path / 'runs' / 'seed_0' / 'transfer' / 'digits_resnet18_w32.py'
    line = f"work_dir = '{tmp_path / 'runs' / 'seed_0' / 'transfer'}'\n"
    assert line in dump.read_text()  # one dump names its work dir relative, as tools/train.py
    dump.write_text(dump.read_text().replace(line, "work_dir = 'runs/seed_0/transfer'\n"))
    monkeypatch.chdir('/')
    results = collect_results([tmp_path / 'runs'])
    assert results.unplaced == []
    assert [c.label for c in results.columns] == ['Digits 5-9', 'Digits 0-4 (search)']
    cells = cells_by_label(results)
    assert cell_text(cells['ticket', 1, 'Digits 5-9']) == '60.50 (60.00-61.00, n=2)'
    assert {(r.source.method, r.source.options) for r in results.rows} == {
        ('IMP', ''), ('IMP masks', '')}  # a replay of IMP's masks, seeds merged


def test_unfinished_searches_and_runs_inside_work_dirs(tmp_path, capsys):
    make_search(tmp_path / 'runs' / 's0', [90.0, 80.0, 70.0], seed=0)
    make_search(tmp_path / 'runs' / 's1', [94.0, 84.0, 60.0], seed=1)
    summary = tmp_path / 'runs' / 's1' / 'imp' / 'summary.json'
    summary.write_text(json.dumps(json.loads(summary.read_text())[:2]))  # stopped in round 2
    make_transfer(tmp_path / 'runs' / 's0' / 'transfer_r2',  # inside the search's work dir
                  tmp_path / 'runs' / 's0' / 'imp/tickets/round_02.safetensors', 55.0)
    out = tmp_path / 'out'
    ticket_tool.main(['results', str(tmp_path / 'runs'), '--out', str(out)])
    results = collect_results([tmp_path / 'runs'])
    assert results.unfinished == [dict(run=str(tmp_path / 'runs' / 's1'), last=1, rounds=2)]
    cells = cells_by_label(results)
    assert cells['ticket', 1, 'Digits 0-4 (search)'].stat('n') == 2
    assert cells['ticket', 2, 'Digits 0-4 (search)'].stat('n') == 1
    assert cells['ticket', 2, 'Digits 5-9'].stat() == 55.0
    text = (out / 'results.md').read_text()
    assert '## Searches not finished' in text
    assert f'`{tmp_path / "runs" / "s1"}`: recorded up to round 1 of 2' in text
    assert f'not finished: {tmp_path / "runs" / "s1"}: recorded up to round 1 of 2' in (
        capsys.readouterr().out)
    assert json.loads((out / 'results.json').read_text())['unfinished'] == results.unfinished


def test_one_file_named_relative_and_absolute_is_one_option_and_labels_ignore_the_cwd(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # training starts here
    (tmp_path / 'ckpt').mkdir()
    (tmp_path / 'ckpt' / 'pre.pth').write_bytes(b'not read')
    for seed, load_from in ((0, 'ckpt/pre.pth'), (1, str(tmp_path / 'ckpt' / 'pre.pth'))):
        work = tmp_path / 'runs' / f'seed_{seed}'
        make_search(work, [90.0, 80.0 + seed], seed=seed)
        dump_config(work, [dict(type='IMPHook', rounds=1, rate=0.5, metric='accuracy/top1')],
                    seed, load_from=load_from, **{'train_dataloader.dataset.data_root': './'})
    # './' exists in every work dir: it names the launch folder, not each run's own.
    cwd = tmp_path / 'cwd'  # a checkpoint of a task beside its config, found only from here
    dump_config(cwd / 'pretrain', [], classes=(0, 1))
    (cwd / 'pretrain' / 'epoch_1.pth').write_bytes(b'not read')
    make_search(tmp_path / 'other', [70.0, 60.0], seed=3)
    dump_config(tmp_path / 'other', [dict(type='IMPHook', rounds=1, rate=0.5)], 3,
                load_from='pretrain/epoch_1.pth')  # relative to a folder its dump does not tell
    for where in (tmp_path, cwd):  # the table does not depend on where it is made
        monkeypatch.chdir(where)
        results = collect_results([tmp_path / 'runs', tmp_path / 'other'])
        assert {(r.source.weights, cell_text(results.cells[r, results.columns[0]]))
                for r in results.rows if r.round == 1} == {
            ('pre', '80.50 (80.00-81.00, n=2)'), ('epoch_1', '60.00')}
