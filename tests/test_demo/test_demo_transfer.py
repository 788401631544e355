"""tools/demo_transfer.py: the ticket-transfer demo (digits 0-4 -> 5-9) and its parts."""
from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lth_mm.compat import load_local_checkpoint
from lth_mm.core import Ticket

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools' / 'demo_transfer.py'


@pytest.fixture(scope='module')
def demo():
    spec = importlib.util.spec_from_file_location('demo_transfer', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def model(demo):
    return demo.build_model(demo.WIDTH8)


def test_parse_args(demo):
    args = demo.parse_args([])
    assert (args.rounds, args.rate, args.transfer_rounds) == (5, 0.6, [1, 2, 3, 4, 5])
    assert demo.parse_args(['--rounds', '4', '--transfer-rounds', '4,2']).transfer_rounds == [2, 4]
    quick = demo.parse_args(['--quick'])
    assert (quick.rounds, quick.epochs, quick.transfer_rounds) == (2, 1, [2])
    for bad in (['--transfer-rounds', '6'], ['--transfer-rounds', 'x'], ['--epochs', '0']):
        with pytest.raises(SystemExit):
            demo.parse_args(bad)


def test_random_ticket_matches_the_imp_sparsity(demo, model):
    imp = Ticket.dense(model).prune(model, 0.6)
    imp = imp.prune(model, 0.6)  # two magnitude rounds: 84 % sparse, layers unevenly pruned
    rnd = demo.random_ticket(imp, model, seed=1)
    assert set(rnd) == set(imp)
    assert all(rnd[k].shape == imp[k].shape for k in imp)
    assert rnd.kept == imp.kept and rnd.numel == imp.numel
    assert rnd.sparsity == imp.sparsity == pytest.approx(0.84, abs=1e-4)
    assert rnd != imp and rnd.digest() != imp.digest()
    # Random, not magnitude: it overlaps the IMP ticket about as chance predicts (16 % of 16 %).
    assert rnd.overlap(imp).overall < 0.2
    assert rnd.card['criterion'] == 'random' and rnd.card['round'] == imp.card['round']
    # Seeded: the same seed gives the same ticket, another seed another one.
    assert demo.random_ticket(imp, model, seed=1) == rnd
    assert demo.random_ticket(imp, model, seed=2) != rnd


def test_random_ticket_rejects_a_foreign_ticket(demo, model):
    imp = Ticket.dense(model).prune(model, 0.5).strip_prefix('backbone.layer1.')
    with pytest.raises(ValueError, match='different weights'):
        demo.random_ticket(imp, model, seed=0)


def _rows(path: Path) -> dict:
    runs: dict = {}
    with open(path) as handle:
        for row in csv.DictReader(handle):
            runs.setdefault(row['run'], {})[int(row['round'])] = row
    return runs


@pytest.mark.slow
def test_demo_transfer_quick_end_to_end(tmp_path):
    work = tmp_path / 'demo'
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1')
    result = subprocess.run([sys.executable, str(SCRIPT), '--quick', '--work-dir', str(work)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert 'IMP ticket' in result.stdout and 'random ticket' in result.stdout

    runs = _rows(work / 'summary.csv')
    assert set(runs) == {'IMP ticket', 'random ticket', 'from scratch', 'IMP on 0-4'}
    assert set(runs['IMP ticket']) == set(runs['random ticket']) == {0, 2}
    assert set(runs['IMP on 0-4']) == {0, 2} and set(runs['from scratch']) == {0}
    assert runs['IMP ticket'][0] == {**runs['random ticket'][0], 'run': 'IMP ticket'}
    for rnd in (0, 2):
        assert runs['IMP ticket'][rnd]['sparsity'] == runs['random ticket'][rnd]['sparsity']
    assert float(runs['IMP ticket'][2]['sparsity']) == pytest.approx(0.84, abs=1e-4)
    assert float(runs['from scratch'][0]['sparsity']) == 0.0
    for rows in runs.values():
        for row in rows.values():
            assert 0.0 <= float(row['test_metric']) <= 100.0
            assert 0.0 <= float(row['best_val_metric']) <= 100.0
            assert int(row['best_epoch']) >= 1

    summary = (work / 'summary.md').read_text()
    assert 'sparsity %' in summary and '84.00' in summary
    assert (work / 'transfer_curve.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert (work / 'pretrained.pth').is_file()

    # The tickets on disk: same sparsity, different masks.
    imp = Ticket.load(work / 'imp' / 'imp' / 'tickets' / 'round_02.safetensors')
    rnd = Ticket.load(work / 'random_tickets' / 'round_02.safetensors')
    assert rnd.kept == imp.kept and rnd != imp

    # The tested checkpoints are sparse: the fine-tuning kept the ticket's pruned weights at zero.
    for name, ticket in (('imp_round_02', imp), ('random_round_02', rnd)):
        best = next((work / 'transfer' / name).glob('best_accuracy_top1_epoch_*.pth'))
        state = load_local_checkpoint(str(best), map_location='cpu')['state_dict']
        for key, mask in ticket.items():
            assert torch.count_nonzero(state[key][~mask]) == 0, (name, key)
