"""The report end to end: files, numbers in report.md / report.json, the CLI, and bad input that
writes nothing."""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from lth_mm.analysis import ReportInputError, analyse, render, write_report
from lth_mm.analysis import report as report_module
from lth_mm.analysis.figures import kernel_grid, random_like, short_names
from lth_mm.core import Ticket

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location('ticket_tool', ROOT / 'tools' / 'ticket.py')
ticket_tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ticket_tool)

PNG = b'\x89PNG\r\n\x1a\n'
FIGURES = ['layer_profile.png', 'overlap.png', 'overlap_layers.png', 'kernel_histogram.png',
           'kernel_removal.png', 'kernel_patterns.png']


@pytest.fixture(scope='module')
def report(ticket_files, tmp_path_factory):
    """A report on a magnitude ticket and two random ones, in three formats and key schemes."""
    out = tmp_path_factory.mktemp('report') / 'out'
    files = [ticket_files[k] for k in ('magnitude', 'random1_moco', 'random2_backbone')]
    analysis, written = write_report(files, out, labels=['IMP', 'random A', 'random B'])
    return out, analysis, written


def test_report_writes_every_figure_and_embeds_it(report) -> None:
    out, _, written = report
    assert [p.name for p in written] == FIGURES + ['report.json', 'report.md']
    for name in FIGURES:
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, name
    markdown = (out / 'report.md').read_text()
    assert re.findall(r'!\[[^]]*\]\(([^)]+)\)', markdown) == FIGURES  # relative paths, in order
    assert sorted(p.name for p in out.iterdir()) == sorted(FIGURES + ['report.json', 'report.md'])


def test_report_md_header_and_tables(report, resnet18_tickets) -> None:
    out, analysis, _ = report
    markdown = (out / 'report.md').read_text()
    for label, key in (('IMP', 'magnitude'), ('random A', 'random1'), ('random B', 'random2')):
        ticket = resnet18_tickets[key]
        row = next(line for line in markdown.splitlines() if line.startswith(f'| {label} |'))
        assert f'{100 * (1 - ticket.sparsity):.2f} %' in row
        assert f'{ticket.kept:,} / {ticket.numel:,}' in row
    digest = resnet18_tickets['magnitude'].digest()
    assert f'`{digest}`' in markdown and 'criterion=magnitude' in markdown
    assert 'keys in the torchvision scheme' in markdown
    overall = resnet18_tickets['magnitude'].overlap(resnet18_tickets['random1']).overall
    pair = next(line for line in markdown.splitlines() if line.startswith('| IMP vs random A |'))
    assert pair.split('|')[2].strip().startswith(f'{overall:.4f} (')
    assert '| `layer3.0.conv1.weight` | 256x128x3x3 | 294,912 |' in markdown
    assert 'Kernel patterns of `layer3.0.conv1.weight` (256x128x3x3): the first 16 x 16' in markdown


def test_report_json_holds_the_numbers(report, resnet18_tickets) -> None:
    out, _, _ = report
    data = json.loads((out / 'report.json').read_text())
    assert [t['label'] for t in data['tickets']] == ['IMP', 'random A', 'random B']
    assert data['tickets'][0]['digest'] == resnet18_tickets['magnitude'].digest()
    iou = data['overlap']['groups']['overall']['iou']
    assert iou['IMP']['IMP'] == 1.0
    expected = resnet18_tickets['random1'].overlap(resnet18_tickets['random2'])
    assert iou['random A']['random B'] == pytest.approx(expected.overall, abs=1e-12)
    layer = data['overlap']['layers']['layer2.0.conv1.weight']['iou']['random A']['random B']
    assert layer == pytest.approx(expected.per_layer['layer2.0.conv1.weight'])
    kernels = data['kernels']
    assert sum(kernels['histogram']['IMP']) == sum(
        m.shape[0] * m.shape[1] for m in resnet18_tickets['magnitude'].values()
        if m.shape[2:] == (3, 3))
    assert kernels['pattern_layer'] == 'layer3.0.conv1.weight'
    assert set(kernels['removed']['kernels']) == {'overall', 'layer1', 'layer2', 'layer3',
                                                  'layer4'}
    assert len(data['layers']) == 19 and data['layers'][0]['stage'] == 'layer1'


def test_a_single_ticket_and_a_ticket_without_3x3_convs(tmp_path, ticket_files) -> None:
    analysis, written = write_report([ticket_files['magnitude']], tmp_path / 'one')
    assert analysis.overlap is None and analysis.masks.labels == ('magnitude',)
    assert 'overlap.png' not in {p.name for p in written}
    assert 'One ticket: no pairs to compare.' in (tmp_path / 'one' / 'report.md').read_text()
    linear = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Conv2d(3, 4, 1))
    path = tmp_path / 'linear.safetensors'
    Ticket.dense(linear, {'layer_types': ('Linear', 'Conv2d')}).prune(linear, 0.5).save(path)
    analysis, written = write_report([path, path], tmp_path / 'linear')
    assert analysis.kernels is None and analysis.masks.labels == ('linear#1', 'linear#2')
    assert [p.name for p in written] == ['layer_profile.png', 'overlap.png',
                                         'overlap_layers.png', 'report.json', 'report.md']
    with pytest.raises(ReportInputError, match='no 3x3 conv masks'):
        analyse([path], layer='0')


def test_a_report_into_an_earlier_reports_folder_leaves_none_of_its_files(
        tmp_path, ticket_files) -> None:
    out = tmp_path / 'out'
    (out / 'notes.txt').parent.mkdir()
    (out / 'notes.txt').write_text('mine')
    (out / 'overlap.png').write_bytes(b'mine too')  # a folder without a report: left alone
    write_report([ticket_files['magnitude']], out)
    assert (out / 'overlap.png').read_bytes() == b'mine too'
    write_report([ticket_files['magnitude'], ticket_files['random1_moco']], out)
    assert {'overlap.png', 'kernel_patterns.png'} <= {p.name for p in out.iterdir()}
    path = tmp_path / 'linear.safetensors'  # one ticket, no 3x3 convs: no overlap, no kernels
    linear = torch.nn.Sequential(torch.nn.Linear(8, 8))
    Ticket.dense(linear, {'layer_types': ('Linear', )}).prune(linear, 0.5).save(path)
    _, written = write_report([path], out)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [p.name for p in written] + ['notes.txt'])  # the user's own file stays
    assert [p.name for p in written] == ['layer_profile.png', 'report.json', 'report.md']
    assert set(render(analyse([ticket_files['magnitude'], ticket_files['random1_moco']]))) == set(
        report_module.REPORT_FILES)


def test_layer_block_and_long_labels(ticket_files) -> None:
    labels = ['work_dirs/imp_pt_trans_imagenet_resnet50_cifar10/imp/tickets/round_07' + s
              for s in ('', '_b')]
    analysis = analyse([ticket_files['random2_backbone'], ticket_files['magnitude']], labels,
                       layer='layer4.1.conv2', block=4)
    assert analysis.layer == 'backbone.layer4.1.conv2.weight'
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # e.g. constrained layout collapsing under long labels
        files = render(analysis)
    assert '`backbone.layer4.1.conv2.weight` (512x512x3x3): the first 4 x 4' in \
        files['report.md'].decode()


def test_kernel_grid_and_random_like() -> None:
    mask = np.zeros((2, 3, 3, 3), dtype=bool)
    mask[1, 2] = True
    mask[0, 0, 1, 1] = True
    grid = kernel_grid(mask, 2, 3)
    assert grid.shape == (7, 11)
    assert np.isnan(grid[3]).all() and np.isnan(grid[:, 3]).all() and np.isnan(grid[:, 7]).all()
    assert grid[1, 1] == 1 and grid[0, 0] == 0 and (grid[4:7, 8:11] == 1).all()
    assert np.nansum(grid) == 10
    assert kernel_grid(mask, 16, 16).shape == (7, 11)  # cropped to the layer
    sample = random_like(mask, seed=3)
    assert sample.shape == mask.shape and sample.sum() == mask.sum()
    assert (random_like(mask, seed=3) == sample).all()
    assert short_names(['backbone.layer1.0.conv1.weight', 'backbone.layer2.0.conv1.weight']) == [
        'layer1.0.conv1', 'layer2.0.conv1']
    assert short_names(['backbone.layer1.0.conv1.weight', 'backbone.layer1.0.conv2.weight']) == [
        'conv1', 'conv2']
    assert short_names(['layer1.0.conv1.weight']) == ['layer1.0.conv1']


# Bad input writes nothing -----------------------------------------------------------------------
def _bad_inputs(ticket_files, tmp_path):
    text = tmp_path / 'notes.txt'
    text.write_text('not a ticket')
    bottleneck = torchvision.models.resnet.ResNet(torchvision.models.resnet.Bottleneck, [1] * 4)
    other = tmp_path / 'bottleneck.safetensors'
    Ticket.dense(bottleneck).save(other)
    good = ticket_files['magnitude']
    return [
        (dict(paths=[good, text]), 'notes.txt is not a readable lth_mm ticket file'),
        (dict(paths=[good, other]), 'only in the second: layer1.0.conv3.weight'),
        (dict(paths=[good, tmp_path / 'missing.pth']), 'missing.pth does not exist'),
        (dict(paths=[good, good], labels=['a']), '1 labels for 2 tickets'),
        (dict(paths=[good, good], labels=['a', 'a']), r"distinct and non-empty; repeated: \['a'\]"),
        (dict(paths=[good], layer='layer9'), "'layer9' is no 3x3 conv layer"),
        (dict(paths=[good], block=0), 'at least 1'),
        (dict(paths=[]), 'no ticket files'),
    ]


def test_bad_input_gets_a_clear_error_and_writes_nothing(ticket_files, tmp_path) -> None:
    out = tmp_path / 'report'
    for kwargs, message in _bad_inputs(ticket_files, tmp_path):
        with pytest.raises(ReportInputError, match=message):
            write_report(out=out, **kwargs)
        assert not out.exists(), kwargs
    out.mkdir()
    (out / 'report.md').write_text('an earlier report')
    for kwargs, message in _bad_inputs(ticket_files, tmp_path):
        with pytest.raises(ReportInputError, match=message):
            write_report(out=out, **kwargs)
    assert [p.name for p in out.iterdir()] == ['report.md']
    assert (out / 'report.md').read_text() == 'an earlier report'
    with pytest.raises(ReportInputError, match='exists and is not a folder'):
        write_report([ticket_files['magnitude']], out / 'report.md')


def test_cli(ticket_files, tmp_path, capsys) -> None:
    out = tmp_path / 'cli'
    ticket_tool.main(['report', str(ticket_files['magnitude_module']),
                      str(ticket_files['random1']), '--labels', 'IMP', 'random',
                      '--out', str(out), '--layer', 'layer2.0.conv2', '--block', '8'])
    printed = capsys.readouterr().out
    assert 'IMP: 20.97 % remaining, 3x3 kernels empty' in printed
    assert re.search(r'IMP vs random: 0\.1\d{3} \(0\.1\d{3}\)', printed)
    assert f'wrote {out / "report.md"}' in printed
    markdown = (out / 'report.md').read_text()
    assert 'layer2.0.conv2.weight` (128x128x3x3): the first 8 x 8' in markdown
    with pytest.raises(SystemExit, match=r'ticket.py report: .*only in the second: conv1.weight'):
        stem = tmp_path / 'stem.safetensors'
        ticket = Ticket.load(ticket_files['random1'])
        Ticket({'conv1.weight': torch.ones(64, 3, 7, 7), **ticket}).save(stem)
        ticket_tool.main(['report', str(ticket_files['random1']), str(stem),
                          '--out', str(tmp_path / 'refused')])
    assert not (tmp_path / 'refused').exists()


# Plain PyTorch, fast enough ---------------------------------------------------------------------
def test_report_works_without_the_stack(tmp_path) -> None:
    """lth_mm.analysis is plain PyTorch, numpy and matplotlib: a whole report runs with every
    OpenMMLab package made unimportable."""
    code = (
        'import sys\n'
        'for name in ("mmengine", "mmcv", "mmdet", "mmseg", "mmpretrain"):\n'
        '    sys.modules[name] = None  # makes "import name" fail\n'
        'import torch\n'
        'from lth_mm.core import Ticket\n'
        'from lth_mm.analysis import write_report\n'
        'model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Conv2d(8, 8, 3))\n'
        'Ticket.dense(model).prune(model, 0.5).save(sys.argv[1] + "/t.safetensors")\n'
        'print(len(write_report([sys.argv[1] + "/t.safetensors"], sys.argv[1] + "/out")[1]))\n')
    result = subprocess.run([sys.executable, '-c', code, str(tmp_path)], capture_output=True,
                            text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == 6  # profile, 3 kernel figures, json, md


@pytest.mark.slow
def test_a_resnet50_report_takes_seconds(tmp_path) -> None:
    """Two ResNet-50 tickets (23.5 M conv weights, 52 masks): a few seconds here; the bound is
    loose for busy machines but fails any per-weight Python loop (minutes)."""
    torch.manual_seed(0)
    model = torchvision.models.resnet50()
    dense = Ticket.dense(model)
    paths = [tmp_path / 'magnitude.safetensors', tmp_path / 'random.safetensors']
    dense.prune_to(model, 0.8).save(paths[0])
    dense.prune_to(model, 0.8, criterion='random', mode='layerwise').save(paths[1])
    start = time.perf_counter()
    analysis, written = write_report(paths, tmp_path / 'out')
    elapsed = time.perf_counter() - start
    assert len(analysis.masks.names) == 52 and analysis.masks.numel.sum() == 23_445_504
    assert len(written) == 8
    assert elapsed < 30, elapsed
