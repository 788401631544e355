"""The base of lth_mm's hooks: hold a ticket, keep it, record it, track the best weights."""
from __future__ import annotations

import math
import time
from typing import Any, Dict, List, Optional

import torch
from mmengine.dist import broadcast_object_list, get_world_size
from mmengine.hooks import EMAHook, Hook

from ..core import MaskApplier, Ticket
from ..core.options import flag
from ..core.rewind import capture_state, restore_state
from ..core.ticket import CHECKPOINT_KEY
from ..engine.runner_utils import (
    gradient_norm_readers,
    has_test,
    is_training,
    metric_names,
    resume_source,
    unwrap_model,
    validation_due,
)

#: Where a checkpoint records the ticket its weights were trained under (``Ticket.pack``).
CKPT_TICKET = CHECKPOINT_KEY
#: Where a checkpoint keeps the best validation weights so far and their score.
CKPT_BEST = 'lth_mm_best'
#: Momentum (EMA) copies of ``backbone`` + ``neck`` that self-supervised models keep, as
#: ``<prefix>module.0.`` = ``backbone.``: MMPretrain's MoCo and DenseCL (``encoder_k``), MoCo v3
#: (``momentum_encoder``), BYOL (``target_net``).
MOMENTUM_COPIES = ('encoder_k.', 'momentum_encoder.', 'target_net.')


def momentum_copies(model: torch.nn.Module, names: List[str]) -> Dict[str, List[str]]:
    """For each ``backbone.*`` name, the parameters of the model's momentum copies of it."""
    params = dict(model.named_parameters(remove_duplicate=False))
    copies: Dict[str, List[str]] = {}
    for name in names:
        if name.startswith('backbone.'):
            found = [f'{p}module.0.{name[len("backbone."):]}' for p in MOMENTUM_COPIES]
            found = [c for c in found if c in params]
            if found:
                copies[name] = found
    return copies


class TicketEnforcingHook(Hook):
    """Base of the hooks that hold a ticket and keep its pruned weights exactly zero.

    The mask is applied after every training iteration (that is, after the optimizer step, so
    momentum, weight decay, Adam/AdamW moments, AMP and gradient accumulation cannot revive a
    pruned weight), before validation and test, and whenever a ticket is set. Each application
    is one in-place multiplication per masked tensor by its mask of one bit per weight,
    unpacked a slice at a time (``MaskApplier``; the masks are the ticket's own packed bytes on
    the CPU, one copy of them on an accelerator, shared with the momentum copies); nothing runs
    per forward.

    The base also does what both hooks need around the ticket:

    - **Momentum encoders.** In self-supervised models with a momentum copy of the backbone
      (MoCo's ``encoder_k``, see :data:`MOMENTUM_COPIES`) the copy gets the same mask whenever
      a ticket is set (after a rewind, ``load_from`` or ``--resume``) and before validation and
      test. Between those points its pruned weights stay exactly zero by themselves: its update
      copies the masked online weights (when ``steps`` is 0) or moves towards them
      (``lerp``), and zero moved towards zero is zero.
    - **Records.** Every checkpoint records the ticket it was written under (``lth_mm_ticket``,
      bit-packed, about 1 bit per weight). A checkpoint loaded with ``load_from`` (or by
      ``tools/test.py``) is checked against it by the subclass: evaluating or fine-tuning
      weights under another ticket than their own is an error unless ``allow_other_ticket``.
    - **Best weights.** After each validation the best weights of the round so far (by
      ``metric`` and ``rule``) are kept; :meth:`test_at_best` evaluates the test set with them,
      as the paper reports. They travel in checkpoints (``lth_mm_best``), and a resumed run
      first repeats the validation the checkpoint was written before (MMEngine saves a
      checkpoint before validating its epoch), so a resume picks the same best weights as an
      uninterrupted run wherever the kill landed.

    Note:
        Priority ``ABOVE_NORMAL`` runs the mask before ``EMAHook`` (``NORMAL``) and the
        checkpoint and logger hooks. With ``EMAHook`` its averaged copy of the weights, the one
        it validates, tests and saves, is masked before each of those (its pruned weights only
        decay between them), the best weights are the averaged ones validated, and the test at
        the best weights tests those.

    Args:
        mask_grads: Also zero the gradients of pruned weights during backward, as
            ``torch.nn.utils.prune`` (the original code) does. Needed when something reads
            norms of whole gradients before the step: clipping by norm
            (``optim_wrapper.clip_grad=dict(max_norm=...)``), LARS, Lamb, Adafactor; costs
            one extra pass per backward. ``None`` (the default) turns it on exactly then,
            found in the runner's optimizer wrappers
            (:func:`~lth_mm.engine.runner_utils.gradient_norm_readers`) and said in the log;
            ``True`` / ``False`` force it. Weights frozen when the ticket is bound get no
            gradient hook.
        metric: Validation metric that picks the best weights, e.g. ``'accuracy/top1'``.
            Defaults to the first metric the evaluator returns. When given, it is checked
            before training on one validation batch.
        rule: ``'greater'`` or ``'less'``; default ``'less'`` for metrics named ``loss``.
        test_best: Evaluate the test set with the best weights at the end of a round.
        allow_other_ticket: Load weights recorded under another ticket than this hook's (see
            the subclasses for what that means).
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, mask_grads: Optional[bool] = None, metric: Optional[str] = None,
                 rule: Optional[str] = None, test_best: bool = True,
                 allow_other_ticket: bool = False) -> None:
        name = type(self).__name__
        if rule not in (None, 'greater', 'less'):
            raise ValueError(f"{name}: rule must be 'greater' or 'less', got {rule!r}")
        if metric is not None and (not isinstance(metric, str) or not metric):
            raise ValueError(f'{name}: metric must be a metric name such as '
                             f"'accuracy/top1', got {metric!r}")
        self.mask_grads = flag(mask_grads, f'{name}: mask_grads', allow_none=True)
        self._grads_reported = False
        self.metric = metric
        self.rule = rule
        self.test_best = flag(test_best, f'{name}: test_best')
        self.allow_other_ticket = flag(allow_other_ticket, f'{name}: allow_other_ticket')
        self.ticket: Optional[Ticket] = None
        self._applier: Optional[MaskApplier] = None
        self._copies: Optional[MaskApplier] = None
        self._grad_handles: List[Any] = []
        self.best: Dict[str, Any] = {}
        self._best_state: Optional[Dict[str, torch.Tensor]] = None
        self._training = False
        self._source: Optional[str] = None  # the checkpoint resumed or loaded, for messages
        self._resumed = False
        self._ema: Optional[EMAHook] = None

    # The ticket -------------------------------------------------------------------------------
    def set_ticket(self, runner: Any, ticket: Ticket) -> None:
        """Bind ``ticket`` to the runner's model (and its momentum copies) and zero its pruned
        weights now."""
        model = unwrap_model(runner)
        self.ticket = ticket
        self._applier = ticket.bind(model)
        self._applier()
        copies = momentum_copies(model, list(ticket))
        params = dict(model.named_parameters(remove_duplicate=False))
        own = dict(zip(ticket, self._applier.masks))  # on the device: shared, not copied
        self._copies = MaskApplier([params[c] for n in copies for c in copies[n]],
                                   [own[n] for n in copies for _ in copies[n]])
        self._copies()
        self._unhook_grads()
        # A dense ticket (a dense round) needs no gradient pass and says nothing about it.
        if ticket.sparsity > 0 and self._masks_grads(runner):
            self._grad_handles = self._applier.hook_grads()

    def _masks_grads(self, runner: Any) -> bool:
        """``mask_grads``, or when it is None whether the runner's optimizer wrappers read a
        norm over whole gradients before the step (said once in the log)."""
        if self.mask_grads is not None:
            return self.mask_grads
        readers = gradient_norm_readers(runner)
        if readers and not self._grads_reported:
            self._grads_reported = True
            verb = 'reads' if len(readers) == 1 else 'read'
            runner.logger.info(
                f'{type(self).__name__}: the gradients of pruned weights are zeroed during '
                f'backward, since {" and ".join(readers)} {verb} norms of whole gradients (as '
                'with torch.nn.utils.prune, where they are zero); mask_grads=False turns it off')
        return bool(readers)

    def _unhook_grads(self) -> None:
        for handle in self._grad_handles:
            handle.remove()
        self._grad_handles = []

    def after_run(self, runner: Any) -> None:
        self._unhook_grads()

    def apply_mask(self, copies: bool = False) -> None:
        """Zero the pruned weights (and, with ``copies``, those of momentum copies)."""
        if self._applier is not None:
            self._applier()
            if copies:
                self._copies()

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                         outputs: Any = None) -> None:
        self.apply_mask()

    def before_val_epoch(self, runner: Any) -> None:
        self.apply_mask(copies=True)
        self._mask_average()

    def before_test_epoch(self, runner: Any) -> None:
        self.apply_mask(copies=True)
        self._mask_average()

    # EMAHook's averaged weights -----------------------------------------------------------------
    def _averaged(self) -> Optional[torch.nn.Module]:
        """The model ``EMAHook`` averages into (built in its ``before_run``), or None."""
        averaged = getattr(self._ema, 'ema_model', None)
        return averaged.module if averaged is not None else None

    def _mask_average(self) -> None:
        """Zero the pruned weights of EMAHook's averaged model: called before it swaps them in
        (validation, test) or saves them (checkpoints)."""
        averaged = self._averaged()
        if averaged is not None and self.ticket is not None:
            self.ticket.apply_(averaged)

    def restart_average(self, start_iter: int, start_epoch: int, rewind: bool = True) -> None:
        """EMAHook's average for a round starting at ``start_iter`` / ``start_epoch``: started
        again at a ``rewind`` (its next update copies the model), and its ``begin_iter`` /
        ``begin_epoch`` counted from the round's start, as MMEngine counts them from the run's."""
        if self._ema is None:
            return
        begin_iter, begin_epoch = self._ema_begin
        self._ema.begin_iter = begin_iter + start_iter if begin_iter else 0
        self._ema.begin_epoch = begin_epoch + start_epoch if begin_epoch else 0
        if rewind and self._averaged() is not None:
            self._ema.ema_model.steps.zero_()

    def _validated(self, runner: Any) -> torch.nn.Module:
        """The model that holds the weights just validated, after the validation: EMAHook's
        average where EMAHook ran before this hook (its priority above ``ABOVE_NORMAL``, or
        listed first at that priority) and already swapped it back; else the model."""
        if self._ema is not None and self._averaged() is not None and (
                runner.hooks.index(self._ema) < runner.hooks.index(self)):
            return self._averaged()
        return unwrap_model(runner)

    # Run mode ---------------------------------------------------------------------------------
    def before_run(self, runner: Any) -> None:
        """Note whether this run trains, resumes or only evaluates; check ``metric`` early."""
        self._ema = next((h for h in runner.hooks if isinstance(h, EMAHook)), None)
        if self._ema is not None:
            self._ema_begin = (self._ema.begin_iter, self._ema.begin_epoch)
        self._training = is_training(runner)
        resuming = resume_source(runner) if self._training else None
        self._source = resuming or runner._load_from
        if self._training and not resuming and self.metric is not None:
            self._check_metric(runner)

    def _check_metric(self, runner: Any) -> None:
        names = metric_names(runner)
        if names is not None and self.metric not in names:
            raise KeyError(f'{type(self).__name__}: metric {self.metric!r} is not among the '
                           f'validation metrics {sorted(names)}; set metric= to one of them')

    # Checkpoints ------------------------------------------------------------------------------
    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        self._mask_average()  # before EMAHook writes it into the checkpoint
        if self.ticket is not None:
            checkpoint[CKPT_TICKET] = self.ticket.pack()
        checkpoint[CKPT_BEST] = dict(best=dict(self.best), state=self._best_state)

    def after_load_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        """Restore the best weights on resume; otherwise let the subclass check the ticket."""
        loaded = checkpoint_ticket(checkpoint, self._source)
        if self._training and runner._resume:
            best = checkpoint.get(CKPT_BEST) or {}
            self.best, self._best_state = dict(best.get('best') or {}), best.get('state')
            self._resumed = True
            self.resume_ticket(runner, loaded, checkpoint)
        else:
            self.loaded_ticket(runner, loaded)

    def resume_ticket(self, runner: Any, loaded: Optional[Ticket], checkpoint: dict) -> None:
        """Called on resume with the checkpoint's ticket (None if it recorded none)."""

    def loaded_ticket(self, runner: Any, loaded: Optional[Ticket]) -> None:
        """Called with the ticket of a checkpoint loaded by ``load_from`` or ``tools/test.py``."""

    def describe(self, ticket: Optional[Ticket]) -> str:
        """A ticket in a message: digest and sparsity, or 'no ticket (dense)'."""
        if ticket is None:
            return 'no ticket (trained dense, or by lth_mm < 0.2)'
        return f'ticket {ticket.digest()} ({100 * ticket.sparsity:.2f} % sparse)'

    # Best weights -----------------------------------------------------------------------------
    def before_train(self, runner: Any) -> None:
        """On resume, repeat the validation the checkpoint was written before (if it was due)."""
        if self._resumed and validation_due(runner):
            runner.logger.info(f'{type(self).__name__}: repeating the validation of the resumed '
                               'checkpoint, which was written before it')
            runner.val_loop.run()

    def after_val_epoch(self, runner: Any, metrics: Optional[Dict[str, float]] = None) -> None:
        if not metrics or not self._training:
            return
        key = self.metric or next(iter(metrics))
        if key not in metrics:
            raise KeyError(f'{type(self).__name__}: metric {key!r} is not among the validation '
                           f'metrics {sorted(metrics)}; set metric= to one of them')
        rule = self.rule or ('less' if 'loss' in key else 'greater')
        score = to_float(metrics[key])
        best = self.best.get('score')
        if score is None or (best is not None
                             and not (score > best if rule == 'greater' else score < best)):
            return
        self.best = dict(metric=key, score=score, epoch=runner.epoch, iter=runner.iter)
        self._best_state = capture_state(self._validated(runner))
        self.new_best(runner)

    def new_best(self, runner: Any) -> None:
        """Called after the best weights changed."""

    def reset_best(self) -> None:
        self.best, self._best_state = {}, None

    def test_at_best(self, runner: Any) -> Optional[float]:
        """The test metric of the best weights (None without a test set or a validation)."""
        if not (self.test_best and self._best_state is not None and has_test(runner)):
            return None
        model, averaged = unwrap_model(runner), self._averaged()
        final_state = capture_state(model)
        restore_state(model, self._best_state)
        if averaged is not None:  # EMAHook swaps its average in for the test: the best too
            average = capture_state(averaged)
            restore_state(averaged, self._best_state)
        metrics = runner.test_loop.run()
        restore_state(model, final_state)
        if averaged is not None:
            restore_state(averaged, average)
        runner.model.train()
        return to_float(metrics.get(self.best.get('metric'))) if metrics else None

    def round_row(self, runner: Any, started: float) -> Dict[str, Any]:
        """The fields every record row has: sparsity, best validation, test at best, time."""
        return dict(
            sparsity=self.ticket.sparsity, remaining=1 - self.ticket.sparsity,
            metric=self.best.get('metric'), best_val_metric=self.best.get('score'),
            best_epoch=self.best.get('epoch'), best_iter=self.best.get('iter'),
            test_metric=self.test_at_best(runner),
            wall_time_s=round(time.time() - started, 2), ticket_digest=self.ticket.digest())


def progress_line(row: Dict[str, Any]) -> str:
    """``sparsity 78.40 %, val accuracy/top1 97.50 (epoch 40), test 96.94``."""
    parts = [f'sparsity {100 * row["sparsity"]:.2f} %']
    if row.get('best_val_metric') is not None:
        when = (f'epoch {row["best_epoch"]}' if row.get('best_epoch')
                else f'iter {row.get("best_iter")}')
        parts.append(f'val {row["metric"]} {row["best_val_metric"]:.2f} ({when})')
    if row.get('test_metric') is not None:
        parts.append(f'test {row["test_metric"]:.2f}')
    if row.get('best_val_metric') is None and row.get('train_loss') is not None:
        parts.append(f'train loss {row["train_loss"]:.4f} (last epoch)')
    return ', '.join(parts)


def format_seconds(seconds: float) -> str:
    """``1 h 02 min``, ``3 min 05 s`` or ``42 s``."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f'{seconds // 3600} h {seconds % 3600 // 60:02d} min'
    if seconds >= 60:
        return f'{seconds // 60} min {seconds % 60:02d} s'
    return f'{seconds} s'


def checkpoint_ticket(checkpoint: dict, where: Any = 'checkpoint') -> Optional[Ticket]:
    """The ticket a checkpoint records (``lth_mm_ticket``), or None."""
    state = checkpoint.get(CKPT_TICKET)
    return Ticket.unpack(state, where) if state is not None else None


def masks_equal_across_ranks(ticket: Ticket) -> Ticket:
    """Make every rank hold rank 0's ticket (a no-op outside distributed runs); sent as its
    checkpoint record, bit-packed (a ResNet-50 ticket: 2.8 MiB)."""
    if get_world_size() == 1:
        return ticket
    state = ticket.pack()
    payload = [dict(state, masks={k: v.numpy() for k, v in state['masks'].items()})]
    broadcast_object_list(payload, src=0)
    received = payload[0]
    received['masks'] = {k: torch.from_numpy(v) for k, v in received['masks'].items()}
    return Ticket.unpack(received, "rank 0's ticket")


def to_float(value: Any) -> Optional[float]:
    """``float(value)``, or None for None, NaN and infinities."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
