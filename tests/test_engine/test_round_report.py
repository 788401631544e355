"""The sparsity plot is written in the format its file name says."""
from __future__ import annotations

import pytest

from lth_mm.engine.round_report import plot_runs

ROWS = [dict(round=r, sparsity=1 - 0.8 ** r, best_val_metric=90 - r, test_metric=89 - r)
        for r in range(4)]


@pytest.mark.parametrize('name, start', [('curve.png', b'\x89PNG'), ('curve.pdf', b'%PDF'),
                                         ('curve.SVG', b'<?xml')])
def test_the_file_name_picks_the_format(tmp_path, name, start):
    plot_runs({'IMP': ROWS}, tmp_path / name)
    assert (tmp_path / name).read_bytes().startswith(start)


def test_another_extension_is_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match=r'curve.jpg: name the file .png, .pdf or .svg'):
        plot_runs({'IMP': ROWS}, tmp_path / 'curve.jpg')
    assert not (tmp_path / 'curve.jpg').exists()


def test_summary_csv_tells_reversed_and_randomized_runs_apart(tmp_path):
    """A transfer's CSV carries whether its ticket was reversed or randomized (only the JSON did,
    so a reversed run's CSV row read like a plain one)."""
    import csv

    from lth_mm.engine.round_report import write_summary

    rows = [dict(round=0, sparsity=0.8, test_metric=90.0, ticket='t.safetensors',
                 reversed=True, randomized=False, ticket_card={'round': 3})]
    write_summary(rows, tmp_path)
    written = list(csv.DictReader((tmp_path / 'summary.csv').open()))
    assert (written[0]['reversed'], written[0]['randomized']) == ('True', 'False')
    assert 'ticket_card' not in written[0]  # nested: the JSON only
