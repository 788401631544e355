"""tools/demo.py: the shared demo runner, its tables over seeds, and both demos end to end."""
from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from lth_mm.compat import load_local_checkpoint
from lth_mm.core import Ticket
from lth_mm.engine.round_report import aggregate_seeds, format_table, plot_runs

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools' / 'demo.py'


@pytest.fixture(scope='module')
def demo():
    spec = importlib.util.spec_from_file_location('lth_mm_demo', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def transfer_rounds(args, name: str) -> list:
    """The rounds a demo transfers (its runner imports ``demos`` from tools/ first)."""
    from demos.base import transfer_rounds as chosen
    return chosen(args, name)


def test_parse_args_and_the_run_lists(demo):
    args = demo.parse_args(['transfer', '--jobs', '2'])
    assert (args.rounds, args.rate, args.threads) == (5, 0.6, max(1, demo.usable_cores() // 2))
    runs = {run.name: run for run in demo.DEMOS['transfer'].runs(args)}
    assert set(runs) == {'pretrain', 'imp', 'dense', 'scratch'} | {
        f'{kind}_round_{r:02d}' for kind in ('imp', 'random') for r in range(1, 6)}
    assert runs['imp'].needs == ('pretrain', ) and runs['random_round_03'].needs == ('imp', )
    assert 'custom_hooks.0.randomize=True' in runs['random_round_03'].options
    assert 'load_from=None' in runs['scratch'].options
    quick = demo.parse_args(['transfer', '--quick'])
    assert (quick.rounds, quick.epochs, transfer_rounds(quick, 'transfer')) == (2, 1, [2])
    for name, rounds in (('transfer', 5), ('selfsup', 4)):  # one check, shared
        with pytest.raises(SystemExit, match=rf'demo {name}: --transfer-rounds \[7\] not in '
                           rf'1..{rounds}'):
            demo.DEMOS[name].runs(demo.parse_args([name, '--transfer-rounds', '7', '3', '3']))
    for given, rounds in (([], [2, 4]), (['--rounds', '3'], [2]), (['--rounds', '1'], [1]),
                          (['--rounds', '3', '--transfer-rounds', '3'], [3])):
        args = demo.parse_args(['segmentation', *given])  # the demo's own default: 2 and 4
        names = {r.name for r in demo.DEMOS['segmentation'].runs(args)}
        assert {int(n[-2:]) for n in names if n.startswith('imp_round_')} == set(rounds), given
    selfsup = [r.name for r in demo.DEMOS['selfsup'].runs(demo.parse_args(
        ['selfsup', '--transfer-rounds', '3', '1', '3']))]
    rounds = [n.rsplit('_', 1)[-1] for n in selfsup if '_round_' in n]
    assert sorted(set(rounds)) == ['01', '03'] and rounds.count('01') == rounds.count('03')
    imp = demo.DEMOS['imp'].runs(demo.parse_args(['imp']))
    assert [r.name for r in imp] == ['imp', 'random', 'reinit']
    assert imp[2].needs == ('imp', )
    assert 'custom_hooks.0.masks_from={work}/imp/imp/tickets' in imp[2].options


def test_quick_keeps_the_options_given(demo):
    """--quick's values are defaults: an option typed with it is not silently replaced."""
    args = demo.parse_args(['transfer', '--quick', '--transfer-rounds', '1', '--epochs', '3'])
    assert (args.rounds, args.epochs, args.transfer_rounds) == (2, 3, [1])
    args = demo.parse_args(['imp', '--rounds', '5', '--quick', '--rate', '0.5'])
    assert (args.rounds, args.rate, args.epochs) == (5, 0.5, 1)
    for name in ('transfer', 'selfsup', 'detection', 'segmentation'):
        # --quick's round to transfer is a default: within a --rounds given with it (it was
        # refused, '--transfer-rounds [2] not in 1..1', an option the user never gave)
        args = demo.parse_args([name, '--quick', '--rounds', '1'])
        assert transfer_rounds(args, name) == [1]
        names = [r.name for r in demo.DEMOS[name].runs(args) if '_round_' in r.name]
        assert names and {n.rsplit('_', 1)[-1] for n in names} == {'01'}, names


@pytest.mark.parametrize('argv, message', [
    (['imp', '--rounds', '0'], 'argument --rounds: 0 is below 1'),
    (['imp', '--rate', '1.5'], 'argument --rate: 1.5 is not in (0, 1)'),
    (['transfer', '--rate', '0'], 'argument --rate: 0.0 is not in (0, 1)'),
    (['detection', '--rounds', '0'], 'argument --rounds: 0 is below 1'),
    (['detection', '--iters', '1'], 'argument --iters: 1 is below 2'),
    (['segmentation', '--canvases', '8', '0'], 'argument --canvases: 0 is below 1'),
    (['selfsup', '--round-epochs', '0'], 'argument --round-epochs: 0 is below 1'),
    (['imp', '--jobs', '0'], 'argument --jobs: 0 is below 1'),
    (['imp', '--threads', '0'], 'argument --threads: 0 is below 1'),
    (['imp', '--seeds', '0', '1', '0'], 'give each seed once'),
])
def test_bad_options_are_refused_before_any_run(demo, capsys, argv, message):
    with pytest.raises(SystemExit):
        demo.parse_args(argv)
    assert message in capsys.readouterr().err


def test_a_work_dir_cfg_options_cannot_carry_is_refused(demo, tmp_path):
    """--cfg-options split values at commas: such a path is refused up front (it used to fail
    after the first run), and nothing is written. Spaces pass (MMEngine's DictAction deleted
    them, so the first run read ``myruns/...``; tools/train.py keeps them)."""
    from mmengine.config import DictAction

    work = tmp_path / 'lr0.1,wd2e-4'
    with pytest.raises(SystemExit, match=r'--cfg-options cannot pass on \(commas'):
        demo.main(['transfer', '--quick', '--work-dir', str(work)])
    assert not work.exists()
    for name in ('plain', 'my runs'):
        args = demo.parse_args(['transfer', '--work-dir', str(tmp_path / name)])
        run = next(r for r in demo.DEMOS['transfer'].runs(args) if r.name == 'imp')
        job = demo.Job(run, 0, args.work_dir, 1, 'imp')
        job.check_options()
        load_from = next(o for o in job.cmd if o.startswith('load_from='))
        parsed = demo.CfgOptions._parse_iterable(load_from.split('=', 1)[1])
        assert parsed == f'{tmp_path / name}/pretrain/epoch_12.pth'
    assert DictAction._parse_iterable(load_from.split('=', 1)[1]) != parsed  # MMEngine's own


def test_the_imp_demo_reports_near_the_papers_mask_figure(demo, tmp_path):
    from demos.imp import report_round
    assert report_round(demo.parse_args(['imp'])) == 3  # 78.40 %, nearest 79.03 %
    assert report_round(demo.parse_args(['imp', '--quick'])) == 2  # 84 %, not 60 %
    assert report_round(demo.parse_args(['imp', '--rate', '0.2', '--rounds', '18'])) == 7
    with pytest.raises(SystemExit, match=r'--report-round 11 not in 1..10'):
        report_round(demo.parse_args(['imp', '--report-round', '11']))
    args = demo.parse_args(['imp', '--work-dir', str(tmp_path), '--report-round', '4'])
    report, = demo.DEMOS['imp'].reports(args, {0: tmp_path / 'seed_0', 1: tmp_path / 'seed_1'})
    assert report.labels == ('IMP s0', 'IMP s1', 'random s0', 'random s1')
    assert report.tickets[1] == tmp_path / 'seed_1/imp/imp/tickets/round_04.safetensors'
    assert report.tickets[2] == tmp_path / 'seed_0/random/imp/tickets/round_04.safetensors'
    assert report.out == tmp_path / 'reports' / 'round_04'
    assert '87.04 % sparse' in report.title


def test_detection_run_list(demo, tmp_path):
    args = demo.parse_args(['detection', '--work-dir', str(tmp_path), '--jobs', '2'])
    assert (args.rounds, args.rate, args.iters, args.canvases) == (2, 0.75, 300, (800, 400))
    runs = {run.name: run for run in demo.DEMOS['detection'].runs(args)}
    assert list(runs) == ['pretrain', 'imp', 'dense', 'imp_round_01', 'random_round_01',
                          'imp_round_02', 'random_round_02']
    assert runs['imp'].needs == ('pretrain', )
    assert 'load_from={work}/pretrain/epoch_12.pth' in runs['imp'].options
    for name in ('dense', 'imp_round_02', 'random_round_02'):
        run = runs[name]
        assert run.needs == ('imp', ) and run.round == {'dense': 0}.get(name, 2)
        options = dict(o.split('=', 1) for o in run.options)
        for split in ('train', 'val', 'test'):  # the canvases the demo writes
            assert options[f'{split}_dataloader.dataset.data_root'] == (
                f'{tmp_path}/digit_canvas/VOCdevkit/')
        assert options['model.backbone.init_cfg.2.checkpoint'] == '{work}/pretrain/epoch_12.pth'
        assert (options['train_cfg.max_iters'], options['train_cfg.val_interval']) == ('300', '150')
        warmup, cosine = options['param_scheduler.0.end'], options['param_scheduler.1.T_max']
        assert (warmup, cosine) == ('37', '263')
    assert runs['dense'].columns == ('IMP ticket', 'random ticket')
    assert runs['dense'].options[-1].endswith('/round_00.safetensors')
    assert runs['random_round_02'].config.endswith('random_yolo_r18w32_digit_canvas.py')
    assert {'custom_hooks.0.ticket={work}/imp/imp/tickets/round_02.safetensors',
            'custom_hooks.0.seed={seed}'} <= set(runs['random_round_02'].options)
    # (each demo seed draws its own random ticket)
    job = demo.Job(runs['random_round_02'], 3, tmp_path / 'seed_3', 1, 'random')
    assert 'custom_hooks.0.seed=3' in job.cmd and 'randomness.seed=3' in job.cmd
    tickets = tmp_path / 'seed_3' / 'imp' / 'imp' / 'tickets'
    assert f'custom_hooks.0.ticket={tickets}/round_02.safetensors' in job.cmd
    quick = demo.parse_args(['detection', '--quick'])
    assert (quick.rounds, quick.iters, transfer_rounds(quick, 'detection'), quick.canvases) == (
        1, 8, [1], (32, 16))


def _ticket_run(folder: Path, metric: float, ap50: float, logged: float = None) -> None:
    """A TicketHook run's record and its test log, as the runner reads them."""
    (folder / 'ticket').mkdir(parents=True)
    row = dict(round=2, sparsity=0.75, metric='pascal_voc/mAP', best_val_metric=0.5,
               test_metric=metric)
    (folder / 'ticket' / 'summary.json').write_text(json.dumps([row]))
    (folder / '20261201_000000').mkdir()
    (folder / '20261201_000000' / '20261201_000000.json').write_text(json.dumps(
        {'pascal_voc/mAP': metric if logged is None else logged, 'pascal_voc/AP50': ap50}))


def test_metric_tables_read_the_test_of_the_best_weights(demo, tmp_path):
    metrics = (demo.Metric('AP', 'pascal_voc/mAP', 100), demo.Metric('AP50', 'pascal_voc/AP50',
                                                                       100))
    runs = [demo.Run('imp_round_02', 'c.py', columns=('IMP ticket', ), round=2),
            demo.Run('random_round_02', 'c.py', columns=('random ticket', ), round=2)]
    _ticket_run(tmp_path / 'imp_round_02', 0.4, 0.7)
    _ticket_run(tmp_path / 'random_round_02', 0.2, 0.35)
    rows = demo.table_rows(runs, tmp_path, metrics)
    ap, ap50 = (demo.metric_rows(rows, m) for m in metrics)
    assert ap['IMP ticket'][0]['test_metric'] == pytest.approx(40.0)
    assert ap['IMP ticket'][0]['best_val_metric'] == pytest.approx(50.0)
    assert ap50['random ticket'][0]['test_metric'] == pytest.approx(35.0)
    assert ap50['random ticket'][0]['best_val_metric'] is None  # not the metric that picked
    reports = {m.label: aggregate_seeds([demo.metric_rows(rows, m)]) for m in metrics}
    lines = demo.summary_csv(reports).splitlines()
    assert lines[0] == 'run,metric,' + ','.join(demo.CSV_FIELDS)
    assert len(lines) == 5 and lines[3].startswith('IMP ticket,AP50,2,0.750000,,70.0')
    assert demo.summary_csv({'': aggregate_seeds([rows])}).splitlines()[0] == (
        'run,' + ','.join(demo.CSV_FIELDS))

    _ticket_run(tmp_path / 'other', 0.4, 0.7, logged=0.41)  # a later test overwrote the log
    with pytest.raises(SystemExit, match='not the test of the best weights'):
        demo.table_rows([demo.Run('other', 'c.py', columns=('x', ), round=2)], tmp_path, metrics)
    with pytest.raises(SystemExit, match=r"has no \['pascal_voc/AP75'\]"):
        demo.table_rows(runs, tmp_path, [demo.Metric('AP75', 'pascal_voc/AP75')])


def test_progress_lines(demo):
    assert demo.is_progress('IMPHook: round 3/10 done in 11 s: sparsity 78.40 %')
    assert demo.is_progress('TicketHook: done in 4 s: sparsity 84.00 %, test 33.52')
    assert not demo.is_progress('IMPHook: round 4 starts at sparsity 87.04 %')


def test_seeds_are_merged_into_mean_and_range(tmp_path):
    seeds = [{'IMP': [dict(round=0, sparsity=0.0, test_metric=90.0, best_val_metric=91.0),
                      dict(round=1, sparsity=0.5, test_metric=80.0, best_val_metric=None)]},
             {'IMP': [dict(round=0, sparsity=0.0, test_metric=94.0, best_val_metric=93.0)],
              'random': [dict(round=0, sparsity=0.0, test_metric=70.0)]}]
    merged = aggregate_seeds(seeds)
    assert list(merged) == ['IMP', 'random']
    first, second = merged['IMP']
    assert (first['test_metric'], first['test_metric_min'], first['test_metric_max'],
            first['n']) == (92.0, 90.0, 94.0, 2)
    assert first['best_val_metric'] == 92.0
    assert (first['test_metric_sd'], first['test_metric_n']) == (pytest.approx(2 ** 1.5), 2)
    assert (second['test_metric_sd'], second['test_metric_n'], second['best_val_metric_n']) == (
        None, 1, 0)
    assert (second['test_metric'], second['n'], second['best_val_metric']) == (80.0, 1, None)
    table = format_table(merged)
    assert '92.00 (90.00-94.00)' in table and '80.00' in table and '70.00' in table
    plot_runs(merged, tmp_path / 'curve.png')
    assert (tmp_path / 'curve.png').read_bytes()[:4] == b'\x89PNG'


def _csv(path: Path) -> dict:
    runs: dict = {}
    with open(path) as handle:
        for row in csv.DictReader(handle):
            runs.setdefault(row['run'], {})[int(row['round'])] = row
    return runs


def _run(name: str, work: Path, *extra: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(SCRIPT), name, '--quick', '--work-dir',
                             str(work), *extra], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def _assert_transferred(work: Path, rnd: int, best: str) -> list:
    """The best checkpoints of round ``rnd``'s IMP-ticket and random-ticket runs are sparse under
    their tickets (pruned weights exactly zero); the random ticket keeps as many weights as the
    IMP ticket, other ones. Returns their state dicts."""
    imp = Ticket.load(work / 'imp' / 'imp' / 'tickets' / f'round_{rnd:02d}.safetensors')
    states = []
    for name in (f'imp_round_{rnd:02d}', f'random_round_{rnd:02d}'):
        checkpoint = load_local_checkpoint(str(next((work / name).glob(best))), map_location='cpu')
        ticket = Ticket.unpack(checkpoint['lth_mm_ticket'])
        assert ticket.kept == imp.kept and (ticket == imp) == name.startswith('imp')
        for key, mask in ticket.items():
            assert torch.count_nonzero(checkpoint['state_dict'][key][~mask]) == 0, (name, key)
        states.append(checkpoint['state_dict'])
    return states


@pytest.mark.slow
def test_transfer_demo_quick_end_to_end(tmp_path):
    work = tmp_path / 'demo'
    out = _run('transfer', work)
    assert '[imp] IMPHook: round 2/2 done in' in out and '[random_round_02] TicketHook: done' in out
    assert 'ETA' in out
    runs = _csv(work / 'summary.csv')
    assert list(runs) == ['IMP ticket', 'random ticket', 'from scratch', 'IMP on 0-4']
    assert set(runs['IMP ticket']) == set(runs['random ticket']) == {0, 2}
    assert set(runs['IMP on 0-4']) == {0, 1, 2} and set(runs['from scratch']) == {0}
    assert runs['IMP ticket'][0]['test_metric'] == runs['random ticket'][0]['test_metric']
    assert float(runs['IMP ticket'][2]['sparsity']) == pytest.approx(0.84, abs=1e-4)
    assert runs['IMP ticket'][2]['sparsity'] == runs['random ticket'][2]['sparsity']
    for rows in runs.values():
        for row in rows.values():
            assert 0.0 <= float(row['test_metric']) <= 100.0
    assert 'sparsity %' in (work / 'summary.md').read_text()
    assert (work / 'curve.png').read_bytes()[:4] == b'\x89PNG'

    # The ticket report at the transferred sparsity: the IMP ticket, and the random ticket as
    # the random_round_02 run trained it (read from its checkpoint).
    assert '[demo] ticket report: transferred IMP ticket vs random ticket at round 2' in out
    assert '[demo] reports written in' in out
    report = json.loads((work / 'reports' / 'round_02' / 'report.json').read_text())
    recorded = json.loads((work / 'random_round_02' / 'ticket' / 'summary.json').read_text())[0]
    assert [(t['label'], t['digest']) for t in report['tickets']] == [
        ('IMP', Ticket.load(work / 'imp/imp/tickets/round_02.safetensors').digest()),
        ('random', recorded['ticket_digest'])]
    # The results table over the runs holds the demo table's numbers in its cells.
    cells = json.loads((work / 'results' / 'results.json').read_text())['cells']
    found = {(c['mask'], c['round'], c['column']): c['mean'] for c in cells}
    transfer, scratch = 'Digits 5-9 [weights: Digits 0-4]', 'Digits 5-9 [weights: random init]'
    for (mask, rnd, column), name in {('ticket', 0, transfer): 'IMP ticket',
                                      ('ticket', 2, transfer): 'IMP ticket',
                                      ('random', 2, transfer): 'random ticket',
                                      ('ticket', 0, scratch): 'from scratch',
                                      ('ticket', 1, 'Digits 0-4 (search)'): 'IMP on 0-4'}.items():
        assert found[mask, rnd, column] == pytest.approx(float(runs[name][rnd]['test_metric']))
    assert len(found) == 3 + 1 + 3  # transfers, from scratch, the search's rounds

    # The fine-tuned checkpoints are sparse under their tickets; the random ticket is another.
    _assert_transferred(work, 2, 'best_accuracy_top1_epoch_*.pth')


@pytest.mark.slow
def test_imp_demo_quick_with_two_seeds(tmp_path):
    work = tmp_path / 'demo'
    out = _run('imp', work, '--seeds', '0', '1')
    assert '[reinit seed 1] IMPHook: round 2/2 done in' in out
    runs = _csv(work / 'summary.csv')
    assert list(runs) == ['IMP ticket', 'random mask', 'IMP mask, re-init']
    for rows in runs.values():
        assert set(rows) == {0, 1, 2}
        assert all(row['n'] == '2' for row in rows.values())
        for row in rows.values():
            assert float(row['test_metric_min']) <= float(row['test_metric']) <= float(
                row['test_metric_max'])
    for seed in (0, 1):  # the re-init baseline replays its own seed's IMP masks
        imp, reinit = (Ticket.load(work / f'seed_{seed}' / run / 'imp' / 'tickets' /
                                   'round_02.safetensors') for run in ('imp', 'reinit'))
        assert reinit == imp
    report = json.loads((work / 'reports' / 'round_02' / 'report.json').read_text())
    assert [t['label'] for t in report['tickets']] == ['IMP s0', 'IMP s1', 'random s0',
                                                       'random s1']
    assert '[demo] ticket report: IMP ticket vs random mask at round 2 (84.00 % sparse)' in out
    assert not (work / 'results').exists()  # the imp demo asks for no results table


@pytest.mark.slow
def test_selfsup_demo_quick_end_to_end(tmp_path):
    work = tmp_path / 'demo'
    out = _run('selfsup', work)
    assert '[imp] IMPHook: round 2/2 done in' in out and 'train loss' in out
    runs = _csv(work / 'summary.csv')
    assert list(runs) == ['MoCo ticket', 'random ticket', 'from scratch']
    assert set(runs['MoCo ticket']) == set(runs['random ticket']) == {0, 2}
    assert float(runs['MoCo ticket'][2]['sparsity']) == pytest.approx(0.75, abs=1e-4)
    search = (work / 'imp' / 'imp' / 'summary.csv').read_text().splitlines()
    assert search[0].split(',').count('train_loss') == 1 and len(search) == 3  # rounds 1, 2
    # The MoCo ticket was transferred: the fine-tuned classifier records it.
    moco = Ticket.load(work / 'imp' / 'imp' / 'tickets' / 'round_02.safetensors')
    record = (work / 'moco_round_02' / 'ticket' / 'summary.csv').read_text()
    assert moco.digest() in record




@pytest.mark.slow
def test_detection_demo_quick_end_to_end(tmp_path):
    work = tmp_path / 'demo'
    out = _run('detection', work)
    assert '[demo] prepared the data in' in out and '[random_round_01] TicketHook: done' in out
    with open(work / 'summary.csv') as handle:
        rows = {(r['metric'], r['run'], int(r['round'])): r for r in csv.DictReader(handle)}
    metrics, columns = ('AP', 'AP50', 'AP75'), ('IMP ticket', 'random ticket')
    assert set(rows) == {(m, c, r) for m in metrics for c in columns for r in (0, 1)}
    for metric in metrics:
        dense, imp, random = (rows[metric, 'IMP ticket', 0], rows[metric, 'IMP ticket', 1],
                              rows[metric, 'random ticket', 1])
        assert dense['test_metric'] == rows[metric, 'random ticket', 0]['test_metric']
        assert float(imp['sparsity']) == pytest.approx(0.75) and imp['sparsity'] == random[
            'sparsity']
        assert all(0.0 <= float(r['test_metric']) <= 100.0 for r in (dense, imp, random))
    summary = (work / 'summary.md').read_text()
    assert all(f'{m}\nround sparsity %' in summary for m in metrics)

    # The canvases the demo wrote are what the detectors read.
    main = work / 'digit_canvas' / 'VOCdevkit' / 'VOC2007' / 'ImageSets' / 'Main'
    assert [len((main / f'{s}.txt').read_text().split()) for s in ('train', 'val', 'test')] == [
        16, 16, 16]
    dumped = Config.fromfile(work / 'dense' / 'transfer_yolo_r18w32_digit_canvas.py')
    assert {dumped[f'{split}_dataloader'].dataset.data_root for split in ('train', 'val', 'test')
            } == {f'{work}/digit_canvas/VOCdevkit/'}

    # The detectors' tickets cover the backbone only: neck and head stay dense.
    for state in _assert_transferred(work, 1, 'best_pascal_voc_mAP_iter_*.pth'):
        dense = [k for k in state if k.startswith(('neck.', 'bbox_head.')) and k.endswith(
            'conv.weight')]
        assert dense and all(torch.count_nonzero(state[k]) == state[k].numel() for k in dense)


@pytest.mark.slow
def test_segmentation_demo_quick_end_to_end(tmp_path):
    work = tmp_path / 'demo'
    out = _run('segmentation', work)
    assert '[demo] prepared the data in' in out and '[random_round_01] TicketHook: done' in out
    runs = _csv(work / 'summary.csv')
    assert list(runs) == ['IMP ticket', 'random ticket'] and set(runs['IMP ticket']) == {0, 1}
    assert runs['IMP ticket'][0]['test_metric'] == runs['random ticket'][0]['test_metric']
    assert runs['IMP ticket'][1]['sparsity'] == runs['random ticket'][1]['sparsity']
    assert float(runs['IMP ticket'][1]['sparsity']) == pytest.approx(0.5)
    assert 'mIoU' in (work / 'summary.md').read_text()

    # The canvases the demo wrote are what the segmenters read.
    sets = work / 'digit_canvas_seg' / 'VOCdevkit' / 'VOC2012' / 'ImageSets' / 'Segmentation'
    assert [len((sets / f'{s}.txt').read_text().split()) for s in ('train', 'val')] == [32, 16]
    dumped = Config.fromfile(work / 'dense' / 'transfer_deeplabv3plus_r18w32_digit_canvas.py')
    assert {dumped[f'{split}_dataloader'].dataset.data_root for split in ('train', 'val', 'test')
            } == {str(work / 'digit_canvas_seg' / 'VOCdevkit' / 'VOC2012')}

    # Tickets on the backbone only (the decode head stays dense), and the picture of masks:
    # four canvases in rows; image, ground truth and three segmenters in columns.
    for state in _assert_transferred(work, 1, 'best_mIoU_iter_*.pth'):
        head = [k for k in state if k.startswith('decode_head.') and k.endswith('conv.weight')]
        assert head and all(torch.count_nonzero(state[k]) == state[k].numel() for k in head)
    assert f'[demo] wrote {work / "masks.png"}' in out
    from PIL import Image
    with Image.open(work / 'masks.png') as picture:
        assert picture.width > picture.height > 0


def test_a_round_early_stopped_in_one_seed_is_not_comparable_merged():
    full = dict(round=1, sparsity=0.5, test_metric=90.0, comparable=True, trained=12)
    stopped = dict(full, test_metric=60.0, comparable=False, trained=4)
    for seeds in ([full, stopped], [stopped, full]):
        row = aggregate_seeds([{'IMP': [seeds[0]]}, {'IMP': [seeds[1]]}])['IMP'][0]
        assert row['comparable'] is False and row['test_metric'] == 75.0
        assert '75.00 (60.00-90.00)*' in format_table({'IMP': [row]})
    row = aggregate_seeds([{'IMP': [full]}, {'IMP': [dict(full, test_metric=80.0)]}])['IMP'][0]
    assert row['comparable'] is True
