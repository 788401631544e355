"""IMPHook's early-bird rounds: checks on the real masks, the stop, resume, and the option off."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from lth_mm.core import Ticket, weights_hash

from .conftest import build_runner, imp_hook, tiny_cfg

IMP = dict(type='IMPHook', rounds=2, rate=0.5, metric='accuracy/top1')
EPOCHS = 4  # per full round


@HOOKS.register_module(force=True)
class CandidateProbe(Hook):
    """Test probe: spies on IMPHook's early-bird checks. Each candidate must be the mask pruning
    the current weights gives; each distance that of the two real masks."""

    priority = 'LOWEST'
    checks: list = []

    def before_train(self, runner) -> None:
        hook = imp_hook(runner)
        observe = hook._bird.observe

        def spy(candidate):
            assert candidate == hook.ticket.prune(runner.model, hook.rate)
            previous = [c for c, rnd, _ in CandidateProbe.checks if rnd == hook.round]
            distance = observe(candidate)
            expected = candidate.distance(previous[-1]) if previous else None
            assert distance == pytest.approx(expected) if previous else distance is None
            CandidateProbe.checks.append((candidate, hook.round, distance))
            return distance

        hook._bird.observe = spy


def run(work_dir: Path, *extra: dict, resume: bool = False, **hook):
    cfg = tiny_cfg(work_dir, [dict(IMP, **hook), *extra], epochs=EPOCHS, resume=resume,
                   **{'default_hooks.checkpoint.max_keep_ckpts': -1})
    runner = build_runner(cfg)
    runner.train()
    return runner, json.loads((work_dir / 'imp' / 'summary.json').read_text())


def digests(work_dir: Path) -> list:
    return [Ticket.load(p).digest()
            for p in sorted((work_dir / 'imp' / 'tickets').glob('round_*.safetensors'))]


def test_rounds_stop_at_the_first_settled_window(tmp_path):
    CandidateProbe.checks = []
    runner, rows = run(tmp_path / 'eb', dict(type='CandidateProbe'),
                       early_bird=dict(interval=1, threshold=0.99, window=1))
    # A check after each epoch; the first has nothing to compare with, the second settles.
    assert [r['trained'] for r in rows] == [2, 2, EPOCHS]
    assert [r['comparable'] for r in rows] == [False, False, True]
    assert [len(r['early_bird_distances']) for r in rows] == [1, 1, 0]
    assert runner.epoch == 2 + 2 + EPOCHS
    assert [(rnd, d is None) for _, rnd, d in CandidateProbe.checks] == [
        (0, True), (0, False), (1, True), (1, False)]
    assert [d for _, _, d in CandidateProbe.checks if d is not None] == pytest.approx(
        [r['early_bird_distances'][0] for r in rows[:2]])
    assert [round(Ticket.load(tmp_path / 'eb' / r['ticket']).sparsity, 3) for r in rows] == [
        0.0, 0.5, 0.75]
    table = (tmp_path / 'eb' / 'imp' / 'summary.csv').read_text()
    assert 'trained,comparable' in table


@pytest.mark.parametrize('rewind, trained, comparable', [
    # round 0's best weights are every round's start: it trains in full
    ('pt', [EPOCHS, 2, EPOCHS], [True, False, True]),
    # each round starts from the last one's weights: after a cut, none is a full IMP round
    ('lr', [2, 2, EPOCHS], [False, False, False]),
])
def test_rewinds_that_build_on_cut_rounds(tmp_path, rewind, trained, comparable):
    _, rows = run(tmp_path / rewind, rewind=rewind,
                  early_bird=dict(interval=1, threshold=0.99, window=1))
    assert [r['trained'] for r in rows] == trained
    assert [r['comparable'] for r in rows] == comparable


def test_a_threshold_never_reached_changes_nothing(tmp_path):
    plain, plain_rows = run(tmp_path / 'plain')
    checked, checked_rows = run(tmp_path / 'checked',
                                early_bird=dict(interval=1, threshold=1e-12, window=1))
    assert digests(tmp_path / 'plain') == digests(tmp_path / 'checked')
    for key in ('best_val_metric', 'best_epoch', 'test_metric', 'trained', 'comparable'):
        assert [r[key] for r in plain_rows] == [r[key] for r in checked_rows], key
    assert all(len(r['early_bird_distances']) == EPOCHS - 2 for r in checked_rows[:-1])
    assert (weights_hash(dict(plain.model.named_parameters()))
            == weights_hash(dict(checked.model.named_parameters())))


def test_resume_in_the_middle_of_an_early_bird_round(tmp_path):
    bird = dict(interval=1, threshold=0.99, window=2)  # settles at the third check of a round
    _, expected = run(tmp_path / 'reference', early_bird=bird)
    assert [r['trained'] for r in expected] == [3, 3, EPOCHS]
    work = tmp_path / 'resumed'
    with pytest.raises(RuntimeError, match='simulated'):  # round 1 runs epochs 3-5
        run(work, dict(type='CrashAtEpoch', epoch=5), early_bird=bird)
    _, resumed = run(work, early_bird=bird, resume=True)
    assert digests(work) == digests(tmp_path / 'reference')
    for key in ('trained', 'best_epoch', 'best_val_metric', 'early_bird_distances'):
        assert [r.get(key) for r in resumed] == [r.get(key) for r in expected], key


@pytest.mark.parametrize('hook, message', [
    (dict(criterion='random'), "needs criterion='magnitude'"),
    (dict(oneshot=True), "needs criterion='magnitude'"),
    (dict(early_bird=dict(patience=3)), 'early_bird must be a dict of'),
    (dict(early_bird=dict(interval=0)), 'interval must be an integer >= 1'),
    (dict(early_bird=dict(threshold=2)), 'threshold must be in'),
])
def test_early_bird_arguments(tmp_path, hook, message):
    hook = dict(dict(early_bird=dict()), **hook)
    with pytest.raises(ValueError, match=message):
        build_runner(tiny_cfg(tmp_path, [dict(IMP, **hook)]))


def test_a_resume_with_other_early_bird_settings_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match='simulated'):
        run(tmp_path / 'w', dict(type='CrashAtEpoch', epoch=3),
            early_bird=dict(threshold=0.5, window=1))
    with pytest.raises(ValueError, match='early_bird='):
        run(tmp_path / 'w', early_bird=dict(threshold=0.2, window=1), resume=True)


def test_settings_that_could_never_end_a_round_are_refused(tmp_path):
    # The default window of 3 needs 4 checks (the first compares nothing): 4 epochs, a whole
    # round here.
    with pytest.raises(ValueError, match=r'needs 3 distances, so 4 epochs before it can end a '
                                         r'round, but a round is 4: it would never stop one'):
        run(tmp_path / 'w', early_bird=dict())
    assert not (tmp_path / 'w' / 'imp').exists()
