"""tools/ticket.py: info, compare, convert (both ways, with key maps) and plot."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
import torchvision

from lth_mm.core import Ticket
from lth_mm.engine.round_report import write_summary

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location('ticket_tool', ROOT / 'tools' / 'ticket.py')
ticket_tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ticket_tool)


@pytest.fixture(scope='module')
def tickets(tmp_path_factory):
    torch.manual_seed(0)
    model = torchvision.models.resnet18()
    folder = tmp_path_factory.mktemp('tickets')
    dense = Ticket.dense(model)
    magnitude = dense.prune(model, 0.5)
    random = dense.prune(model, 0.5, criterion='random', generator=torch.Generator().manual_seed(0))
    magnitude.save(folder / 'magnitude.safetensors')
    random.save(folder / 'random.safetensors')
    return folder, magnitude, random


def test_info_and_compare(tickets, capsys):
    folder, magnitude, random = tickets
    ticket_tool.main(['info', str(folder / 'magnitude.safetensors'), '--layers'])
    out = capsys.readouterr().out
    assert 'sparsity 50.00 %' in out and 'layer1.0.conv1.weight' in out
    assert '"criterion": "magnitude"' in out
    ticket_tool.main(['compare', str(folder / 'magnitude.safetensors'),
                      str(folder / 'random.safetensors')])
    out = capsys.readouterr().out
    assert f'IoU of kept weights {magnitude.overlap(random).overall:.4f}' in out
    assert 'equal: False' in out


def test_convert_round_trip_with_key_map(tickets, tmp_path):
    folder, magnitude, _ = tickets
    original = tmp_path / 'mask.pth.tar'
    ticket_tool.main(['convert', str(folder / 'magnitude.safetensors'), str(original),
                      '--prefix', 'module.'])
    saved = torch.load(original, weights_only=True)['state_dict']
    assert 'module.layer1.0.conv1.weight_mask' in saved
    back = tmp_path / 'mm.safetensors'
    ticket_tool.main(['convert', str(original), str(back), '--dst-scheme', 'mmpretrain'])
    mapped = Ticket.load(back)
    assert set(mapped) == {f'backbone.{k}' for k in magnitude}
    assert all(torch.equal(mapped[f'backbone.{k}'], magnitude[k]) for k in magnitude)


def test_plot_and_errors(tmp_path, capsys):
    for name, accuracy in (('imp', 95.0), ('random', 90.0)):
        rows = [dict(round=r, sparsity=1 - 0.8 ** r, test_metric=accuracy - r,
                     best_val_metric=accuracy, metric='accuracy/top1') for r in range(3)]
        write_summary(rows, tmp_path / name / 'imp')
    out_png = tmp_path / 'curve.png'
    ticket_tool.main(['plot', str(tmp_path / 'imp'), str(tmp_path / 'random'),
                      '--labels', 'IMP', 'random', '--out', str(out_png)])
    assert out_png.stat().st_size > 1000
    table = capsys.readouterr().out
    assert 'IMP' in table and '93.00' in table and '88.00' in table
    with pytest.raises(SystemExit, match='does not exist'):
        ticket_tool.main(['info', str(tmp_path / 'missing.safetensors')])
    with pytest.raises(SystemExit, match='no summary.json'):
        ticket_tool.main(['plot', str(tmp_path / 'nothing')])
    assert json.loads((tmp_path / 'imp' / 'imp' / 'summary.json').read_text())[0]['round'] == 0


def test_runs_csv():
    from lth_mm.engine.round_report import runs_csv
    runs = {'IMP': [dict(round=0, sparsity=0.0, best_val_metric=97.5, test_metric=96.0),
                    dict(round=1, sparsity=0.2, best_val_metric=97.0, test_metric=None)]}
    assert runs_csv(runs).splitlines() == ['run,round,sparsity,best_val_metric,test_metric',
                                           'IMP,0,0.000000,97.5,96.0',
                                           'IMP,1,0.200000,97.0,None']
    assert runs_csv(runs, ('round',)).splitlines()[1] == 'IMP,0'
