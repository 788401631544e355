"""lth_mm.engine.config_dump: mmengine's config dumps read as data, and the labels made of them."""
from __future__ import annotations

import keyword
import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmengine.config import Config

from lth_mm.engine.config_dump import (
    ConfigDumpError,
    dataset_label,
    find_config,
    flatten,
    read_config_dump,
    start_weights,
    weights_label,
)

#: Identifiers a config can hold as keys: Python keywords ('else', 'if') cannot be (mmengine would
#: write ``dict(else=None)``, which no config file can contain either).
NAMES = st.from_regex(r'[a-z_][a-z0-9_]{0,8}', fullmatch=True).filter(
    lambda s: s not in ('dict', 'inf', 'nan') and not s.startswith('_')
    and not keyword.iskeyword(s))
LEAVES = (st.none() | st.booleans() | st.integers(-10 ** 12, 10 ** 12)
          | st.floats(allow_nan=False, allow_infinity=True) | st.text(max_size=12))
#: Keys that are no identifiers ('0', 'pascal_voc/mAP'): mmengine writes them quoted, without
#: escaping quotes. (Non-ASCII identifiers are left out: Python itself NFKC-normalises them.)
KEYS = NAMES | st.text(st.characters(min_codepoint=32, max_codepoint=126,
                                     exclude_characters="'\\"), min_size=1, max_size=6).filter(
    lambda s: not keyword.iskeyword(s))
VALUES = st.recursive(LEAVES, lambda children: (
    st.lists(children, max_size=3) | st.lists(children, max_size=3).map(tuple)
    | st.dictionaries(KEYS, children, max_size=3)), max_leaves=12)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(NAMES, VALUES, min_size=1, max_size=4))
def test_what_mmengine_dumps_reads_back_equal(tmp_path, data):
    path = tmp_path / 'dumped.py'
    Config(data).dump(str(path))
    expected = Config(data).to_dict()  # as mmengine holds it (lists and tuples kept)
    assert read_config_dump(path) == expected


def test_a_real_dump_reads_back_and_flattens(tmp_path):
    cfg = Config(dict(model=dict(type='M', layers=[dict(k=3), dict(k=(1, 2))]),
                      lr=float('inf'), ratio=-0.5, empty=[], nothing={}))
    cfg.dump(str(tmp_path / 'cfg.py'))
    data = read_config_dump(tmp_path / 'cfg.py')
    assert math.isinf(data['lr']) and data['ratio'] == -0.5
    assert flatten(data) == {'model.type': 'M', 'model.layers.0.k': 3, 'model.layers.1.k.0': 1,
                             'model.layers.1.k.1': 2, 'lr': math.inf, 'ratio': -0.5,
                             'empty': '[]', 'nothing': '{}'}


@pytest.mark.parametrize('text, where', [
    ('import os\nmodel = dict()\n', ':1: not a config dump (Import'),
    ("model = dict(type=open('x').read())\n", ':1: "open(\'x\').read()" is not a literal'),
    ("model = __import__('os').system('touch {flag}')\n", 'is not a literal'),
    ('model = dict(**other)\n', 'is not a literal'),
    ('model = [1, 2\n', 'is not a config dump:'),
])
def test_anything_but_literals_is_refused_and_never_run(tmp_path, text, where):
    flag = tmp_path / 'ran'
    path = tmp_path / 'cfg.py'
    path.write_text(text.format(flag=flag))
    with pytest.raises(ConfigDumpError, match=r'cfg\.py' + r'.*' + where.replace('(', r'\(')
                       .replace(')', r'\)').replace('[', r'\[')):
        read_config_dump(path)
    assert not flag.exists()


def test_find_config_prefers_the_run_that_wrote_the_record(tmp_path):
    def dump(path: Path, lr: float, mtime: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        Config(dict(model=dict(type='M'), lr=lr)).dump(str(path))
        os.utime(path, (mtime, mtime))

    assert find_config(tmp_path) == (None, None, 'no config dump in the work dir '
                                      '(<timestamp>/vis_data/config.py or <config name>.py, '
                                      'written by mmengine)')
    dump(tmp_path / 'train.py', 0.2, 1000)          # rewritten by a later tools/test.py
    assert find_config(tmp_path)[1]['lr'] == 0.2
    dump(tmp_path / '20260101_000000' / 'vis_data' / 'config.py', 0.1, 1000)  # the training
    dump(tmp_path / '20260101_010000' / 'vis_data' / 'config.py', 0.3, 3000)  # a later test
    assert find_config(tmp_path, written_by=2000)[1]['lr'] == 0.1
    assert find_config(tmp_path)[1]['lr'] == 0.3
    (tmp_path / 'helper.py').write_text('import os\n')  # not a dump: skipped, not fatal
    assert find_config(tmp_path, written_by=2000)[0].parent.parent.name == '20260101_000000'


def test_dataset_labels():
    def label(dataset):
        return dataset_label(dict(train_dataloader=dict(dataset=dataset)))

    assert label(dict(type='Digits', classes=(0, 1, 2, 3, 4))) == 'Digits 0-4'
    assert label(dict(type='Digits', classes=[1, 3, 5])) == 'Digits 1,3,5'
    assert label(dict(type='mmpretrain.CIFAR10Split')) == 'CIFAR10'
    assert label(dict(type='CocoDataset', metainfo=dict(classes=('cat', 'dog', 'cow', 'pig')))
                 ) == 'Coco cat,dog,cow,... (4 classes)'
    voc = dict(type='RepeatDataset', times=3, dataset=dict(type='ConcatDataset', datasets=[
        dict(type='VOCDataset', ann_file='VOC2007/trainval.txt'),
        dict(type='VOCDataset', ann_file='VOC2012/trainval.txt')]))
    assert label(voc) == 'VOC'
    assert dataset_label({}) == '?'


def test_start_weights_and_their_labels(tmp_path):
    assert start_weights(dict(load_from='a.pth', model={})) == 'a.pth'
    init = dict(backbone=dict(init_cfg=[dict(type='Kaiming'), dict(
        type='MappedPretrained', checkpoint='checkpoints/moco_v2_800ep_pretrain.pth.tar')]))
    assert start_weights(dict(load_from=None, model=init)) == (
        'checkpoints/moco_v2_800ep_pretrain.pth.tar')
    assert start_weights(dict(model=dict(backbone=dict(init_cfg=dict(
        type='Pretrained', checkpoint='torchvision://resnet50'))))) == 'torchvision://resnet50'
    assert start_weights(dict(model=dict(backbone=dict(init_cfg=dict(type='Kaiming'))))) is None
    assert weights_label(None) == 'random init'
    assert weights_label('checkpoints/moco_v2_800ep_pretrain.pth.tar') == 'moco_v2_800ep_pretrain'
    assert weights_label('https://download.openmmlab.com/x/resnet50_in1k.pth') == 'resnet50_in1k'
    assert weights_label('torchvision://resnet50') == 'torchvision://resnet50'
    run = tmp_path / 'pretrain'  # a checkpoint beside its run's config: named by its task
    run.mkdir()
    Config(dict(model=dict(type='M'), train_dataloader=dict(dataset=dict(
        type='Digits', classes=(0, 1, 2, 3, 4))))).dump(str(run / 'pretrain.py'))
    (run / 'epoch_12.pth').write_bytes(b'')
    (run / 'imp').mkdir()
    (run / 'imp' / 'round_03_best.pth').write_bytes(b'')
    assert weights_label(str(run / 'epoch_12.pth')) == 'Digits 0-4'
    assert weights_label(str(run / 'imp' / 'round_03_best.pth')) == 'Digits 0-4'
