"""TicketHook: transfer of a fixed ticket, exact zeros under every optimizer, reverse, re-init."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import HOOKS, OPTIM_WRAPPERS

from lth_mm.core import Ticket

from .conftest import assert_masked, build_runner, tiny_cfg


@HOOKS.register_module(force=True)
class ZeroChecker(Hook):
    """Test probe: after every iteration (after all other hooks) pruned weights must be zero."""

    priority = 'LOWEST'
    ticket: Ticket = None
    checked = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        assert_masked(runner.model, ZeroChecker.ticket)
        ZeroChecker.checked += 1


@HOOKS.register_module(force=True)
class GradChecker(Hook):
    """Test probe: at every optimizer step the pruned weights' gradients must be zero."""

    steps = 0

    def before_train(self, runner) -> None:
        params = dict(runner.model.named_parameters())

        def check(optimizer, args, kwargs) -> None:
            for name, mask in ZeroChecker.ticket.items():
                assert torch.count_nonzero(params[name].grad[~mask]) == 0, name
            GradChecker.steps += 1

        GradChecker.steps = 0
        runner.optim_wrapper.optimizer.register_step_pre_hook(check)


@HOOKS.register_module(force=True)
class TrainProbe(Hook):
    """Test probe: the weights when training starts (after the ticket is bound) and the number of
    gradient hooks the TicketHook holds during training."""

    priority = 'LOWEST'

    def before_train(self, runner) -> None:
        self.start = {k: v.detach().clone() for k, v in runner.model.named_parameters()}
        self.handles = set()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        hook = next(h for h in runner.hooks if type(h).__name__ == 'TicketHook')
        self.handles.add(len(hook._grad_handles))


def probe(runner) -> TrainProbe:
    return next(h for h in runner.hooks if isinstance(h, TrainProbe))


@OPTIM_WRAPPERS.register_module(force=True)
class CPUAmpOptimWrapper(AmpOptimWrapper):
    """mmengine's AmpOptimWrapper (loss scaling, skipped steps) with bf16 autocast on the CPU.

    mmengine refuses AMP without a GPU; this keeps its backward/step logic and only swaps the
    device checks, so the masking can be tested against real loss scaling here.
    """

    def __init__(self, **kwargs) -> None:
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = None
        self.loss_scaler = torch.amp.GradScaler('cpu', init_scale=2.0 ** 8)
        self.cast_dtype = torch.bfloat16

    def optim_context(self, model):
        from contextlib import ExitStack
        stack = ExitStack()
        stack.enter_context(OptimWrapper.optim_context(self, model))
        stack.enter_context(torch.autocast('cpu', dtype=torch.bfloat16))
        return stack


def random_ticket(tmp_path: Path, sparsity: float = 0.7, seed: int = 0) -> Path:
    model = build_runner(tiny_cfg(tmp_path / 'probe', [])).model
    ticket = Ticket.dense(model).prune(model, sparsity, criterion='random',
                                       generator=torch.Generator().manual_seed(seed))
    path = tmp_path / 'ticket.safetensors'
    ticket.save(path)
    return path


OPTIMIZERS = {
    'sgd_momentum_wd': dict(type='OptimWrapper',
                            optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-3,
                                           nesterov=True)),
    'adam': dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-2, weight_decay=1e-3)),
    'adamw': dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-2, weight_decay=0.05)),
    'amp_bf16': dict(type='CPUAmpOptimWrapper',
                     optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-3)),
    'grad_accumulation': dict(type='OptimWrapper', accumulative_counts=3,
                              optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
    'clip_grad_masked': dict(type='OptimWrapper', clip_grad=dict(max_norm=1.0),
                             optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
}


@pytest.mark.parametrize('name', sorted(OPTIMIZERS))
def test_pruned_weights_stay_exactly_zero(tmp_path, name):
    path = random_ticket(tmp_path)
    ZeroChecker.ticket, ZeroChecker.checked = Ticket.load(path), 0
    cfg = tiny_cfg(tmp_path / 'work', [
        dict(type='TicketHook', ticket=str(path), key_map=None),  # clipping: masked by itself
        dict(type='ZeroChecker'),
        *([dict(type='GradChecker')] if name == 'clip_grad_masked' else [])], epochs=3)
    cfg.optim_wrapper = OPTIMIZERS[name]
    runner = build_runner(cfg)
    before = {k: v.detach().clone() for k, v in runner.model.named_parameters()}
    runner.train()
    assert ZeroChecker.checked == 12
    assert_masked(runner.model, ZeroChecker.ticket)
    params = dict(runner.model.named_parameters())
    for key, mask in ZeroChecker.ticket.items():  # the kept weights did train
        assert not torch.equal(params[key].detach()[mask], before[key][mask]), key
    if name == 'clip_grad_masked':  # checked at each step, before the wrapper zeroes them
        assert GradChecker.steps == 3 * 4


def _clipped_run(tmp_path: Path, path: Path, mask_grads, clip_grad: dict):
    hook = dict(type='TicketHook', ticket=str(path), key_map=None)
    if mask_grads != 'default':
        hook['mask_grads'] = mask_grads
    cfg = tiny_cfg(tmp_path / f'clip_{mask_grads}_{clip_grad.get("type", "norm")}_{path.stem}',
                   [hook, dict(type='TrainProbe')], epochs=1)
    cfg.optim_wrapper = dict(type='OptimWrapper', clip_grad=dict(clip_grad),
                             optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
    runner = build_runner(cfg)
    runner.train()
    return runner


def test_clipping_by_norm_sees_only_the_tickets_gradients_by_default(tmp_path):
    """As with torch.nn.utils.prune (where the pruned weights' gradients are zero), the norm
    that clipping divides by is that of the kept weights' gradients, without asking."""
    path = random_ticket(tmp_path, sparsity=0.9)
    clip = dict(max_norm=0.5)
    runs = {m: _clipped_run(tmp_path, path, m, clip) for m in ('default', True, False)}
    norms = {m: r.message_hub.get_scalar('train/grad_norm').data[0] for m, r in runs.items()}
    assert len(norms['default']) == 4
    assert norms['default'].tolist() == norms[True].tolist()
    # unmasked, the pruned 90 % of the gradients add to the norm of the very first step
    assert norms[False][0] > 1.05 * norms['default'][0]
    weights = {m: dict(r.model.named_parameters()) for m, r in runs.items()}
    for key in weights[True]:
        assert torch.equal(weights['default'][key], weights[True][key]), key
    assert not all(torch.equal(weights['default'][k], weights[False][k]) for k in weights[True])
    for runner in runs.values():
        assert_masked(runner.model, Ticket.load(path))
    said = {m: Path(r.log_dir, f'{r.timestamp}.log').read_text() for m, r in runs.items()}
    assert ("TicketHook: the gradients of pruned weights are zeroed during backward, since "
            "clip_grad={'max_norm': 0.5} reads norms" in said['default'])
    assert 'are zeroed during backward' not in said[True] + said[False]  # asked, not found


def test_a_dense_ticket_adds_no_gradient_pass_under_clipping(tmp_path):
    model = build_runner(tiny_cfg(tmp_path / 'probe', [])).model
    path = tmp_path / 'dense.safetensors'
    Ticket.dense(model).save(path)
    runner = _clipped_run(tmp_path, path, 'default', dict(max_norm=0.5))
    assert probe(runner).handles == {0}
    sparse = _clipped_run(tmp_path, random_ticket(tmp_path), 'default', dict(max_norm=0.5))
    hook = next(h for h in sparse.hooks if type(h).__name__ == 'TicketHook')
    assert probe(sparse).handles == {len(hook.ticket)}
    assert hook._grad_handles == []  # removed after the run


def test_clipping_by_value_leaves_gradients_as_they_are(tmp_path):
    """Clipping by value is elementwise: the default adds no gradient pass (bit-exact)."""
    path = random_ticket(tmp_path)
    clip = dict(type='value', clip_value=0.01)
    default = _clipped_run(tmp_path, path, 'default', clip)
    unmasked = _clipped_run(tmp_path, path, False, clip)
    for (key, a), b in zip(default.model.named_parameters(), unmasked.model.parameters()):
        assert torch.equal(a, b), key
    assert probe(default).handles == {0}


def test_frozen_ticketed_weights_train_under_clipping(tmp_path):
    """A ticket over frozen convs (``frozen_stages``) with clipping by norm: the frozen ones get
    no gradient hook (registering one would fail), the trainable ones do."""
    path = random_ticket(tmp_path)
    cfg = tiny_cfg(tmp_path / 'frozen', [dict(type='TicketHook', ticket=str(path), key_map=None),
                                         dict(type='TrainProbe')], epochs=1)
    cfg.model.backbone.frozen_stages = 1
    cfg.optim_wrapper = dict(type='OptimWrapper', clip_grad=dict(max_norm=0.5),
                             optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
    runner = build_runner(cfg)
    runner.train()
    ticket, start = Ticket.load(path), probe(runner).start
    assert_masked(runner.model, ticket)
    params = dict(runner.model.named_parameters())
    frozen = [k for k in ticket if not params[k].requires_grad]
    assert frozen and all(k.startswith('backbone.layer1.') for k in frozen)
    for key in frozen:  # masked when bound, then left alone
        assert torch.count_nonzero(start[key][~ticket[key]]) == 0
        assert torch.equal(params[key], start[key]), key
    trained = [k for k in ticket if params[k].requires_grad]
    assert all(not torch.equal(params[k], start[k]) for k in trained)
    assert probe(runner).handles == {len(trained)}


@pytest.mark.skipif(not torch.cuda.is_available(), reason='mmengine AMP needs a GPU')
def test_pruned_weights_stay_zero_with_real_amp(tmp_path):
    path = random_ticket(tmp_path)
    ZeroChecker.ticket, ZeroChecker.checked = Ticket.load(path), 0
    cfg = tiny_cfg(tmp_path / 'work', [dict(type='TicketHook', ticket=str(path), key_map=None),
                                       dict(type='ZeroChecker')], epochs=2)
    cfg.optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic',
                             optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-3))
    build_runner(cfg).train()
    assert ZeroChecker.checked == 8


def test_reverse_and_reinit(tmp_path):
    path = random_ticket(tmp_path, sparsity=0.9)
    ticket = Ticket.load(path)
    cfg = tiny_cfg(tmp_path / 'rev', [dict(type='TicketHook', ticket=str(path), key_map=None,
                                           reverse=True)], epochs=1)
    runner = build_runner(cfg)
    runner.train()
    assert_masked(runner.model, ticket.reverse())
    assert abs(ticket.reverse().sparsity - 0.1) < 1e-3

    first = build_runner(tiny_cfg(tmp_path / 'a', [dict(
        type='TicketHook', ticket=str(path), key_map=None, reinit=True, seed=7)], epochs=1))
    second = build_runner(tiny_cfg(tmp_path / 'b', [dict(
        type='TicketHook', ticket=str(path), key_map=None, reinit=True, seed=8)], epochs=1))
    for runner in (first, second):
        runner.call_hook('before_run')
        runner._init_model_weights()
        runner.call_hook('before_train')
    key = 'backbone.layer1.0.conv1.weight'
    a, b = dict(first.model.named_parameters())[key], dict(second.model.named_parameters())[key]
    assert not torch.equal(a, b)
    assert torch.count_nonzero(a.detach()[~ticket[key]]) == 0


def test_ticket_for_another_model_fails_before_training(tmp_path):
    path = random_ticket(tmp_path)
    cfg = tiny_cfg(tmp_path / 'wide', [dict(type='TicketHook', ticket=str(path), key_map=None)])
    cfg.model.backbone.update(stem_channels=16, base_channels=16)
    cfg.model.head.in_channels = 128
    runner = build_runner(cfg)
    with pytest.raises(ValueError, match='shape mismatches'):
        runner.train()
    with pytest.raises(ValueError, match='ticket must be a file path'):
        build_runner(tiny_cfg(tmp_path / 'none', [dict(type='TicketHook', ticket='')]))


def test_original_mask_file_and_test_mode(tmp_path):
    """A torch.nn.utils.prune mask file of the original code drives tools/test-style runs."""
    path = random_ticket(tmp_path)
    ticket = Ticket.load(path)
    original = tmp_path / 'mask.pth.tar'
    torch.save({'state_dict': ticket.to_torch_prune(prefix='module.')}, original)
    cfg = tiny_cfg(tmp_path / 'work', [dict(type='TicketHook', ticket=str(original),
                                            key_map=None)], epochs=1)
    runner = build_runner(cfg)
    metrics = runner.test()
    assert 'accuracy/top1' in metrics
    assert_masked(runner.model, ticket)


def test_skip_leaves_out_a_stem_mask_of_another_shape(tmp_path):
    """The original's --conv1 files hold a stem mask; onto a model with another stem it was
    refused with no way around it but Python. skip=('conv1', ) drops it (the original's transfer
    ignores it too); the error for the mismatch says so, and a skip that names nothing fails."""
    from lth_mm.core.torch_prune import masks_to_torch_prune

    model = build_runner(tiny_cfg(tmp_path / 'probe', [])).model
    ticket = Ticket.dense(model).prune(model, 0.5)
    stem = dict(model.named_parameters())['backbone.conv1.weight']
    other = (stem.shape[0], stem.shape[1], stem.shape[2] + 2, stem.shape[3] + 2)
    masks = {**masks_to_torch_prune(ticket.strip_prefix('backbone.')),
             'conv1.weight_mask': (torch.rand(other) < 0.5).float()}
    path = tmp_path / 'conv1_mask.pth.tar'
    torch.save({'state_dict': masks}, path)

    with pytest.raises(ValueError,
                       match=r"shape mismatches: backbone.conv1.weight.*skip=\('conv1'"):
        build_runner(tiny_cfg(tmp_path / 'refused', [dict(type='TicketHook',
                                                          ticket=str(path))])).train()
    with pytest.raises(ValueError, match=r"TicketHook: skip.*'cnov1'"):
        build_runner(tiny_cfg(tmp_path / 'typo', [dict(type='TicketHook', ticket=str(path),
                                                       skip=['cnov1'])])).train()
    runner = build_runner(tiny_cfg(tmp_path / 'skipped', [dict(type='TicketHook',
                                                               ticket=str(path),
                                                               skip='conv1')]))
    runner.train()
    hook = next(h for h in runner.hooks if type(h).__name__ == 'TicketHook')
    assert set(hook._loaded) == set(ticket)  # the stem is dense, the rest is the ticket
    assert_masked(runner.model, ticket)
    # the record names the file's own ticket (results match transfers to searches by it)
    assert hook.source_digest == Ticket.read(path).digest() != hook._loaded.digest()
    row = json.loads((tmp_path / 'skipped' / 'ticket' / 'summary.json').read_text())[0]
    assert row['source_digest'] == hook.source_digest and row['skipped'] == ['conv1']


def test_a_checkpoint_of_a_ticketed_run_stands_for_its_ticket(tmp_path):
    """``TicketHook(ticket=<an lth_mm checkpoint>)`` trains under the ticket the checkpoint
    records (an MMEngine checkpoint, message hub and all, read as plain data)."""
    path = random_ticket(tmp_path)
    first = build_runner(tiny_cfg(tmp_path / 'first', [dict(type='TicketHook', ticket=str(path))],
                                  epochs=1))
    first.train()
    checkpoint = tmp_path / 'first' / 'epoch_1.pth'
    from lth_mm.compat import load_local_checkpoint
    assert 'message_hub' in load_local_checkpoint(str(checkpoint))
    runner = build_runner(tiny_cfg(tmp_path / 'second', [
        dict(type='TicketHook', ticket=str(checkpoint))], epochs=1))
    runner.train()
    hook = next(h for h in runner.hooks if type(h).__name__ == 'TicketHook')
    assert hook._loaded == Ticket.load(path)
    assert_masked(runner.model, Ticket.load(path))


def test_a_checkpoint_that_needs_unpickling_takes_the_runs_opt_in(tmp_path, monkeypatch):
    """``--allow-pickle`` of tools/train.py (LTH_MM_ALLOW_PICKLE=1) covers the ticket's
    checkpoint too, as it covers load_from and resume."""
    import datetime

    from lth_mm.core.torch_file import UnsafeFileError

    ticket = Ticket.load(random_ticket(tmp_path))
    path = tmp_path / 'pickled.pth'
    torch.save({'meta': dict(when=datetime.datetime(2026, 1, 1)), 'state_dict': {},
                'lth_mm_ticket': ticket.pack()}, path)
    cfg = tiny_cfg(tmp_path / 'run', [dict(type='TicketHook', ticket=str(path))], epochs=1)
    monkeypatch.delenv('LTH_MM_ALLOW_PICKLE', raising=False)
    with pytest.raises(UnsafeFileError, match='datetime'):
        build_runner(cfg).train()
    monkeypatch.setenv('LTH_MM_ALLOW_PICKLE', '1')
    runner = build_runner(cfg)
    runner.train()
    assert_masked(runner.model, ticket)
