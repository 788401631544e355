"""Training with a fixed ticket: the transfer experiment."""
from __future__ import annotations

import os.path as osp
import time
from typing import Any, Optional, Sequence

from mmengine.dist import is_main_process
from mmengine.registry import HOOKS

from ..compat import checkpoint_pickle_allowed, read_ticket
from ..core import PruneScope, Ticket, TicketMismatchError, keymap, pickle_opt_in
from ..core.options import check_prefixes, flag, integer, prefixes
from ..core.rewind import check_prefixes_match, reinitialize
from ..engine.round_report import write_summary
from ..engine.runner_utils import is_training, resume_source, seeded_generator, unwrap_model
from ..engine.search_files import clear_work_dir
from .enforce import TicketEnforcingHook, format_seconds, progress_line

#: Where a checkpoint keeps the time the run has trained so far.
CKPT_RUN = 'lth_mm_ticket_run'


@HOOKS.register_module()
class TicketHook(TicketEnforcingHook):
    """Loads a ticket file and keeps its pruned weights at zero (ticket transfer, no pruning).

    With the config's ``load_from`` (or a ``Pretrained`` ``init_cfg``) pointing at the dense
    pre-trained weights, this is the paper's transfer: the mask of task A on the original
    pre-trained weights, fine-tuned once with the downstream recipe.

    At the end of training the run is recorded in ``<work_dir>/ticket/summary.json`` (and
    ``.csv``): the ticket (path, the digest of the file's ticket ``source_digest``, the digest
    and card of the mask trained), the best validation metric and its epoch, and the test
    metric of the best weights, as the paper reports. The mask trained (after key mapping,
    ``randomize`` and ``reverse``) is saved as ``<work_dir>/ticket/ticket.safetensors``.

    Note:
        The ticket is bound in ``before_train`` (after weights are loaded) and again before
        validation and test. A checkpoint loaded by ``load_from`` or ``tools/test.py`` must have
        been trained under this very ticket, or be dense when training starts (the transfer);
        evaluating a checkpoint trained without this ticket (which would prune it and report
        the pruned accuracy) or fine-tuning one trained under another ticket is an error unless
        ``allow_other_ticket``.

    Args:
        ticket: Path to a ticket file (``Ticket.save``), to an lth_mm checkpoint (the ticket it
            records: an IMP round's ``round_XX_best.pth``, or ``round_XX_last.pth`` without
            validation), or to a mask file of the original code (``*.weight_mask`` tensors; see
            ``Ticket.read``). A transfer's checkpoint records its ticket as that run used it
            (after ``key_map``, ``prefix``, ``skip``, ``reverse``): leave those out to reuse it.
        key_map: How ticket keys map onto the model: ``'auto'`` (the naming scheme is detected
            from the keys and converted to the model's), a scheme name of
            :mod:`lth_mm.core.keymap`, or None (keys used as they are).
        prefix: Prepended to the ticket keys after ``key_map`` (``'backbone.'``).
        reverse: Use the complementary mask (an ablation of the paper).
        randomize: Use a random ticket over the same weights with exactly as many kept (seeded
            by ``seed``): the random-ticket baseline at the ticket's sparsity.
        reinit: Re-initialise the model randomly (seeded by ``seed``) before applying the
            mask: the "same mask, random initialisation" baseline.
        reinit_prefixes: Only re-initialise the modules under these prefixes.
        seed: Seed of the re-initialisation and of ``randomize``.
        strict: Fail when the model has prunable weights the ticket does not cover.
        metric, rule, test_best: What picks the best weights and whether the test set is
            evaluated with them (see :class:`TicketEnforcingHook`).
        allow_other_ticket: Evaluate or fine-tune a checkpoint recorded under another ticket
            (or, in ``tools/test.py``, under none) with this one.
        allow_pickle: Read a checkpoint or an original-code mask file by full unpickling when
            it holds more than plain data (runs code from the file: only for files you trust;
            ``--allow-pickle`` of ``tools/train.py`` does the same).
        mask_grads: See :class:`TicketEnforcingHook`.
        overwrite: Delete the files of a transfer of another ticket in the work dir (its
            ``ticket/`` folder and checkpoints) before training; without it such a work dir is
            refused. A re-run of the same ticket needs no overwrite.
        skip: Prefixes of the ticket's own keys (as the file names them, before ``key_map``)
            whose masks are dropped, leaving those weights dense: ``('conv1', )`` for a mask
            file the original code wrote with ``--conv1`` (a 7x7 stem mask), transferred onto a
            model with another stem, as the original's transfer ignores that mask. A prefix
            that starts no key is an error.
    """

    def __init__(self, ticket: str, key_map: Optional[str] = 'auto', prefix: str = '',
                 reverse: bool = False, randomize: bool = False, reinit: bool = False,
                 reinit_prefixes: Sequence[str] = (), seed: int = 0, strict: bool = False,
                 metric: Optional[str] = None, rule: Optional[str] = None,
                 test_best: bool = True, allow_other_ticket: bool = False,
                 allow_pickle: bool = False, mask_grads: Optional[bool] = None,
                 overwrite: bool = False, skip: Sequence[str] = ()) -> None:
        super().__init__(mask_grads=mask_grads, metric=metric, rule=rule, test_best=test_best,
                         allow_other_ticket=allow_other_ticket)
        if not isinstance(ticket, str) or not ticket or ticket == '???':
            raise ValueError(f'TicketHook: ticket must be a file path, got {ticket!r} '
                             "(set it with --cfg-options custom_hooks.0.ticket=PATH)")
        self.ticket_path = ticket
        self.key_map = key_map
        self.prefix = prefix
        if key_map is not None and not isinstance(key_map, str):
            raise TypeError(f"TicketHook: key_map must be 'auto', a scheme name or None, got "
                            f'{key_map!r}')
        if not isinstance(prefix, str):
            raise TypeError(f"TicketHook: prefix must be a string such as 'backbone.', got "
                            f'{prefix!r}')
        self.reverse = flag(reverse, 'TicketHook: reverse')
        self.randomize = flag(randomize, 'TicketHook: randomize')
        self.reinit = flag(reinit, 'TicketHook: reinit')
        self.reinit_prefixes = prefixes(reinit_prefixes, 'TicketHook: reinit_prefixes')
        self.seed = integer(seed, 'TicketHook: seed')
        self.strict = flag(strict, 'TicketHook: strict')
        self.overwrite = flag(overwrite, 'TicketHook: overwrite')
        self._clear_first = False
        self.allow_pickle = pickle_opt_in(allow_pickle, 'TicketHook: allow_pickle')
        self.skip = prefixes(skip, 'TicketHook: skip')
        self._started = time.time()

    def load_ticket(self, model: Any) -> Ticket:
        """Read the ticket file and map its keys onto ``model``."""
        # --allow-pickle of tools/train.py (LTH_MM_ALLOW_PICKLE=1) opts in for checkpoints
        ticket = read_ticket(self.ticket_path, self.allow_pickle or checkpoint_pickle_allowed())
        self.source_digest = ticket.digest()  # as the file holds it, before skip and mapping
        if self.skip:
            check_prefixes(self.skip, list(ticket), 'TicketHook: skip',
                           f'key of {self.ticket_path}')
            ticket = ticket.rename(lambda k: None if k.startswith(self.skip) else k)
        if not len(ticket):
            raise TicketMismatchError(f'TicketHook: {self.ticket_path} holds no masks: training '
                                      'under it would be a dense run. Give the ticket of a '
                                      'search (<work_dir>/imp/tickets/round_XX.safetensors).')
        if self.key_map is not None and not set(ticket) <= set(dict(model.named_parameters())):
            try:
                dst = keymap.detect_scheme(model.state_dict())
                ticket, _ = keymap.convert_ticket(ticket, dst=dst, src=self.key_map)
            except keymap.KeyMapError as err:
                raise keymap.KeyMapError(
                    f'TicketHook: the keys of {self.ticket_path} do not map onto '
                    f'{type(model).__name__} ({err}). Set key_map= to the ticket\'s naming '
                    f'scheme (one of {", ".join(keymap.SCHEMES)}), or key_map=None with '
                    "prefix= when the keys only lack a prefix such as 'backbone.'") from err
        if self.prefix:
            ticket = ticket.add_prefix(self.prefix)
        try:
            ticket.check(model, strict=self.strict)
        except TicketMismatchError as err:
            if 'shape mismatches' not in str(err):
                raise
            raise TicketMismatchError(
                f"{err}. A mask for another layer shape (the original code's --conv1 stem mask "
                "on a model with another stem) can be left out with skip=('conv1', ), by the "
                "ticket's own key names") from err
        if self.strict and ticket.scope is None:
            self._check_covers(ticket, model)
        if self.randomize:
            ticket = ticket.random_like(seeded_generator(self.seed))
        return ticket.reverse() if self.reverse else ticket

    def _check_covers(self, ticket: Ticket, model: Any) -> None:
        """``strict`` for a ticket that does not know its scope (a key-mapped one, an original
        mask file): the default scope (conv weights, no stem) under the first name part all its
        keys share (``backbone.``) must be covered."""
        heads = {name.split('.', 1)[0] for name in ticket}
        shared = f'{heads.pop()}.' if len(heads) == 1 and all('.' in k for k in ticket) else ''
        try:
            selected = PruneScope(prefix=shared).select(model)
        except ValueError:
            return
        missing = [name for name in selected if name not in ticket]
        if missing:
            raise TicketMismatchError(
                f'TicketHook: {self.ticket_path} leaves {len(missing)} of the {len(selected)} '
                f'conv weights under {shared or "the model"!r} without a mask (strict=True): '
                f'{", ".join(missing[:3])}. Use a ticket of the whole backbone, or strict=False '
                'to keep those weights dense.')

    def before_run(self, runner: Any) -> None:
        """Fail early on a ticket that does not fit the model."""
        model = unwrap_model(runner)
        check_prefixes_match(model, 'TicketHook', reinit_prefixes=self.reinit_prefixes)
        self._loaded = self.load_ticket(model)
        self._clear_first = False
        if is_training(runner) and resume_source(runner) is None:
            self._clear_first = self._check_work_dir(runner)
        runner.logger.info(f'TicketHook: {self.ticket_path}: {self._loaded!r}'
                           + (' (randomized)' if self.randomize else '')
                           + (' (reversed)' if self.reverse else ''))
        super().before_run(runner)

    def _check_work_dir(self, runner: Any) -> bool:
        """Refuse a work dir holding a transfer of another ticket (its checkpoints would sit
        beside this run's), unless ``overwrite``; True when its files are to be deleted."""
        earlier = self._trained_path(runner)
        if not osp.isfile(earlier):
            return False
        try:
            digest = Ticket.load(earlier).digest()
        except ValueError:
            digest = 'unreadable'
        if digest == self._loaded.digest():
            return False  # the same transfer again
        if self.overwrite:
            return True
        raise FileExistsError(
            f'TicketHook: the work dir {runner.work_dir} holds a transfer of another ticket '
            f'({earlier}: {digest}; this run trains {self._loaded.digest()}), whose '
            'checkpoints would sit beside this run\'s. Choose another --work-dir, resume that '
            'run with --resume, or set overwrite=True (--cfg-options '
            'custom_hooks.<i>.overwrite=True) to delete its ticket/ folder and checkpoints first.')

    def loaded_ticket(self, runner: Any, loaded: Optional[Ticket]) -> None:
        """Weights must have been trained under this ticket, or be dense at the start of a run."""
        if loaded == self._loaded or (loaded is None and self._training):
            return
        message = (f'TicketHook: {self._source} records {self.describe(loaded)}, this hook holds '
                   f'{self.describe(self._loaded)} from {self.ticket_path}')
        if self.allow_other_ticket:
            runner.logger.warning(f'{message}; going on (allow_other_ticket=True)')
        elif self._training:
            raise ValueError(f'{message}: fine-tuning it would mix two tickets. Start from the '
                             'dense pre-trained weights, or set allow_other_ticket=True.')
        else:
            raise ValueError(f'{message}: evaluating it would prune it to this ticket and report '
                             'that accuracy. Evaluate it with the config and ticket it was '
                             'trained with, or set allow_other_ticket=True '
                             '(--cfg-options custom_hooks.<i>.allow_other_ticket=True).')

    def resume_ticket(self, runner: Any, loaded: Optional[Ticket], checkpoint: dict) -> None:
        if loaded != self._loaded and not self.allow_other_ticket:
            raise ValueError(f'TicketHook: the run in {self._source} was trained under '
                             f'{self.describe(loaded)}; the config now holds '
                             f'{self.describe(self._loaded)} ({self.ticket_path}). Resume with '
                             'the ticket it was started with, or set allow_other_ticket=True.')
        self._started = time.time() - checkpoint.get(CKPT_RUN, {}).get('elapsed', 0.0)

    def before_train(self, runner: Any) -> None:
        if not self._resumed:
            if self._clear_first:  # overwrite=True, every check passed, the weights loaded
                runner.logger.info('TicketHook: overwrite=True: deleting the earlier transfer '
                                   f'in {runner.work_dir} (ticket/ and checkpoints)')
                clear_work_dir(runner.work_dir, osp.dirname(self._trained_path(runner)))
                self._clear_first = False
            if self.reinit or self.reinit_prefixes:
                reinitialize(unwrap_model(runner), self.seed, self.reinit_prefixes or None)
            self._started = time.time()
            if is_main_process():  # the mask trained, as a file (randomized / reversed included)
                self._loaded.save(self._trained_path(runner))
        self.set_ticket(runner, self._loaded)
        super().before_train(runner)

    def before_val(self, runner: Any) -> None:
        if self.ticket is None:
            self.set_ticket(runner, self._loaded)

    def before_test(self, runner: Any) -> None:
        if self.ticket is None:
            self.set_ticket(runner, self._loaded)

    @staticmethod
    def _trained_path(runner: Any) -> str:
        return osp.join(runner.work_dir, 'ticket', 'ticket.safetensors')

    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        super().before_save_checkpoint(runner, checkpoint)
        checkpoint[CKPT_RUN] = dict(elapsed=time.time() - self._started)

    def after_train(self, runner: Any) -> None:
        """Record the run: which ticket, the best validation and the test metric at it."""
        card = self._loaded.card
        row = dict(round=card.get('round'), **self.round_row(runner, self._started),
                   ticket=osp.abspath(self.ticket_path), source_digest=self.source_digest,
                   trained_ticket=osp.relpath(self._trained_path(runner), runner.work_dir),
                   reversed=self.reverse, randomized=self.randomize, skipped=list(self.skip),
                   ticket_card=card)
        runner.logger.info(f'TicketHook: done in {format_seconds(row["wall_time_s"])}: '
                           f'{progress_line(row)}')
        if is_main_process():
            write_summary([row], osp.join(runner.work_dir, 'ticket'))
