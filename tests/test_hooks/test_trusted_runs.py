"""Runs users can trust: resume, re-run, test and replay the way users do them.

Each test reproduces a case that failed before (see the issue "Runs users can trust"): resumes
that were refused, a resume that forgot a round's best weights, tools/test.py on IMP and transfer
checkpoints, a re-run into an occupied work dir, a resume with other arguments, a mixed replay
folder, and errors that came late.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
from pathlib import Path
from typing import Any, List

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from lth_mm.core import Ticket, UnsafeFileError, weights_hash

from .conftest import ROOT, build_runner, tiny_cfg, write_config

IMP = dict(type='IMPHook', rounds=2, rate=0.5, metric='accuracy/top1')


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(f'lth_mm_tools_{name}',
                                                  ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@HOOKS.register_module(force=True)
class CrashAfterVal(Hook):
    """Test probe: dies right after the validation of ``epoch`` (after the lth_mm hooks saw it),
    before the next checkpoint: the checkpoint of that epoch was written before the validation."""

    priority = 'LOWEST'

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def after_val_epoch(self, runner, metrics=None) -> None:
        if runner.epoch == self.epoch:
            raise RuntimeError('simulated kill after validation')


def digests(work_dir: Path) -> List[str]:
    return [Ticket.load(p).digest()
            for p in sorted((work_dir / 'imp' / 'tickets').glob('round_*.safetensors'))]


def rows(work_dir: Path, folder: str = 'imp') -> List[dict]:
    return json.loads((work_dir / folder / 'summary.json').read_text())


def crash_then_resume(work_dir: Path, hooks: list, crash: dict, **resume: Any):
    """Train until the probe ``crash`` kills the run, then resume with ``resume`` overrides."""
    with pytest.raises(RuntimeError, match='simulated'):
        build_runner(tiny_cfg(work_dir, hooks + [crash], **RESUMABLE)).train()
    runner = build_runner(tiny_cfg(work_dir, hooks, **RESUMABLE, **resume))
    runner.train()
    return runner


RESUMABLE = {'default_hooks.checkpoint.max_keep_ckpts': -1}


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory) -> Path:
    """Dense 'pre-trained' weights of the tiny model: a checkpoint with no ticket record."""
    folder = tmp_path_factory.mktemp('pretrained')
    model = build_runner(tiny_cfg(folder / 'donor', [])).model
    path = folder / 'pretrained.pth'
    torch.save({'state_dict': {k: v + 0.01 if v.is_floating_point() else v
                               for k, v in model.state_dict().items()}}, path)
    return path


# 1. Resumes that were refused ------------------------------------------------------------------
def test_resume_of_a_pt_trans_search_started_from_load_from(tmp_path, pretrained):
    """`--resume` clears load_from: the rewind point comes from the search's own files."""
    hooks = [dict(IMP, rewind='pt_trans')]
    build_runner(tiny_cfg(tmp_path / 'reference', hooks, load_from=str(pretrained))).train()
    work = tmp_path / 'resumed'
    with pytest.raises(RuntimeError, match='simulated'):
        build_runner(tiny_cfg(work, hooks + [dict(type='CrashAtEpoch', epoch=3)],
                              load_from=str(pretrained))).train()
    build_runner(tiny_cfg(work, hooks, resume=True, load_from=None)).train()  # = train.py --resume
    assert digests(work) == digests(tmp_path / 'reference')


def test_resume_of_an_lt_search_from_an_explicit_checkpoint(tmp_path):
    """`--resume W/epoch_3.pth` sets load_from: not pre-trained weights, the search's own."""
    hooks = [dict(IMP, rewind='lt')]
    build_runner(tiny_cfg(tmp_path / 'reference', hooks)).train()
    work = tmp_path / 'resumed'
    crash_then_resume(work, hooks, dict(type='CrashAtEpoch', epoch=4), resume=True,
                      load_from=str(tmp_path / 'resumed' / 'epoch_3.pth'))
    assert digests(work) == digests(tmp_path / 'reference')


def test_train_py_resume_and_cfg_options(tmp_path, pretrained):
    train = _tool('train')
    config = write_config(tmp_path / 'cfg.py', tiny_cfg(tmp_path / 'w', [dict(IMP)]))

    def merged(*argv: str):
        args = train.parse_args([str(config), '--work-dir', str(tmp_path / 'w'), *argv])
        return train.merge_args(train.Config.fromfile(str(config)), args)

    # Nothing to resume yet: a new run that keeps its pre-trained weights.
    cfg = merged('--resume', '--cfg-options', f'load_from={pretrained}')
    assert not cfg.get('resume') and cfg.load_from == str(pretrained)
    (tmp_path / 'w').mkdir()
    (tmp_path / 'w' / 'last_checkpoint').write_text(str(tmp_path / 'w' / 'epoch_1.pth'))
    # A checkpoint to resume: load_from of --cfg-options does not replace it.
    for age, name in enumerate(('epoch_2.pth', 'epoch_1.pth')):
        torch.save({}, tmp_path / 'w' / name)
        os.utime(tmp_path / 'w' / name, (1e9 - age, 1e9 - age))
    cfg = merged('--resume', '--cfg-options', f'load_from={pretrained}')
    assert cfg.resume and cfg.load_from == str(tmp_path / 'w' / 'epoch_1.pth')
    # A kill while mmengine rewrote last_checkpoint leaves it empty: the newest checkpoint is used.
    (tmp_path / 'w' / 'last_checkpoint').write_text('')
    cfg = merged('--resume')
    assert cfg.resume and cfg.load_from == str(tmp_path / 'w' / 'epoch_2.pth')
    cfg = merged('--resume', str(tmp_path / 'w' / 'epoch_1.pth'))
    assert cfg.resume and cfg.load_from == str(tmp_path / 'w' / 'epoch_1.pth')


# 2. A kill between a validation and the next checkpoint ----------------------------------------
def test_resume_after_a_validation_keeps_the_rounds_best(tmp_path):
    """The checkpoint of epoch 1 is written before its validation; the resumed run repeats it."""
    hooks = [dict(IMP, rewind='pt', rule='less')]
    build_runner(tiny_cfg(tmp_path / 'reference', hooks)).train()
    expected = rows(tmp_path / 'reference')
    # The case that was lost: a round whose best is its first validation (2 epochs a round).
    first = [r['best_epoch'] for r in expected if r['best_epoch'] == 2 * r['round'] + 1]
    assert first, expected
    work = tmp_path / 'resumed'
    crash_then_resume(work, hooks, dict(type='CrashAfterVal', epoch=first[0]), resume=True)
    got = rows(work)
    for key in ('best_epoch', 'best_val_metric', 'test_metric', 'ticket_digest'):
        assert [r[key] for r in got] == [r[key] for r in expected], key
    assert digests(work) == digests(tmp_path / 'reference')


def test_resume_of_a_transfer_keeps_its_trained_head(tmp_path, pretrained):
    """TicketHook re-initialised the head again on resume, throwing away its training."""
    ticket = tmp_path / 'ticket.safetensors'
    model = build_runner(tiny_cfg(tmp_path / 'probe', [])).model
    Ticket.dense(model).prune(model, 0.6).save(ticket)
    hooks = [dict(type='TicketHook', ticket=str(ticket), reinit_prefixes=('head.',),
                  metric='accuracy/top1')]
    reference = build_runner(tiny_cfg(tmp_path / 'reference', hooks, epochs=3,
                                      load_from=str(pretrained)))
    reference.train()
    work = tmp_path / 'resumed'
    with pytest.raises(RuntimeError, match='simulated'):
        build_runner(tiny_cfg(work, hooks + [dict(type='CrashAtEpoch', epoch=2)], epochs=3,
                              load_from=str(pretrained))).train()
    resumed = build_runner(tiny_cfg(work, hooks, epochs=3, resume=True, load_from=None))
    resumed.train()
    assert (weights_hash(dict(resumed.model.named_parameters()))
            == weights_hash(dict(reference.model.named_parameters())))
    assert rows(work, 'ticket')[0]['test_metric'] == rows(tmp_path / 'reference',
                                                          'ticket')[0]['test_metric']


# 3. tools/test.py on IMP and transfer checkpoints ----------------------------------------------
def _test_py(config: Path, checkpoint: Path, work: Path, *options: str) -> dict:
    argv = [str(config), str(checkpoint), '--work-dir', str(work)]
    return _tool('test').main(argv + (['--cfg-options', *options] if options else []))


def test_test_py_evaluates_imp_checkpoints_under_their_ticket(tmp_path, pretrained):
    work = tmp_path / 'imp'
    cfg = tiny_cfg(work, [dict(IMP, rewind='pt_trans')], load_from=str(pretrained))
    build_runner(cfg).train()
    config = write_config(tmp_path / 'imp.py', cfg)
    row = rows(work)[1]
    metrics = _test_py(config, work / row['best_checkpoint'], tmp_path / 'test')
    assert metrics['accuracy/top1'] == pytest.approx(row['test_metric'])
    metrics = _test_py(config, work / 'epoch_6.pth', tmp_path / 'test')  # the last, round 2
    assert 0 <= metrics['accuracy/top1'] <= 100


def test_test_py_refuses_a_checkpoint_of_another_ticket(tmp_path, pretrained):
    model = build_runner(tiny_cfg(tmp_path / 'probe', [])).model
    ticket = Ticket.dense(model).prune(model, 0.7)
    ticket.save(tmp_path / 'ticket.safetensors')
    hook = dict(type='TicketHook', ticket=str(tmp_path / 'ticket.safetensors'),
                metric='accuracy/top1')
    cfg = tiny_cfg(tmp_path / 'transfer', [hook], load_from=str(pretrained))
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1, save_last=False,
                                        save_best='accuracy/top1', rule='greater')
    build_runner(cfg).train()  # a transfer: from the dense pre-trained weights
    record = rows(tmp_path / 'transfer', 'ticket')[0]
    assert record['source_digest'] == record['ticket_digest'] == ticket.digest()
    assert Ticket.load(tmp_path / 'transfer' / record['trained_ticket']) == ticket
    best = next((tmp_path / 'transfer').glob('best_accuracy_top1_epoch_*.pth'))
    config = write_config(tmp_path / 'transfer.py', cfg)
    metrics = _test_py(config, best, tmp_path / 'test')
    assert metrics['accuracy/top1'] == pytest.approx(rows(tmp_path / 'transfer',
                                                          'ticket')[0]['test_metric'])
    # The dense weights, trained without this ticket: evaluating them would prune them.
    with pytest.raises(ValueError, match='records no ticket .* would prune it'):
        _test_py(config, pretrained, tmp_path / 'test')
    ticket.reverse().save(tmp_path / 'reversed.safetensors')
    with pytest.raises(ValueError, match=f'records ticket {ticket.digest()}'):
        _test_py(config, best, tmp_path / 'test',
                 f'custom_hooks.0.ticket={tmp_path / "reversed.safetensors"}')
    metrics = _test_py(config, pretrained, tmp_path / 'test',
                       'custom_hooks.0.allow_other_ticket=True')
    assert 0 <= metrics['accuracy/top1'] <= 100  # asked for: the pruned dense weights


# 4. Re-runs into an occupied work dir, resumes with other arguments, mixed replay folders ------
def test_a_new_search_refuses_the_work_dir_of_an_earlier_one(tmp_path):
    work = tmp_path / 'work'
    build_runner(tiny_cfg(work, [dict(IMP)])).train()
    before = {p: p.read_bytes() for p in (work / 'imp').rglob('*') if p.is_file()}
    with pytest.raises(FileExistsError, match='holds an earlier search') as err:
        build_runner(tiny_cfg(work, [dict(IMP, rounds=1)])).train()
    assert '--resume' in str(err.value) and 'overwrite=True' in str(err.value)
    assert {p: p.read_bytes() for p in (work / 'imp').rglob('*') if p.is_file()} == before
    build_runner(tiny_cfg(work, [dict(IMP, rounds=1, overwrite=True)])).train()
    assert len(digests(work)) == 2  # round_02 of the old search is gone with it
    assert sorted(p.name for p in work.glob('epoch_*.pth')) == ['epoch_3.pth', 'epoch_4.pth']


def test_resume_with_other_arguments_is_refused(tmp_path):
    work = tmp_path / 'work'
    with pytest.raises(RuntimeError, match='simulated'):
        build_runner(tiny_cfg(work, [dict(IMP), dict(type='CrashAtEpoch', epoch=3)])).train()
    with pytest.raises(ValueError, match=r"rounds=2 \(now 3\).*round_length='2 epochs' "
                                         r"\(now '3 epochs'\)"):
        build_runner(tiny_cfg(work, [dict(IMP, rounds=3)], epochs=3, resume=True)).train()
    build_runner(tiny_cfg(work, [dict(IMP)], resume=True)).train()  # the same search resumes
    assert len(digests(work)) == 3


def search_tickets(folder: Path, **overrides) -> Path:
    """The ``imp/tickets`` a search of IMP (2 rounds of 50 %) on the tiny config would write:
    round_00 .. round_02 of magnitude pruning, made here without the training."""
    model = build_runner(tiny_cfg(folder / 'probe', [], **overrides)).model
    ticket = Ticket.dense(model)
    folder.mkdir(parents=True, exist_ok=True)
    for rnd in range(IMP['rounds'] + 1):
        ticket.save(folder / f'round_{rnd:02d}.safetensors')
        ticket = ticket.prune(model, IMP['rate'])
    return folder


def test_replay_checks_every_ticket_before_round_0(tmp_path):
    tickets = search_tickets(tmp_path / 'tickets')
    assert Ticket.load(tickets / 'round_02.safetensors').card['round'] == 2
    replay = dict(IMP, rewind='reinit', masks_from=str(tickets))
    with pytest.raises(ValueError, match=r'round_01.safetensors is 50.00 % sparse, the search '
                                         r'expects 20.00 %'):
        build_runner(tiny_cfg(tmp_path / 'a', [dict(replay, rate=0.2)])).train()
    assert not list((tmp_path / 'a').glob('epoch_*.pth'))
    wide = search_tickets(tmp_path / 'wide', **{'model.backbone.base_channels': 16,
                                                'model.head.in_channels': 128})
    with pytest.raises(ValueError, match='does not fit the model: .*has other shapes'):
        build_runner(tiny_cfg(tmp_path / 'b', [dict(replay, masks_from=str(wide))])).train()
    assert not list((tmp_path / 'b').glob('epoch_*.pth'))


# 5. Original-code files are read without running their code ----------------------------------
class Marker:
    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, 'w'))


def test_ticket_hook_refuses_a_mask_file_that_runs_code(tmp_path, pretrained, monkeypatch):
    monkeypatch.delenv('LTH_MM_ALLOW_PICKLE', raising=False)  # the run's opt-in counts too
    model = build_runner(tiny_cfg(tmp_path / 'probe', [])).model
    ticket = Ticket.dense(model).prune(model, 0.5).strip_prefix('backbone.')
    hostile = tmp_path / 'mask.pth.tar'
    torch.save({'state_dict': ticket.to_torch_prune(prefix='module.'),
                'args': Marker(tmp_path / 'marker')}, hostile)
    hook = dict(type='TicketHook', ticket=str(hostile))
    with pytest.raises(UnsafeFileError, match='allow_pickle=True'):
        build_runner(tiny_cfg(tmp_path / 'work', [hook], load_from=str(pretrained))).train()
    assert not (tmp_path / 'marker').exists() and not list((tmp_path / 'work').glob('*.pth'))
    build_runner(tiny_cfg(tmp_path / 'trusted', [dict(hook, allow_pickle=True)],
                          load_from=str(pretrained))).train()
    assert (tmp_path / 'marker').exists()


# 6. Errors that came late ----------------------------------------------------------------------
@pytest.mark.parametrize('hook', [dict(IMP, metric='accuracy/top5'),
                                  dict(type='TicketHook', ticket='T', metric='acc/top1')])
def test_an_unknown_metric_fails_before_training(tmp_path, hook):
    if hook['type'] == 'TicketHook':
        model = build_runner(tiny_cfg(tmp_path / 'probe', [])).model
        Ticket.dense(model).save(tmp_path / 'T')
        hook = dict(hook, ticket=str(tmp_path / 'T'))
    with pytest.raises(KeyError, match=rf"metric '{hook['metric']}' is not among the validation "
                                       r"metrics \['accuracy/top1'\]"):
        build_runner(tiny_cfg(tmp_path / 'work', [hook])).train()
    assert not list((tmp_path / 'work').glob('*.pth'))


def test_a_truncated_last_checkpoint_names_the_others(tmp_path):
    work = tmp_path / 'work'
    build_runner(tiny_cfg(work, [dict(IMP, rounds=1)], **RESUMABLE)).train()
    last = work / 'epoch_4.pth'
    last.write_bytes(last.read_bytes()[:4096])
    with pytest.raises(ValueError, match=r'epoch_4.pth is not a readable PyTorch file: '
                                         r'truncated, corrupt.*--resume PATH: .*epoch_3.pth'):
        build_runner(tiny_cfg(work, [dict(IMP, rounds=1)], resume=True)).train()


def test_namespace_is_plain_data_for_checkpoints_of_the_original_code(tmp_path):
    """The original code saves argparse.Namespace objects beside its masks."""
    model = build_runner(tiny_cfg(tmp_path / 'probe', [])).model
    ticket = Ticket.dense(model).prune(model, 0.5)
    path = tmp_path / 'orig.pth.tar'
    torch.save({'state_dict': ticket.to_torch_prune(), 'args': argparse.Namespace(seed=0)}, path)
    assert Ticket.read(path) == ticket


def test_test_after_train_on_the_same_runner(tmp_path):
    """runner.test() after runner.train(): the search is over, not a new one in its work dir."""
    runner = build_runner(tiny_cfg(tmp_path / 'work', [dict(IMP, rounds=1)]))
    runner.train()
    metrics = runner.test()
    assert 0 <= metrics['accuracy/top1'] <= 100
