"""IMPHook: rounds, records, rewind types, baselines and config errors on real tiny runs."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import load_checkpoint

from lth_mm.core import Ticket
from lth_mm.core.rewind import load_state

from .conftest import assert_masked, build_runner, imp_hook, tiny_cfg


@HOOKS.register_module(force=True)
class RoundStartRecorder(Hook):
    """Test probe: what the model and optimizer look like when each epoch starts."""

    priority = 'LOWEST'
    records: List[Dict[str, Any]] = []

    def before_train_epoch(self, runner) -> None:
        model = runner.model
        RoundStartRecorder.records.append(dict(
            epoch=runner.epoch, lr=runner.optim_wrapper.get_lr()['lr'][0],
            optimizer_state=len(runner.optim_wrapper.optimizer.state),
            state={k: v.detach().clone() for k, v in model.state_dict().items()}))


@pytest.fixture
def recorder():
    RoundStartRecorder.records = []
    yield RoundStartRecorder.records


def run_imp(work_dir: Path, epochs: int = 2, **hook: Any):
    cfg = tiny_cfg(work_dir, [dict(type='IMPHook', metric='accuracy/top1', **hook),
                              dict(type='RoundStartRecorder')], epochs=epochs)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    runner = build_runner(cfg)
    runner.train()
    return runner


def tickets(work_dir: Path, rounds: int) -> List[Ticket]:
    return [Ticket.load(work_dir / 'imp' / 'tickets' / f'round_{r:02d}.safetensors')
            for r in range(rounds + 1)]


def test_rounds_records_and_resets(work_dir, recorder):
    runner = run_imp(work_dir, rounds=2, rate=0.5, rewind='lt')
    found = tickets(work_dir, 2)
    assert [round(t.sparsity, 3) for t in found] == [0.0, 0.5, 0.75]
    for before, after in zip(found, found[1:]):  # pruned weights never come back
        assert all(bool((after[k] <= before[k]).all()) for k in before)
    assert_masked(runner.model, found[-1])
    assert runner.epoch == 6

    rows = json.loads((work_dir / 'imp' / 'summary.json').read_text())
    assert [r['round'] for r in rows] == [0, 1, 2]
    assert [r['ticket_digest'] for r in rows] == [t.digest() for t in found]
    for row in rows:
        assert row['metric'] == 'accuracy/top1'
        assert 0 <= row['best_val_metric'] <= 100 and 0 <= row['test_metric'] <= 100
        assert row['best_epoch'] in (2 * row['round'] + 1, 2 * row['round'] + 2)
        best = load_checkpoint(runner.model, str(work_dir / row['best_checkpoint']))
        assert best['meta']['round'] == row['round']
        assert len(row['layers']) == len(found[0])
    csv_lines = (work_dir / 'imp' / 'summary.csv').read_text().splitlines()
    assert csv_lines[0].startswith('round,sparsity') and len(csv_lines) == 4
    assert (work_dir / 'imp' / 'sparsity_curve.png').stat().st_size > 1000

    # Each round restarts the schedule (lr 0.1, x0.1 in its last epoch) with a fresh optimizer.
    starts = {r['epoch']: r for r in recorder}
    assert [round(starts[e]['lr'], 6) for e in range(6)] == [0.1, 0.01] * 3
    assert starts[2]['optimizer_state'] == 0 and starts[4]['optimizer_state'] == 0


@pytest.mark.parametrize('early_bird', [None, dict(interval=1, threshold=0.99, window=1)])
def test_every_round_anneals_over_its_own_length(work_dir, recorder, early_bird):
    """A scheduler without ``end`` runs to the end of training, which MMEngine reads from the
    loop; the search stretches the loop over all rounds, and each round must still anneal over
    one round (round 0's cosine), with early-bird cuts or without."""
    cfg = tiny_cfg(work_dir, [dict(type='IMPHook', metric='accuracy/top1', rounds=2, rate=0.5,
                                   **({'early_bird': early_bird} if early_bird else {})),
                              dict(type='RoundStartRecorder')], epochs=4)
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, eta_min=0.0)]
    build_runner(cfg).train()
    rows = json.loads((work_dir / 'imp' / 'summary.json').read_text())
    lrs = [round(r['lr'], 5) for r in recorder]
    cosine = [0.1, 0.08536, 0.05, 0.01464]
    start = 0
    for row in rows:  # each round from its start, as long as it trained
        trained = row.get('trained', 4)
        assert lrs[start:start + trained] == cosine[:trained], (row['round'], lrs)
        start += trained
    assert start == len(lrs)


def test_rewind_lt_restores_initialisation(work_dir, recorder):
    run_imp(work_dir, rounds=1, rate=0.5, rewind='lt')
    init = load_state(work_dir / 'imp' / 'rewind.safetensors')
    ticket = tickets(work_dir, 1)[1]
    start_round_1 = next(r for r in recorder if r['epoch'] == 2)['state']
    for name, value in init.items():
        expected = value * ticket[name] if name in ticket else value
        torch.testing.assert_close(start_round_1[name], expected, rtol=0, atol=0)
    torch.testing.assert_close(recorder[0]['state']['backbone.conv1.weight'],
                               init['backbone.conv1.weight'], rtol=0, atol=0)


def test_rewind_lt_at_epoch(work_dir, recorder):
    run_imp(work_dir, rounds=1, rate=0.5, rewind='rewind_lt', rewind_at=1)
    point = load_state(work_dir / 'imp' / 'rewind.safetensors')
    at_epoch_1 = next(r for r in recorder if r['epoch'] == 1)['state']
    assert all(torch.equal(point[k], at_epoch_1[k]) for k in point)
    initial = recorder[0]['state']['backbone.conv1.weight']
    assert not torch.equal(point['backbone.conv1.weight'], initial)


def test_rewind_pt_uses_best_dense_weights(work_dir, recorder):
    run_imp(work_dir, rounds=1, rate=0.5, rewind='pt')
    point = load_state(work_dir / 'imp' / 'rewind.safetensors')
    best = torch.load(work_dir / 'imp' / 'round_00_best.pth', weights_only=True)['state_dict']
    assert all(torch.equal(point[k], best[k]) for k in point)


def test_rewind_lr_keeps_trained_weights(work_dir, recorder):
    run_imp(work_dir, rounds=1, rate=0.5, rewind='lr')
    assert not (work_dir / 'imp' / 'rewind.safetensors').exists()
    ckpt = torch.load(work_dir / 'epoch_2.pth', map_location='cpu', weights_only=False)
    start_round_1 = next(r for r in recorder if r['epoch'] == 2)['state']
    ticket = tickets(work_dir, 1)[1]
    for name, value in ckpt['state_dict'].items():
        expected = value * ticket[name] if name in ticket else value
        assert torch.equal(start_round_1[name], expected), name


def test_rewind_pt_trans_and_lt_conflict(work_dir, tmp_path, recorder):
    pretrained = tmp_path / 'pretrained.pth'
    donor = build_runner(tiny_cfg(tmp_path / 'donor', []))
    torch.save({'state_dict': {k: v + 0.01 if v.is_floating_point() else v
                               for k, v in donor.model.state_dict().items()}},
               pretrained)
    cfg = tiny_cfg(work_dir, [dict(type='IMPHook', rounds=1, rate=0.5, rewind='pt_trans')],
                   load_from=str(pretrained))
    build_runner(cfg).train()
    point = load_state(work_dir / 'imp' / 'rewind.safetensors')
    loaded = torch.load(pretrained, weights_only=True)['state_dict']
    assert all(torch.equal(point[k], loaded[k]) for k in point)

    cfg = tiny_cfg(tmp_path / 'lt', [dict(type='IMPHook', rounds=1, rewind='lt')],
                   load_from=str(pretrained))
    with pytest.raises(ValueError, match="rewind='pt_trans'"):
        build_runner(cfg).train()
    cfg = tiny_cfg(tmp_path / 'pt_trans', [dict(type='IMPHook', rounds=1, rewind='pt_trans')])
    with pytest.raises(ValueError, match='neither load_from nor a Pretrained'):
        build_runner(cfg).train()


def test_reinit_and_replay_baseline(work_dir, tmp_path, recorder):
    run_imp(work_dir, rounds=2, rate=0.5, rewind='lt')
    source = tickets(work_dir, 2)
    replay_dir = tmp_path / 'replay'
    recorder.clear()
    run_imp(replay_dir, rounds=2, rate=0.5, rewind='reinit',
            masks_from=str(work_dir / 'imp' / 'tickets'))
    assert [t.digest() for t in tickets(replay_dir, 2)] == [t.digest() for t in source]
    starts = {r['epoch']: r['state'] for r in recorder}
    key = 'backbone.layer1.0.conv1.weight'
    first, second = starts[2][key], starts[4][key]
    assert not torch.equal(first * source[2][key], second)  # a fresh initialisation each round
    assert not torch.equal(starts[2]['backbone.conv1.weight'], starts[0]['backbone.conv1.weight'])


def test_random_and_oneshot_baselines(work_dir, tmp_path):
    run_imp(work_dir, rounds=2, rate=0.5, rewind='lt')
    imp = tickets(work_dir, 2)
    run_imp(tmp_path / 'random', rounds=2, rate=0.5, rewind='lt', criterion='random')
    random = tickets(tmp_path / 'random', 2)
    assert [t.kept for t in random] == [t.kept for t in imp]
    assert random[2].overlap(imp[2]).overall < 0.5

    run_imp(tmp_path / 'omp', rounds=2, rate=0.5, rewind='lt', oneshot=True)
    omp = tickets(tmp_path / 'omp', 2)
    assert [t.kept for t in omp] == [t.kept for t in imp]
    # Round 1 of OMP and IMP prune the same dense weights (same seed): the same mask.
    assert omp[1] == imp[1]
    ckpt = torch.load(tmp_path / 'omp' / 'epoch_2.pth', map_location='cpu', weights_only=False)
    model = build_runner(tiny_cfg(tmp_path / 'probe', [])).model
    model.load_state_dict(ckpt['state_dict'])
    assert omp[2] == Ticket.dense(model).prune_to(model, 0.75)


@pytest.mark.parametrize('hook, message', [
    (dict(rounds=0), 'rounds must be an integer >= 1'),
    (dict(rounds=2, rate=1.5), r'rate must be in \(0, 1\)'),
    (dict(rounds=2, rate=0), r'rate must be in \(0, 1\)'),
    (dict(rounds=2, rewind='best'), 'rewind must be one of'),
    (dict(rounds=2, criterion='taylor'), 'criterion must be one of'),
    (dict(rounds=2, scope=dict(prefx='backbone.')), 'unknown fields'),
])
def test_config_errors_when_runner_is_built(work_dir, hook, message):
    with pytest.raises(ValueError, match=message):
        build_runner(tiny_cfg(work_dir, [dict(type='IMPHook', **hook)]))


def test_empty_scope_fails_before_training(work_dir):
    runner = build_runner(tiny_cfg(work_dir, [
        dict(type='IMPHook', rounds=1, scope=dict(prefix='neck.'))]))
    with pytest.raises(ValueError, match='selects no parameter'):
        runner.train()
    assert not list(work_dir.glob('epoch_*.pth'))


def test_test_mode_does_not_stretch(work_dir):
    runner = run_imp(work_dir, rounds=1, rate=0.5)
    assert imp_hook(runner).length == 2


def test_iteration_based_rounds(work_dir, recorder):
    """MMDet / MMSeg style: IterBasedTrainLoop, schedules and rewind_at in iterations."""
    cfg = tiny_cfg(work_dir, [dict(type='IMPHook', rounds=2, rate=0.5, rewind='rewind_lt',
                                   rewind_at=2, metric='accuracy/top1')])
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=6, val_interval=3)
    cfg.param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[4], gamma=0.1)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=3, by_epoch=False)
    cfg.log_processor = dict(by_epoch=False)
    runner = build_runner(cfg)
    runner.train()
    assert runner.iter == 18
    found = tickets(work_dir, 2)
    assert [round(t.sparsity, 3) for t in found] == [0.0, 0.5, 0.75]
    rows = json.loads((work_dir / 'imp' / 'summary.json').read_text())
    assert [r['best_iter'] in (3 + 6 * r['round'], 6 + 6 * r['round']) for r in rows] == [True] * 3
    assert_masked(runner.model, found[-1])
    assert (work_dir / 'imp' / 'rewind.safetensors').exists()


def test_pruning_the_starting_weights_before_training(work_dir, tmp_path):
    """The original ImageNet / SimCLR / MoCo IMP: the first mask prunes the pre-trained weights."""
    pretrained = tmp_path / 'pretrained.pth'
    donor = build_runner(tiny_cfg(tmp_path / 'donor', []))
    torch.save({'state_dict': donor.model.state_dict()}, pretrained)
    cfg = tiny_cfg(work_dir, [dict(type='IMPHook', rounds=2, rate=0.5, rewind='pt_trans',
                                   train_dense_round=False)], load_from=str(pretrained))
    runner = build_runner(cfg)
    runner.train()
    assert runner.epoch == 4  # two trained rounds of 2 epochs, both sparse
    found = tickets(work_dir, 2)
    assert [round(t.sparsity, 3) for t in found] == [0.0, 0.5, 0.75]
    donor.model.load_state_dict(torch.load(pretrained, weights_only=True)['state_dict'])
    assert found[1] == Ticket.dense(donor.model).prune(donor.model, 0.5)
    rows = json.loads((work_dir / 'imp' / 'summary.json').read_text())
    assert [r['round'] for r in rows] == [1, 2]
    with pytest.raises(ValueError, match='needs the dense round 0'):
        build_runner(tiny_cfg(tmp_path / 'x', [dict(type='IMPHook', rounds=1, rewind='pt',
                                                     train_dense_round=False)]))
