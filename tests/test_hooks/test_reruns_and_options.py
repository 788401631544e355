"""Re-runs and options users get wrong: nothing is deleted or trained before every check has
passed, options given as strings on the command line are refused, resumes that would mix two
searches are refused, and early-bird rounds respect the rewind point."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Dict

import pytest
import torch

from lth_mm.core import Ticket, TicketMismatchError
from lth_mm.core.rewind import load_state, save_state

from .conftest import ROOT, build_runner, imp_hook, tiny_cfg, write_config

IMP = dict(type='IMPHook', rounds=1, rate=0.5, metric='accuracy/top1')
RESUMABLE = {'default_hooks.checkpoint.max_keep_ckpts': -1}


def snapshot(work: Path) -> Dict[str, bytes]:
    return {str(p.relative_to(work)): p.read_bytes() for p in work.rglob('*')
            if p.is_file() and p.suffix in ('.pth', '.safetensors', '.json', '.csv')}


def digests(work: Path):
    return [Ticket.load(p).digest()
            for p in sorted((work / 'imp' / 'tickets').glob('round_*.safetensors'))]


# overwrite=True deletes last ----------------------------------------------------------------------
def test_overwrite_deletes_nothing_when_the_new_run_fails_a_check(tmp_path):
    work = tmp_path / 'work'
    build_runner(tiny_cfg(work, [dict(IMP)])).train()
    before = snapshot(work)
    assert 'imp/summary.json' in before and 'epoch_4.pth' in before
    # A metric the evaluator does not return (checked in before_run) ...
    with pytest.raises(KeyError, match="metric 'accuracy/top5x'"):
        build_runner(tiny_cfg(work, [dict(IMP, overwrite=True, metric='accuracy/top5x')])).train()
    # ... and a load_from that does not exist (mmengine loads it after before_run).
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        build_runner(tiny_cfg(work, [dict(IMP, overwrite=True, rewind='pt_trans')],
                              load_from=str(tmp_path / 'nope.pth'))).train()
    assert snapshot(work) == before


def test_overwrite_may_start_from_the_earlier_searchs_own_weights(tmp_path):
    """load_from inside the work dir is read before the earlier search is deleted."""
    work = tmp_path / 'work'
    build_runner(tiny_cfg(work, [dict(IMP)])).train()
    best = work / 'imp' / 'round_00_best.pth'
    build_runner(tiny_cfg(work, [dict(IMP, overwrite=True, rewind='pt_trans')],
                          load_from=str(best))).train()
    assert len(digests(work)) == 2
    rows = json.loads((work / 'imp' / 'summary.json').read_text())
    assert [row['round'] for row in rows] == [0, 1]  # the new search, whole


def test_replaying_the_work_dirs_own_tickets_is_refused(tmp_path):
    work = tmp_path / 'work'
    build_runner(tiny_cfg(work, [dict(IMP)])).train()
    before = snapshot(work)
    replay = dict(IMP, rewind='reinit', overwrite=True, masks_from=str(work / 'imp' / 'tickets'))
    with pytest.raises(ValueError, match="lies inside this search's own folder"):
        build_runner(tiny_cfg(work, [replay])).train()
    assert snapshot(work) == before


# Options as the command line gives them -----------------------------------------------------------
@pytest.mark.parametrize('hook, message', [
    (dict(IMP, overwrite='no'), 'IMPHook: overwrite must be True or False'),
    (dict(IMP, oneshot='false'), 'IMPHook: oneshot must be True or False'),
    (dict(IMP, mask_grads='false'), 'IMPHook: mask_grads must be True or False, or None'),
    (dict(IMP, seed='7'), 'IMPHook: seed must be an integer'),
    (dict(IMP, rewind='rewind_lt', rewind_at=True), 'IMPHook: rewind_at must be an integer'),
    (dict(type='TicketHook', ticket='T', reverse='false'), 'TicketHook: reverse must be True'),
    (dict(type='TicketHook', ticket='T', prefix=5), 'TicketHook: prefix must be a string'),
])
def test_string_and_number_options_are_refused_when_the_runner_is_built(tmp_path, hook,
                                                                        message):
    with pytest.raises(TypeError, match=message):
        build_runner(tiny_cfg(tmp_path / 'work', [hook]))


def test_one_prefix_stays_one_prefix_and_a_prefix_matching_nothing_fails(tmp_path):
    runner = build_runner(tiny_cfg(tmp_path / 'a', [dict(IMP, keep_prefixes='head.')]))
    assert imp_hook(runner).keep_prefixes == ('head.',)
    runner = build_runner(tiny_cfg(tmp_path / 'b', [dict(IMP, keep_prefixes=['heads.fc'])]))
    with pytest.raises(ValueError, match=r"keep_prefixes: \['heads.fc'\] start no state-dict key"):
        runner.train()
    runner = build_runner(tiny_cfg(tmp_path / 'c', [dict(IMP, reinit_prefixes=['necks.'])]))
    with pytest.raises(ValueError, match=r"reinit_prefixes: \['necks.'\] start no module"):
        runner.train()
    assert not list(tmp_path.rglob('*.safetensors'))


def test_a_schedule_that_prunes_everything_fails_before_training(tmp_path):
    runner = build_runner(tiny_cfg(tmp_path / 'work', [dict(IMP, rounds=3, rate=0.99)]))
    with pytest.raises(ValueError, match=r'rate 0.99 over 3 rounds prunes all \d+ weights'):
        runner.train()
    assert not list((tmp_path / 'work').rglob('*.safetensors'))


# TicketHook ---------------------------------------------------------------------------------------
def _model(tmp_path: Path):
    return build_runner(tiny_cfg(tmp_path / 'probe', [])).model


def test_an_empty_ticket_is_refused(tmp_path):
    Ticket({}).save(tmp_path / 'empty.safetensors')
    hook = dict(type='TicketHook', ticket=str(tmp_path / 'empty.safetensors'))
    with pytest.raises(TicketMismatchError, match='holds no masks: training under it would be '
                                                  'a dense run'):
        build_runner(tiny_cfg(tmp_path / 'work', [hook])).train()


def test_keys_that_do_not_map_point_to_key_map(tmp_path):
    model = _model(tmp_path)
    ticket = Ticket.dense(model).rename(lambda k: k.replace('backbone.', 'trunk.stage.'))
    ticket.save(tmp_path / 'odd.safetensors')
    hook = dict(type='TicketHook', ticket=str(tmp_path / 'odd.safetensors'))
    with pytest.raises(ValueError, match=r'TicketHook: the keys of .*odd.safetensors do not map '
                                         r'onto ImageClassifier .*Set key_map='):
        build_runner(tiny_cfg(tmp_path / 'work', [hook])).train()


def test_strict_covers_tickets_that_do_not_know_their_scope(tmp_path):
    """A key-mapped ticket (torchvision names) or an original mask file has no scope: strict
    falls back to the conv weights under the keys' shared first part."""
    model = _model(tmp_path)
    full = Ticket.dense(model).prune(model, 0.5)
    part = Ticket({k: m for k, m in list(full.items())[:5]})  # no scope
    original = tmp_path / 'mask.pth.tar'
    torch.save({'state_dict': part.to_torch_prune(prefix='module.')}, original)
    part.strip_prefix('backbone.').save(tmp_path / 'tv.safetensors')
    for path in (original, tmp_path / 'tv.safetensors'):
        hook = dict(type='TicketHook', ticket=str(path), strict=True)
        with pytest.raises(TicketMismatchError, match=r"leaves \d+ of the \d+ conv weights under "
                                                      r"'backbone.' without a mask"):
            build_runner(tiny_cfg(tmp_path / path.stem, [hook])).train()
    whole = Ticket(dict(full.items()))  # the whole backbone, no scope: fits
    whole.strip_prefix('backbone.').save(tmp_path / 'whole.safetensors')
    hook = dict(type='TicketHook', ticket=str(tmp_path / 'whole.safetensors'), strict=True)
    runner = build_runner(tiny_cfg(tmp_path / 'ok', [hook], epochs=1))
    runner.test()


def test_a_transfer_of_another_ticket_refuses_the_work_dir(tmp_path):
    model = _model(tmp_path)
    first, second = (Ticket.dense(model).prune(model, 0.5, criterion='random',
                                               generator=torch.Generator().manual_seed(seed))
                     for seed in (1, 2))
    for name, ticket in (('a', first), ('b', second)):
        ticket.save(tmp_path / f'{name}.safetensors')
    work = tmp_path / 'work'

    def transfer(name: str, **hook):
        build_runner(tiny_cfg(work, [dict(type='TicketHook', ticket=str(tmp_path / name),
                                          **hook)], epochs=1)).train()

    transfer('a.safetensors')
    before = snapshot(work)
    with pytest.raises(FileExistsError, match='holds a transfer of another ticket .*'
                                              'overwrite=True'):
        transfer('b.safetensors')
    assert snapshot(work) == before
    transfer('a.safetensors')  # the same transfer again: fine
    transfer('b.safetensors', overwrite=True)
    assert Ticket.load(work / 'ticket' / 'ticket.safetensors') == second
    assert sorted(p.name for p in work.glob('epoch_*.pth')) == ['epoch_1.pth']


# Resumes that would mix two searches --------------------------------------------------------------
def test_resume_refuses_replay_tickets_that_changed_and_another_seed(tmp_path):
    model = _model(tmp_path)
    source = tmp_path / 'source'
    source.mkdir()
    ticket = Ticket.dense(model)
    for rnd in range(2):
        ticket.save(source / f'round_{rnd:02d}.safetensors')
        ticket = ticket.prune(model, 0.5)
    replay = dict(IMP, rewind='reinit', masks_from=str(source), seed=1)
    work = tmp_path / 'work'
    with pytest.raises(RuntimeError, match='simulated'):
        build_runner(tiny_cfg(work, [replay, dict(type='CrashAtEpoch', epoch=3)],
                              **RESUMABLE)).train()
    # Another seed: refused, naming it.
    with pytest.raises(ValueError, match=r'started with seed=1 \(now 2\)'):
        build_runner(tiny_cfg(work, [dict(replay, seed=2)], resume=True)).train()
    # The source search was re-run: its round_01 is another mask of the same sparsity.
    other = Ticket.dense(model).prune(model, 0.5, criterion='random',
                                      generator=torch.Generator().manual_seed(5))
    other.save(source / 'round_01.safetensors')
    with pytest.raises(ValueError, match=r'tickets in masks_from=.* changed since the search .* '
                                         r'\(round_01 differ\)'):
        build_runner(tiny_cfg(work, [replay], resume=True)).train()


@pytest.mark.parametrize('how', ['python', 'train.py', 'no dense round'])
def test_resume_of_a_search_killed_before_its_first_checkpoint_starts_it_again(tmp_path, how):
    hook = dict(IMP, train_dense_round=False) if how == 'no dense round' else dict(IMP)
    reference = tmp_path / 'reference'
    build_runner(tiny_cfg(reference, [hook])).train()
    work = tmp_path / 'work'
    with pytest.raises(RuntimeError, match='simulated'):
        build_runner(tiny_cfg(work, [hook, dict(type='CrashAtEpoch', epoch=0)])).train()
    assert (work / 'imp' / 'tickets' / 'round_00.safetensors').exists()
    assert not list(work.glob('epoch_*.pth'))
    if how == 'train.py':  # --resume finds no checkpoint and says so to the hooks
        spec = importlib.util.spec_from_file_location('lth_mm_tools_train_restart',
                                                      ROOT / 'tools' / 'train.py')
        train = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(train)
        config = write_config(tmp_path / 'cfg.py', tiny_cfg(work, [hook]))
        train.main([str(config), '--work-dir', str(work), '--resume'])
        # Not in the config mmengine dumps (work_dir/cfg.py): a run from it did not ask.
        assert 'resume_found_nothing' not in (work / 'cfg.py').read_text()
    else:
        build_runner(tiny_cfg(work, [hook], resume=True)).train()
    assert digests(work) == digests(reference)


# Early-bird and the rewind point ------------------------------------------------------------------
def test_early_bird_round_0_runs_at_least_to_its_rewind_point(tmp_path):
    """A mask that settles at once would have ended round 0 before epoch ``rewind_at``, with no
    rewind point to rewind to."""
    hook = dict(IMP, rewind='rewind_lt', rewind_at=3,
                early_bird=dict(interval=1, threshold=0.99, window=1))
    build_runner(tiny_cfg(tmp_path / 'work', [hook], epochs=5)).train()
    assert (tmp_path / 'work' / 'imp' / 'rewind.safetensors').exists()
    assert len(digests(tmp_path / 'work')) == 2
    rows = json.loads((tmp_path / 'work' / 'imp' / 'summary.json').read_text())
    # Checks from the rewind point on: the first has nothing to compare with, the second
    # settles; before the fix round 0 stopped after epoch 2, with no rewind point captured.
    assert rows[0]['trained'] == 4


def test_resume_refuses_a_rewind_point_that_was_replaced(tmp_path):
    work = tmp_path / 'work'
    with pytest.raises(RuntimeError, match='simulated'):
        build_runner(tiny_cfg(work, [dict(IMP), dict(type='CrashAtEpoch', epoch=3)],
                              **RESUMABLE)).train()
    path = work / 'imp' / 'rewind.safetensors'
    state = load_state(path)
    save_state(path, {k: v + 1 if v.is_floating_point() else v for k, v in state.items()})
    with pytest.raises(ValueError, match='rewind.safetensors is not the rewind point the search'):
        build_runner(tiny_cfg(work, [dict(IMP)], resume=True)).train()
    save_state(path, state)  # the search's own file back: the resume goes on
    build_runner(tiny_cfg(work, [dict(IMP)], resume=True)).train()
    assert len(digests(work)) == 2


def test_rewind_at_without_rewind_lt_is_named_in_the_log(tmp_path):
    """rewind_at only means something to rewind='rewind_lt'; elsewhere it was ignored silently."""
    said = {}
    for rewind, rewind_at in (('lt', 1), ('rewind_lt', 1), ('lt', 0)):
        runner = build_runner(tiny_cfg(tmp_path / f'{rewind}_{rewind_at}',
                                       [dict(IMP, rewind=rewind, rewind_at=rewind_at)]))
        assert runner.train_loop is not None  # train() builds it before before_run
        imp_hook(runner).before_run(runner)
        said[rewind, rewind_at] = Path(runner.log_dir, f'{runner.timestamp}.log').read_text()
    assert ("IMPHook: rewind_at=1 is read by rewind='rewind_lt' only; with rewind='lt' it is "
            'ignored') in said['lt', 1]
    assert 'is read by' not in said['rewind_lt', 1] + said['lt', 0]


# Gradient accumulation within a round ---------------------------------------------------------
class _AccumulationProbe:
    """After each iteration: the round, the wrapper's count and its max, and whether the
    parameters still hold gradients (an unfinished chunk)."""

    priority = 'LOWEST'

    def __init__(self):
        self.seen = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        wrapper = runner.optim_wrapper
        left = any(p.grad is not None and bool(p.grad.any()) for p in runner.model.parameters())
        self.seen.append((imp_hook(runner).round, wrapper._inner_count, wrapper._max_counts, left))


@pytest.mark.parametrize('resume', [False, True])
def test_gradient_accumulation_counts_within_each_round(tmp_path, resume):
    """accumulative_counts=3 over rounds of 8 iterations: each round steps after its iterations
    3, 6 and 8, as a run of its own; nothing accumulated in one round reaches the next."""
    from mmengine.hooks import Hook
    probe = type('Probe', (_AccumulationProbe, Hook), {})()
    accumulate = {'optim_wrapper.accumulative_counts': 3, **RESUMABLE}
    cfg = tiny_cfg(tmp_path / 'work', [dict(IMP)], **accumulate)  # 2 epochs of 4 iterations
    if resume:  # killed after round 1's first epoch, resumed from its checkpoint
        cfg.merge_from_dict({'default_hooks.checkpoint.interval': 1})
        build_runner(cfg).train()
        runner = build_runner(cfg)
        runner._resume, runner._load_from = True, str(tmp_path / 'work' / 'epoch_3.pth')
    else:
        runner = build_runner(cfg)
    runner.register_hook(probe)
    runner.train()
    counts = [(rnd, count, most) for rnd, count, most, _ in probe.seen]
    expected = [(rnd, count, 8) for rnd in (0, 1) for count in range(1, 9)]
    assert counts == (expected[-4:] if resume else expected)
    # gradients are held only inside a chunk: never after a round's 3rd, 6th or last iteration
    assert [left for *_, left in probe.seen] == [c % 3 != 0 and c != 8 for _, c, _ in counts]


def test_keep_prefixes_hold_with_a_reinit_rewind(tmp_path):
    """rewind='reinit' draws new weights at every round, except under keep_prefixes."""
    from mmengine.hooks import Hook

    class Probe(Hook):
        priority = 'LOWEST'  # after IMPHook's round boundary

        def before_train_epoch(self, runner):
            if runner.epoch == 2:  # round 1's first epoch
                self.state = {k: v.clone() for k, v in runner.model.state_dict().items()}

    probe = Probe()
    work = tmp_path / 'work'
    runner = build_runner(tiny_cfg(work, [dict(IMP, rewind='reinit', keep_prefixes=['head.'])],
                                   **{'default_hooks.checkpoint.interval': 1, **RESUMABLE}))
    runner.register_hook(probe)
    runner.train()
    trained = torch.load(work / 'epoch_2.pth', weights_only=False)['state_dict']  # our own run
    assert torch.equal(probe.state['head.fc.weight'], trained['head.fc.weight'])
    conv = 'backbone.layer1.0.conv1.weight'
    assert not torch.equal(probe.state[conv], trained[conv] * (probe.state[conv] != 0))


@pytest.mark.parametrize('options, message', [
    ({'train_cfg.max_epochs': 5, 'train_cfg.val_interval': 2},
     'a round is 5 epochs, but validation runs every 2'),
    ({'train_cfg.max_epochs': 4, 'train_cfg.val_interval': 2, 'train_cfg.val_begin': 3},
     'val_begin=3 counts over the whole search'),
    ({'train_cfg.max_epochs': 8, 'train_cfg.val_interval': 2,
      'custom_hooks.0.early_bird': dict(interval=1, window=2)},
     'early_bird interval=1 is no multiple of train_cfg.val_interval=2'),
    ({'train_cfg.max_epochs': 3, 'train_cfg.dynamic_intervals': [(2, 2)]},
     'dynamic_intervals change val_interval at milestones counted over the whole search'),
])
def test_every_round_is_validated_on_the_same_schedule_or_refused(tmp_path, options, message):
    """MMEngine validates at multiples of val_interval over the whole stretched loop: a round
    length that is no multiple of it would validate each round elsewhere, never at its end."""
    cfg = tiny_cfg(tmp_path / 'work', [dict(IMP)], **options)
    runner = build_runner(cfg)
    with pytest.raises(ValueError, match=message):
        runner.train()
    assert runner.iter == 0 and not (tmp_path / 'work' / 'imp' / 'tickets').exists()


def test_ema_weights_are_validated_tested_and_saved_sparse(tmp_path):
    """With EMAHook the averaged weights are the ones validated, tested and saved: their pruned
    weights are exactly zero there, the average restarts at each rewind, and the test at the best
    weights tests the best averaged weights."""
    from mmengine.hooks import Hook

    class Probe(Hook):
        priority = 'LOWEST'  # after EMAHook swapped its average in

        def __init__(self):
            self.val, self.test, self.steps = [], [], []

        def before_train_epoch(self, runner):  # after IMPHook's round boundary
            ema = next(h for h in runner.hooks if type(h).__name__ == 'EMAHook')
            self.steps.append(int(ema.ema_model.steps))

        def before_val_epoch(self, runner):
            self.val.append((imp_hook(runner).ticket, capture(runner)))

        def before_test_epoch(self, runner):
            self.test.append(capture(runner))

    def capture(runner):
        return {k: v.clone() for k, v in runner.model.state_dict().items()}

    def pruned_are_zero(ticket, state):
        return all(not bool(state[k][~m].any()) for k, m in ticket.items())

    probe = Probe()
    work = tmp_path / 'work'
    runner = build_runner(tiny_cfg(work, [dict(IMP), dict(type='EMAHook', momentum=0.5)],
                                   **{'default_hooks.checkpoint.interval': 1, **RESUMABLE}))
    runner.register_hook(probe)
    runner.train()
    assert len(probe.val) == 4 and all(pruned_are_zero(t, s) for t, s in probe.val)
    assert probe.steps == [0, 4, 0, 4]  # 4 updates per epoch; restarted at the rewind
    ticket = probe.val[-1][0]
    assert ticket.sparsity == 0.5
    saved = torch.load(work / 'epoch_4.pth', weights_only=False)  # our own run's checkpoint
    assert pruned_are_zero(ticket, saved['state_dict'])  # the average, as EMAHook saves it
    rows = json.loads((work / 'imp' / 'summary.json').read_text())
    best = torch.load(work / rows[1]['best_checkpoint'], weights_only=True)['state_dict']
    tested = probe.test[-1]  # round 1's test: its best validated (averaged) weights
    assert all(torch.equal(tested[k], best[k]) for k in best)
    assert pruned_are_zero(ticket, best)


@pytest.mark.parametrize('hook, message', [
    (dict(type='EarlyStoppingHook', monitor='accuracy/top1', patience=1),
     'EarlyStoppingHook counts its patience over the whole'),
    (dict(type='mmdet.PipelineSwitchHook', switch_epoch=1, switch_pipeline=[]),
     'PipelineSwitchHook switches the training pipeline at an epoch counted over the whole'),
])
def test_hooks_that_count_over_the_whole_run_are_refused_in_a_search(tmp_path, hook, message):
    """A search stretches the run over all its rounds: such hooks would act in one round."""
    runner = build_runner(tiny_cfg(tmp_path / 'work', [dict(IMP), hook]))
    with pytest.raises(ValueError, match=message):
        runner.train()
    assert runner.iter == 0 and not (tmp_path / 'work' / 'imp').exists()


def test_ema_schedule_and_best_weights_per_round(tmp_path):
    """EMAHook's begin_iter counts from each round's start; listed before IMPHook at its
    priority, the best weights kept are still the averaged ones validated."""
    from mmengine.hooks import Hook

    class Probe(Hook):
        priority = 'LOWEST'

        def __init__(self):
            self.started, self.validated = [], []

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            ema = next(h for h in runner.hooks if type(h).__name__ == 'EMAHook')
            self.started.append(ema._ema_started(runner))

        def before_val_epoch(self, runner):  # after both swapped the average in
            self.validated.append({k: v.clone() for k, v in runner.model.state_dict().items()})

    probe = Probe()
    work = tmp_path / 'work'
    ema = dict(type='EMAHook', momentum=0.5, begin_iter=3, priority='ABOVE_NORMAL')
    runner = build_runner(tiny_cfg(work, [ema, dict(IMP)]))  # EMAHook first at that priority
    runner.register_hook(probe)
    runner.train()
    assert probe.started == ([False] * 2 + [True] * 6) * 2  # rounds of 8 iterations
    rows = json.loads((work / 'imp' / 'summary.json').read_text())
    for row in rows:
        best = torch.load(work / row['best_checkpoint'], weights_only=True)['state_dict']
        validated = probe.validated[row['best_epoch'] - 1]  # one validation per epoch
        assert all(torch.equal(best[k], validated[k]) for k in best), row['round']


def test_ema_weights_of_a_checkpoint_are_tested_sparse(tmp_path):
    """tools/test.py with EMAHook tests the checkpoint's weights as EMAHook loads them into its
    average: a checkpoint whose averaged weights were saved unmasked (by lth_mm before EMAHook
    support) is tested with its pruned weights zeroed."""
    from mmengine.hooks import Hook
    model = build_runner(tiny_cfg(tmp_path / 'donor', [])).model
    ticket = Ticket.dense(model).prune(model, 0.5)
    ticket.save(tmp_path / 'ticket.safetensors')
    torch.save({'state_dict': model.state_dict(), 'lth_mm_ticket': ticket.pack()},
               tmp_path / 'unmasked.pth')  # not masked: what old EMA checkpoints hold
    tested = []

    class Probe(Hook):
        priority = 'LOWEST'  # after EMAHook swapped its average in

        def before_test_epoch(self, runner):
            tested.append({k: v.clone() for k, v in runner.model.state_dict().items()})

    runner = build_runner(tiny_cfg(tmp_path / 'test', [
        dict(type='TicketHook', ticket=str(tmp_path / 'ticket.safetensors')),
        dict(type='EMAHook')], load_from=str(tmp_path / 'unmasked.pth')))
    runner.register_hook(Probe())
    runner.test()
    assert all(not bool(tested[0][k][~m].any()) for k, m in ticket.items())
