"""tools/ticket.py: info, compare, convert (both ways, with key maps) and plot."""
from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import pytest
import torch
import torchvision

from lth_mm.core import Ticket
from lth_mm.engine.round_report import runs_png, write_summary

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


def test_plot_labels_runs_by_their_work_dirs_and_refuses_equal_labels(tmp_path, capsys):
    for seed, accuracy in ((0, 95.0), (1, 85.0)):  # two seeds' searches of one config
        rows = [dict(round=r, sparsity=1 - 0.8 ** r, test_metric=accuracy - r,
                     best_val_metric=accuracy, metric='accuracy/top1') for r in range(2)]
        write_summary(rows, tmp_path / f's{seed}' / 'search' / 'imp')
    given = [str(tmp_path / 's0' / 'search' / 'imp' / 'summary.json'),
             str(tmp_path / 's1' / 'search')]
    ticket_tool.main(['plot', *given, '--out', str(tmp_path / 'curve.png')])
    table = capsys.readouterr().out
    assert 's0/search' in table and 's1/search' in table  # both runs, each named
    assert '95.00' in table and '85.00' in table
    _fails(['plot', *given, '--labels', 'IMP', 'IMP', '--out', str(tmp_path / 'again.png')],
           "--labels must be distinct", "['IMP']")
    assert not (tmp_path / 'again.png').exists()


def test_runs_csv():
    from lth_mm.engine.round_report import runs_csv
    runs = {'IMP': [dict(round=0, sparsity=0.0, best_val_metric=97.5, test_metric=96.0),
                    dict(round=1, sparsity=0.2, best_val_metric=97.0, test_metric=None)]}
    assert runs_csv(runs).splitlines() == ['run,round,sparsity,best_val_metric,test_metric',
                                           'IMP,0,0.000000,97.5,96.0',
                                           'IMP,1,0.200000,97.0,']  # as summary.csv
    assert runs_csv(runs, ('round',)).splitlines()[1] == 'IMP,0'


def _fails(argv, *fragments):
    """ticket.py ends with a one-line message (SystemExit), never a traceback."""
    with pytest.raises(SystemExit) as err:
        ticket_tool.main(argv)
    message = str(err.value)
    assert message.startswith(f'ticket.py {argv[0]}: ') and '\n' not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_convert_to_a_bad_destination_is_a_clear_error(tickets, tmp_path):
    src = str(tickets[0] / 'magnitude.safetensors')
    _fails(['convert', src, ''], 'must be a file name')
    _fails(['convert', src, str(tmp_path)], 'must be a file name')
    message = _fails(['convert', src, '/proc/no/such/place.safetensors'],
                     'cannot write /proc/no/such/place.safetensors')
    assert '.tmp' not in message
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    _fails(['convert', src, str(blocker / 'under_a_file.pth')], 'cannot write')


def test_convert_with_a_misspelt_scheme_names_the_typo(tmp_path):
    """Custom keys (no known layout): the typo is reported, not the failed layout detection."""
    src = tmp_path / 'custom.safetensors'
    Ticket({'conv.weight': torch.ones(3, dtype=torch.bool)}).save(src)
    out = str(tmp_path / 'o.safetensors')
    message = _fails(['convert', str(src), out, '--dst-scheme', 'mmpretran'],
                     "unknown scheme 'mmpretran'", 'mmpretrain')
    assert 'cannot tell' not in message
    _fails(['convert', str(src), out, '--dst-scheme', 'mmpretrain', '--src-scheme', 'tv'],
           "unknown scheme 'tv'")
    assert not Path(out).exists()


def test_plot_of_a_json_that_is_not_a_summary(tmp_path):
    (tmp_path / 'other.json').write_text('{"a": 1}')
    _fails(['plot', str(tmp_path / 'other.json')], 'other.json is not a ticket-search summary')
    (tmp_path / 'rows.json').write_text('[{"round": "x"}]')
    _fails(['plot', str(tmp_path / 'rows.json')], 'not a ticket-search summary')
    (tmp_path / 'broken.json').write_text('[{')
    _fails(['plot', str(tmp_path / 'broken.json')], 'broken.json is not a JSON file')


def test_original_mask_files_load_without_running_code(tickets, tmp_path):
    _, magnitude, _ = tickets

    class Marker:
        def __reduce__(self):
            return (open, (str(tmp_path / 'marker'), 'w'))

    hostile = tmp_path / 'hostile.pth.tar'
    torch.save({'state_dict': magnitude.to_torch_prune(), 'extra': Marker()}, hostile)
    _fails(['info', str(hostile)], str(hostile), '--allow-pickle')
    _fails(['convert', str(hostile), str(tmp_path / 'out.safetensors')], '--allow-pickle')
    assert not (tmp_path / 'marker').exists() and not (tmp_path / 'out.safetensors').exists()
    ticket_tool.main(['info', str(hostile), '--allow-pickle'])  # the user vouches for the file
    assert (tmp_path / 'marker').exists()

    torch.save({'weights': torch.ones(3)}, tmp_path / 'weights.pth')
    _fails(['info', str(tmp_path / 'weights.pth')], 'weights.pth: no "*.weight_mask" tensors')
    (tmp_path / 'notes.txt').write_text('hello')
    _fails(['compare', str(tmp_path / 'notes.txt'), str(hostile)], 'notes.txt')


@pytest.mark.parametrize('cut', [3, 31, 206, -1])
@pytest.mark.parametrize('allow_pickle', [False, True])
def test_a_truncated_original_mask_file_is_one_line_and_exit_1(tickets, tmp_path, cut,
                                                               allow_pickle):
    """A torch.save file of the format before torch 1.6, cut short: no traceback from inside
    torch, no advice to opt in to full unpickling, and the destination is left alone."""
    _, magnitude, _ = tickets
    buffer = io.BytesIO()
    torch.save({'state_dict': magnitude.to_torch_prune()}, buffer,
               _use_new_zipfile_serialization=False)
    cut_file = tmp_path / 'mask.pth.tar'
    cut_file.write_bytes(buffer.getvalue()[:cut])
    flags = ['--allow-pickle'] if allow_pickle else []
    dst = tmp_path / 'existing.safetensors'
    magnitude.save(dst)
    before = dst.read_bytes()
    for argv in (['info', str(cut_file)], ['compare', str(dst), str(cut_file)],
                 ['convert', str(cut_file), str(dst)]):
        # SystemExit with a message: printed on one line to stderr, exit status 1.
        message = _fails(argv + flags, f'{cut_file} is not a readable PyTorch file',
                         'truncated')
        assert 'allow-pickle' not in message and 'allow_pickle' not in message
    assert dst.read_bytes() == before


def test_plot_panels_tick_labels_and_error_bars_from_zero():
    import io

    import matplotlib.image
    from matplotlib.figure import Figure

    from lth_mm.engine.round_report import _draw_runs, _percent
    assert [_percent(v) for v in (100, 50, 30, 20, 10, 4, 0.6, 0.5)] == [
        '100', '50', '30', '20', '10', '', '', '0.5']
    merged = dict(round=1, sparsity=0.5, metric='mAP', n=2, test_metric=0.5, test_metric_min=0.0,
                  test_metric_max=1.0)
    runs = {'IMP': [dict(merged, round=0, sparsity=0.0, test_metric_min=0.25), merged]}
    ax = Figure().subplots()
    _draw_runs(ax, runs)
    bars = ax.containers[0].lines[2][0].get_segments()
    assert [(s[0][1], s[1][1]) for s in bars] == [(0.25, 1.0), (0.0, 1.0)]  # min 0 is a min
    assert ax.get_ylabel() == 'mAP (test at best validation)'
    image = matplotlib.image.imread(io.BytesIO(runs_png({f'task {i}': runs for i in range(4)})))
    height, width = image.shape[:2]
    assert 1.5 * height < width < 3 * height  # three panels a row, two rows


def test_convert_applies_or_refuses_every_option(tickets, tmp_path):
    """--prefix reaches a safetensors destination too, and --src-scheme without --dst-scheme is
    refused: both were accepted and silently ignored."""
    folder, magnitude, _ = tickets
    out = tmp_path / 'prefixed.safetensors'
    ticket_tool.main(['convert', str(folder / 'magnitude.safetensors'), str(out),
                      '--prefix', 'backbone.'])
    assert Ticket.load(out) == magnitude.add_prefix('backbone.')
    _fails(['convert', str(folder / 'magnitude.safetensors'), str(tmp_path / 'x.safetensors'),
            '--src-scheme', 'moco_v2'], '--src-scheme moco_v2', 'give --dst-scheme too')
    assert not (tmp_path / 'x.safetensors').exists()


def test_compare_maps_a_ticket_of_another_scheme(tickets, tmp_path, capsys):
    """A ticket and its export for the original scripts (bare torchvision names, module.) are
    the same masks: compare maps the keys as the report does (it refused: different keys)."""
    folder, magnitude, _ = tickets
    exported = tmp_path / 'mask.pth.tar'
    ticket_tool.main(['convert', str(folder / 'magnitude.safetensors'), str(exported),
                      '--prefix', 'module.'])
    mmpretrain = tmp_path / 'mm.safetensors'
    ticket_tool.main(['convert', str(exported), str(mmpretrain), '--dst-scheme', 'mmpretrain'])
    capsys.readouterr()
    ticket_tool.main(['compare', str(mmpretrain), str(exported)])
    assert 'IoU of kept weights 1.0000; equal: True' in capsys.readouterr().out


def test_info_and_compare_read_the_ticket_of_an_mmengine_checkpoint(tickets, tmp_path, capsys):
    """An MMEngine checkpoint of a run under a ticket (message hub and all) stands for its
    ticket; it is read as plain data, with nothing more than the hub's HistoryBuffer allowed."""
    from mmengine.logging import MessageHub

    from lth_mm.core.torch_file import UnsafeFileError

    folder, magnitude, random = tickets
    hub = MessageHub.get_instance('ticket_tool_test')
    hub.update_scalar('train/loss', 0.5)
    path = tmp_path / 'epoch_3.pth'
    torch.save({'meta': dict(epoch=3), 'state_dict': {}, 'message_hub': hub.state_dict(),
                'lth_mm_ticket': magnitude.pack()}, path)
    ticket_tool.main(['info', str(path)])
    assert 'sparsity 50.00 %' in capsys.readouterr().out
    ticket_tool.main(['compare', str(path), str(folder / 'magnitude.safetensors')])
    assert 'IoU of kept weights 1.0000; equal: True' in capsys.readouterr().out
    with pytest.raises(UnsafeFileError, match=r'HistoryBuffer.*extra_globals=lth_mm.compat.'
                                              r'checkpoint_globals\(\)'):
        Ticket.read(path)  # core alone knows no MMEngine types, and says what to pass
    _fails(['info', str(tmp_path / 'missing.pth')], 'missing.pth does not exist')
