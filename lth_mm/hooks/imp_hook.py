"""Iterative magnitude pruning with rewinding, as an MMEngine hook."""
from __future__ import annotations

import io
import os.path as osp
import time
from collections import deque
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.dist import barrier, broadcast_object_list, is_main_process
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from ..core import CRITERIA, MODES, PruneScope, Ticket, weights_hash
from ..core.atomic import atomic_write_bytes
from ..core.early_bird import EarlyBird
from ..core.options import flag, integer, prefixes
from ..core.rewind import (
    capture_state,
    check_prefixes_match,
    load_state,
    reinitialize,
    restore_state,
    save_state,
)
from ..engine.round_report import format_table, plot_runs, write_summary
from ..engine.runner_utils import (
    has_pretrained_init,
    is_training,
    rebuild_param_schedulers,
    reset_best_checkpoint,
    reset_optimizer,
    restart_accumulation,
    resume_asked,
    resume_source,
    seeded_generator,
    unwrap_model,
)
from ..engine.search_files import (
    check_outside,
    check_replay,
    check_schedule,
    check_work_dir,
    clear_work_dir,
    expected_sparsity,
    first_round_files,
)
from .enforce import TicketEnforcingHook, format_seconds, masks_equal_across_ranks, progress_line

REWINDS = ('lt', 'rewind_lt', 'pt_trans', 'pt', 'lr', 'reinit')
#: Where a checkpoint keeps the search state.
CKPT_IMP = 'lth_mm_imp'
#: The arguments that define a search; a resume must repeat them.
SEARCH_ARGS = ('rounds', 'rate', 'criterion', 'mode', 'scope', 'rewind', 'rewind_at',
               'round_length', 'oneshot', 'masks_from', 'train_dense_round', 'keep_prefixes',
               'reinit_prefixes', 'metric', 'rule', 'early_bird')
#: Hooks that count epochs or validations over the whole run, which a search stretches over all
#: its rounds, and why each is refused.
SEARCH_WIDE = {
    'EarlyStoppingHook': (
        'counts its patience over the whole search, whose rounds restart from rewound weights: '
        'it would end the search in a later round, with the rounds after it never trained. '
        'Remove it for a search; early_bird=dict(...) ends rounds early by how settled the '
        'mask is.'),
    'PipelineSwitchHook': (
        "switches the training pipeline at an epoch counted over the whole search: only the "
        'round holding that epoch would switch, and every later round would train with the '
        'second pipeline only. Remove it for a search (or train rounds with one pipeline).'),
    'YOLOXModeSwitchHook': (
        'switches the training mode at an epoch counted over the whole search: only the round '
        'holding that epoch would switch, and every later round would train in the second mode '
        'only. Remove it for a search.'),
}

#: Early-bird settings and their defaults: check every ``interval`` epochs (iterations).
EARLY_BIRD = dict(interval=1, threshold=0.1, window=3)


def _state_digest(state: Dict[str, torch.Tensor]) -> str:
    """A digest of a rewind state, whatever the order of its keys (a file read back lists them
    sorted)."""
    return weights_hash(dict(sorted(state.items())))


@HOOKS.register_module()
class IMPHook(TicketEnforcingHook):
    """Turns a training config into an iterative-magnitude-pruning (IMP) ticket search.

    The config's own schedule is one round. The hook stretches the train loop to
    ``rounds + 1`` rounds: round 0 trains dense; at the end of each round it prunes ``rate`` of
    the surviving weights, saves the round's ticket, rewinds the weights, and restarts the
    optimizer state, the LR schedule (warm-up included) and best-checkpoint tracking, so every
    round trains exactly the config's schedule at the new sparsity. The pruned weights are kept
    at zero throughout (see :class:`TicketEnforcingHook`).

    Rewind types (what each round restarts from):

    - ``'lt'``: the random initialisation (no pre-trained weights allowed).
    - ``'rewind_lt'``: the weights at epoch (iteration) ``rewind_at`` of round 0.
    - ``'pt_trans'``: the pre-trained weights given by ``load_from`` or a ``Pretrained``
      ``init_cfg`` (a new head keeps its random initialisation).
    - ``'pt'``: the best weights of the dense round (by ``metric``).
    - ``'lr'``: learning-rate rewinding: weights are kept, only optimizer and schedule restart.
    - ``'reinit'``: a fresh random initialisation every round (seeded by round), the
      "same mask, random re-initialisation" baseline when used with ``masks_from``.

    Work-dir records (``<work_dir>/imp/``): ``tickets/round_XX.safetensors``,
    ``round_XX_best.pth`` (the best weights of each round, an mmengine-loadable checkpoint; for
    a search without validation, such as a self-supervised one, ``round_XX_last.pth``, its last
    weights), ``rewind.safetensors`` (the rewind point, stored once), ``summary.json`` /
    ``summary.csv`` (per round: sparsity, best validation and test metric, the mean training
    loss of the round's last epoch, time) and ``sparsity_curve.png``.

    Note:
        The round boundary runs before the first epoch (iteration) of the next round, after the
        last validation of the round. The round, the current ticket, the round's best weights,
        the rewind point's location and the search's defining arguments travel in every mmengine
        checkpoint, so ``--resume`` continues a search exactly, and refuses a config that
        defines another search. A new search refuses a work dir that holds an earlier one
        (``overwrite``). ``tools/test.py`` with this hook evaluates a checkpoint under the ticket
        it records. In distributed runs every rank holds rank 0's masks.

    Args:
        rounds: Pruning rounds after the dense round 0 (>= 1); the run trains ``rounds + 1``
            times and ends at sparsity ``1 - (1 - rate) ** rounds``.
        rate: Fraction of the surviving weights pruned per round, in (0, 1). Defaults to 0.2.
        criterion: ``'magnitude'`` (IMP) or ``'random'`` (iterative random pruning baseline).
        mode: ``'global'`` (one threshold, as the paper) or ``'layerwise'``.
        scope: :class:`PruneScope` fields; default: every Conv2d but the stem. Use
            ``dict(prefix='backbone.')`` for backbone-only pruning.
        rewind: One of ``'lt'``, ``'rewind_lt'``, ``'pt_trans'``, ``'pt'``, ``'lr'``,
            ``'reinit'``. Defaults to ``'lt'``.
        rewind_at: For ``'rewind_lt'``: the epoch (or iteration, for iteration-based loops)
            of round 0 to rewind to. Defaults to 0.
        round_length: Epochs (iterations) per round. Defaults to the config's ``max_epochs``
            (``max_iters``).
        oneshot: Prune in one shot from the dense round's final weights to each round's
            sparsity (one-shot magnitude pruning, OMP, or one-shot random with
            ``criterion='random'``) instead of iteratively.
        masks_from: A ``tickets`` folder of an earlier search: round ``r`` uses its
            ``round_XX.safetensors`` instead of pruning (replay, for baselines).
        keep_prefixes: State-dict prefixes that are not rewound (left as trained), with every
            ``rewind`` (``'reinit'`` too).
        reinit_prefixes: Module prefixes re-initialised at every rewind (a new task head).
        metric: Validation metric that picks each round's best weights, e.g.
            ``'accuracy/top1'``. Defaults to the first metric the evaluator returns.
        rule: ``'greater'`` or ``'less'``; default ``'less'`` for metrics named ``loss``.
        test_best: Evaluate the test set with each round's best weights (the paper reports the
            test metric at the best-validation epoch). Needs ``test_dataloader``.
        train_dense_round: Train round 0 dense (default). ``False`` prunes the starting
            (pre-trained) weights before any training, as the original ImageNet, SimCLR and MoCo
            IMP scripts do, and trains ``rounds`` rounds, the first already sparse.
        seed: Seed of random pruning and re-initialisation; defaults to the runner's seed.
        overwrite: Delete the files of an earlier search in the work dir (``imp/``, the
            checkpoints and ``last_checkpoint``) before starting; without it such a work dir is
            refused.
        allow_other_ticket: Start a search from ``load_from`` weights that were trained under
            a ticket (a sparse checkpoint).
        early_bird: Early-bird rounds (off by default), a dict of ``interval`` (epochs, or
            iterations for iteration-based loops; default 1), ``threshold`` (default 0.1) and
            ``window`` (default 3): every ``interval`` the hook computes the mask pruning now
            would produce and its distance to the previous one (the fraction of prunable weights
            that differ); once ``window`` distances in a row are under ``threshold`` the round
            ends there and is pruned and rewound as usual (:class:`lth_mm.core.early_bird
            .EarlyBird`). The last round, whose ticket is not pruned again, always trains the
            full schedule: its accuracy is comparable to full IMP's, the shortened rounds' are
            not (``comparable`` in the summary). With ``rewind='pt'`` round 0, whose best
            weights every round rewinds to, trains in full too; with ``rewind='lr'`` a round
            starts from the last one's weights, so after a shortened round no round is
            comparable (retrain the final ticket: the transfer path). The distance counts
            pruned weights too: at high sparsity it stays under ``threshold`` whatever the mask
            does, so there ``window`` and ``interval`` decide. Magnitude pruning only.
        mask_grads: See :class:`TicketEnforcingHook`.
    """

    def __init__(self,
                 rounds: int,
                 rate: float = 0.2,
                 criterion: str = 'magnitude',
                 mode: str = 'global',
                 scope: Optional[Dict[str, Any]] = None,
                 rewind: str = 'lt',
                 rewind_at: int = 0,
                 round_length: Optional[int] = None,
                 oneshot: bool = False,
                 masks_from: Optional[str] = None,
                 keep_prefixes: Sequence[str] = (),
                 reinit_prefixes: Sequence[str] = (),
                 metric: Optional[str] = None,
                 rule: Optional[str] = None,
                 test_best: bool = True,
                 train_dense_round: bool = True,
                 seed: Optional[int] = None,
                 overwrite: bool = False,
                 allow_other_ticket: bool = False,
                 early_bird: Optional[Dict[str, Any]] = None,
                 mask_grads: Optional[bool] = None) -> None:
        super().__init__(mask_grads=mask_grads, metric=metric, rule=rule, test_best=test_best,
                         allow_other_ticket=allow_other_ticket)
        if integer(rounds, 'IMPHook: rounds') < 1:
            raise ValueError(f'IMPHook: rounds must be an integer >= 1, got {rounds!r}')
        if not isinstance(rate, (int, float)) or not 0.0 < rate < 1.0:
            raise ValueError(f'IMPHook: rate must be in (0, 1), got {rate!r}')
        if criterion not in CRITERIA:
            raise ValueError(f'IMPHook: criterion must be one of {CRITERIA}, got {criterion!r}')
        if mode not in MODES:
            raise ValueError(f'IMPHook: mode must be one of {MODES}, got {mode!r}')
        if rewind not in REWINDS:
            raise ValueError(f'IMPHook: rewind must be one of {REWINDS}, got {rewind!r}')
        if integer(rewind_at, 'IMPHook: rewind_at') < 0:
            raise ValueError(f'IMPHook: rewind_at must be an integer >= 0, got {rewind_at!r}')
        if integer(round_length, 'IMPHook: round_length', allow_none=True) is not None \
                and round_length < 1:
            raise ValueError(f'IMPHook: round_length must be an integer >= 1, got {round_length!r}')
        integer(seed, 'IMPHook: seed', allow_none=True)
        if oneshot and masks_from:
            raise ValueError('IMPHook: oneshot and masks_from exclude each other')
        if not train_dense_round and rewind in ('pt', 'rewind_lt'):
            raise ValueError(f'IMPHook: rewind={rewind!r} needs the dense round 0; '
                             'set train_dense_round=True')
        if early_bird is not None:
            if not isinstance(early_bird, dict) or set(early_bird) - set(EARLY_BIRD):
                raise ValueError(f'IMPHook: early_bird must be a dict of {sorted(EARLY_BIRD)}, '
                                 f'got {early_bird!r}')
            early_bird = dict(EARLY_BIRD, **early_bird)
            if integer(early_bird['interval'], 'IMPHook: early_bird interval') < 1:
                raise ValueError(f'IMPHook: early_bird interval must be an integer >= 1, got '
                                 f"{early_bird['interval']!r}")
            if criterion != 'magnitude' or oneshot or masks_from:
                raise ValueError('IMPHook: early_bird stops a round when its magnitude mask has '
                                 "settled: it needs criterion='magnitude', no oneshot and no "
                                 'masks_from')
        if masks_from is not None and (not isinstance(masks_from, str) or masks_from == '???'):
            raise ValueError(f'IMPHook: masks_from must be the tickets folder of an earlier '
                             f'search (<work_dir>/imp/tickets), got {masks_from!r}')
        self.rounds = rounds
        self.rate = float(rate)
        self.criterion = criterion
        self.mode = mode
        self.scope = PruneScope.from_value(scope)
        self.rewind = rewind
        self.rewind_at = rewind_at
        self.round_length = round_length
        self.oneshot = flag(oneshot, 'IMPHook: oneshot')
        self.masks_from = masks_from
        self.keep_prefixes = prefixes(keep_prefixes, 'IMPHook: keep_prefixes')
        self.reinit_prefixes = prefixes(reinit_prefixes, 'IMPHook: reinit_prefixes')
        self.offset = 0 if flag(train_dense_round, 'IMPHook: train_dense_round') else 1
        self.seed = seed
        self._seed_given = seed  # as configured: None takes the runner's (or a resumed) seed
        self.overwrite = flag(overwrite, 'IMPHook: overwrite')
        self.early_bird = early_bird
        self._bird = (EarlyBird(early_bird['threshold'], early_bird['window'])
                      if early_bird else None)
        # Search state (travels in checkpoints).
        self.round = 0
        self.records: List[Dict[str, Any]] = []
        self.round_started = time.time()
        self._rewind_state: Optional[Dict[str, torch.Tensor]] = None
        self._resume_ticket: Optional[Ticket] = None
        self._replayed: List[Tuple[float, str]] = []  # masks_from: (sparsity, digest) a round
        self._losses: deque = deque()  # training losses of the round's last epoch
        self._round_start = 0  # the epoch (iteration) the current round started at
        self._cut = 0  # epochs (iterations) early-bird rounds did not train
        self._stopped_early = False
        self._clear_first: List[str] = []  # an earlier search's files, deleted in before_train
        self._rewind_digest: Optional[str] = None  # of the rewind point, travels in checkpoints

    # Set-up ------------------------------------------------------------------------------------
    def before_run(self, runner: Any) -> None:
        """Check the config, the work dir and ``masks_from`` against the model, all before any
        training or writing; then stretch the train loop to all rounds."""
        self.out_dir = osp.join(runner.work_dir, 'imp')
        self.ticket_dir = osp.join(self.out_dir, 'tickets')
        model = unwrap_model(runner)
        selected = self.scope.select(model)  # raises now if the scope selects nothing
        self._clear_first = []
        if is_training(runner):
            for hook in runner.hooks:
                why = SEARCH_WIDE.get(type(hook).__name__)
                if why:
                    raise ValueError(f'IMPHook: {type(hook).__name__} {why}')
            resuming = resume_source(runner) is not None
            if not resuming:
                self._check_pretrained(runner)
            check_prefixes_match(model, 'IMPHook', self.keep_prefixes, self.reinit_prefixes)
            if self.masks_from:
                check_outside(self.masks_from, self.out_dir)
                self._replayed = check_replay(self.masks_from, self.rounds, self.rate, model,
                                              self.scope)
            else:
                check_schedule(self.rate, self.rounds,
                               {name: p.numel() for name, p in selected.items()}, self.mode,
                               self.oneshot)
            if self.seed is None:
                self.seed = int(runner.seed) if runner.seed is not None else 0
            self._stretch_loop(runner)
            self._losses = deque(maxlen=len(runner.train_loop.dataloader))
            if not resuming:  # deleted in before_train, once every check has passed
                restart = (first_round_files(self.rounds, self.offset, self.oneshot)
                           if resume_asked(runner) else frozenset())
                self._clear_first = check_work_dir(runner.work_dir, self.out_dir,
                                                   self.overwrite, restart)
        super().before_run(runner)

    def _check_pretrained(self, runner: Any) -> None:
        pretrained = has_pretrained_init(runner)
        if self.rewind == 'lt' and pretrained:
            raise ValueError(f"IMPHook: rewind='lt' restarts from the random initialisation, but "
                             f"the config loads pre-trained weights ({pretrained}); use "
                             "rewind='pt_trans' to rewind to them")
        if self.rewind == 'pt_trans' and not pretrained:
            raise ValueError("IMPHook: rewind='pt_trans' rewinds to pre-trained weights, but the "
                             "config has neither load_from nor a Pretrained init_cfg")

    def _stretch_loop(self, runner: Any) -> None:
        loop = runner.train_loop
        if isinstance(loop, EpochBasedTrainLoop):
            self.by_epoch = True
            self.length = self.round_length or loop.max_epochs
            loop._max_epochs = self.length * (self.rounds + 1 - self.offset)
            loop._max_iters = loop._max_epochs * len(loop.dataloader)
        elif isinstance(loop, IterBasedTrainLoop):
            self.by_epoch = False
            self.length = self.round_length or loop.max_iters
            loop._max_iters = self.length * (self.rounds + 1 - self.offset)
        else:
            raise TypeError(f'IMPHook needs an EpochBasedTrainLoop or IterBasedTrainLoop, '
                            f'got {type(loop).__name__}')
        if self.early_bird:
            needs = self.early_bird['interval'] * (self.early_bird['window'] + 1)
            if needs >= self.length:
                raise ValueError(
                    f"IMPHook: early_bird checks every {self.early_bird['interval']} {self.unit} "
                    f"and needs {self.early_bird['window']} distances, so {needs} {self.unit} "
                    f'before it can end a round, but a round is {self.length}: it would never '
                    'stop one early. Lower interval or window, or drop early_bird.')
        self._check_validation(runner, loop)
        if self.rewind == 'rewind_lt' and self.rewind_at >= self.length:
            raise ValueError(f'IMPHook: rewind_at={self.rewind_at} is not inside round 0 '
                             f'({self.length} {self.unit})')
        if self.rewind != 'rewind_lt' and self.rewind_at:
            # Not an error: `--cfg-options custom_hooks.0.rewind=lt` on a rewind_lt config must run.
            runner.logger.warning(f"IMPHook: rewind_at={self.rewind_at} is read by "
                                  f"rewind='rewind_lt' only; with rewind={self.rewind!r} it is "
                                  'ignored')
        pruning = (f'replaying the tickets of {self.masks_from} (sparsities '
                   + ', '.join(f'{100 * s:.2f}' for s, _ in self._replayed) + ' %)'
                   if self.masks_from else
                   f'rate {self.rate}, {self.criterion} {self.mode} pruning'
                   + (' in one shot' if self.oneshot else '')
                   + f'; final sparsity {100 * expected_sparsity(self.rate, self.rounds):.2f} %')
        runner.logger.info(f'IMPHook: {self.trained_rounds} trained rounds of {self.length} '
                           f'{self.unit}, rewind {self.rewind!r}, {pruning}')

    def _check_validation(self, runner: Any, loop: Any) -> None:
        """Every round validated on the same schedule, its own last epoch (iteration) included.
        MMEngine validates at multiples of ``val_interval`` (from ``val_begin``) counted over the
        whole stretched loop, so rounds must start at such multiples."""
        if getattr(runner, '_val_loop', None) is None:
            return
        every, begin = loop.val_interval, loop.val_begin
        if len(getattr(loop, 'dynamic_milestones', ())) > 1:
            raise ValueError(
                'IMPHook: train_cfg.dynamic_intervals change val_interval at milestones counted '
                'over the whole search: the rounds would be validated on different schedules. '
                'Drop dynamic_intervals for a search (one val_interval for every round).')
        fix = '(--cfg-options train_cfg.val_interval=N)'
        if self.length % every:
            raise ValueError(
                f'IMPHook: a round is {self.length} {self.unit}, but validation runs every {every} '
                f'(train_cfg.val_interval) counted over the whole search: each round would be '
                'validated at other points of its schedule, and not at its end. Set val_interval '
                f'to a divisor of {self.length} {fix}, or round_length to a multiple of {every}.')
        if begin > every:
            raise ValueError(
                f'IMPHook: train_cfg.val_begin={begin} counts over the whole search: round 0 would '
                f'skip validations before {self.unit[:-1]} {begin} that the later rounds make. '
                'Leave val_begin at 1 (validation starts at the first multiple of val_interval).')
        if self.early_bird and self.early_bird['interval'] % every:
            raise ValueError(
                f"IMPHook: early_bird interval={self.early_bird['interval']} is no multiple of "
                f'train_cfg.val_interval={every}: a round it ends would not be validated at its '
                'end, and the later rounds would leave the validation schedule. Use an interval '
                f'that is a multiple of {every}, or validate more often {fix}.')

    @property
    def unit(self) -> str:
        return 'epochs' if self.by_epoch else 'iterations'

    @property
    def trained_rounds(self) -> int:
        return self.rounds + 1 - self.offset

    def search_args(self) -> Dict[str, Any]:
        """The arguments that define the search, as they travel in checkpoints."""
        values = dict(self.__dict__, scope=self.scope.to_dict(),
                      round_length=f'{self.length} {self.unit}',
                      train_dense_round=not self.offset,
                      keep_prefixes=list(self.keep_prefixes),
                      reinit_prefixes=list(self.reinit_prefixes))
        return {key: values[key] for key in SEARCH_ARGS}

    def before_train(self, runner: Any) -> None:
        """Start round 0 (dense) unless a resumed checkpoint already set the search state."""
        if self._resumed:
            self.set_ticket(runner, self._resume_ticket)
            self._restart_accumulation(runner, runner.iter)
            self.restart_average(*self._round_origin(runner), rewind=False)
            super().before_train(runner)  # the validation the checkpoint was written before
            return
        if self._clear_first:  # overwrite=True: the weights are loaded, nothing failed
            why = ('overwrite=True' if self.overwrite else
                   '--resume found no checkpoint, the search starts again')
            runner.logger.info(f'IMPHook: {why}: deleting the earlier search in {self.out_dir} '
                               f'({len(self._clear_first)} files) and its checkpoints')
            clear_work_dir(runner.work_dir, self.out_dir)
            self._clear_first = []
        model = unwrap_model(runner)
        self.round, self.records = 0, []
        self.reset_best()
        self._losses.clear()
        self._round_start, self._cut, self._stopped_early = 0, 0, False
        if self._bird:
            self._bird.reset()
        self.round_started = time.time()
        self._restart_accumulation(runner, runner.iter)
        reset_optimizer(runner)  # the lr back to its initial value before the schedulers' build
        rebuild_param_schedulers(runner, self.length)  # round 0's default `end` too
        ticket = Ticket.dense(model, self.scope)
        self.set_ticket(runner, ticket)
        self._save_ticket(ticket, 0)
        starts_here = self.rewind in ('lt', 'pt_trans') or (
            self.rewind == 'rewind_lt' and self.rewind_at == 0)
        if starts_here:
            self._set_rewind_point(capture_state(model))
        if self.offset:  # prune the starting weights before any training
            self._finish_dense_round(runner)
            self._start_next_round(runner, 0)

    # Round boundaries --------------------------------------------------------------------------
    def before_train_epoch(self, runner: Any) -> None:
        if self.by_epoch:
            self._maybe_step(runner, runner.epoch)

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
        if not self.by_epoch:
            self._maybe_step(runner, runner.iter)

    def _maybe_step(self, runner: Any, step: int) -> None:
        if (self.rewind == 'rewind_lt' and self.round == 0 and step == self.rewind_at
                and self._rewind_state is None):
            self._set_rewind_point(capture_state(unwrap_model(runner)))
        trained = step - self._round_start
        if trained <= 0 or self.round >= self.rounds:
            return
        if trained < self.length and not self._settled(runner, trained):
            return
        if trained < self.length:  # an early-bird round: the rest of its schedule is cut
            self._stopped_early = True
            self._shorten(runner, self.length - trained)
        self._end_round(runner)
        self._start_next_round(runner, step)

    def _iters_per_step(self, runner: Any) -> int:
        """Iterations per epoch of an epoch-based loop (an iteration-based loop's step is one)."""
        return len(runner.train_loop.dataloader) if self.by_epoch else 1

    def _round_origin(self, runner: Any) -> Tuple[int, int]:
        """The iteration and the epoch (0 for iteration-based loops) the current round
        started at."""
        return (self._round_start * self._iters_per_step(runner),
                self._round_start if self.by_epoch else 0)

    def _restart_accumulation(self, runner: Any, iteration: int) -> None:
        """Gradient accumulation counted within the current round (see
        :func:`restart_accumulation`), at the run's ``iteration``."""
        restart_accumulation(runner, iteration - self._round_origin(runner)[0],
                             self.length * self._iters_per_step(runner))

    def _settled(self, runner: Any, trained: int) -> bool:
        """An early-bird check, when one is due: has the mask pruning would produce settled?"""
        if self._bird is None or trained % self.early_bird['interval']:
            return False
        if self.rewind == 'rewind_lt' and self._rewind_state is None:
            return False  # round 0 runs at least to its rewind point (rewind_at)
        if self.rewind == 'pt' and self.round == 0:
            return False  # its best weights are every round's rewind point: a full round 0
        candidate = self.ticket.prune(unwrap_model(runner), self.rate, self.criterion, self.mode)
        distance = self._bird.observe(candidate)
        decision = [self._bird.settled]
        broadcast_object_list(decision, src=0)  # every rank ends the round together
        if distance is not None:
            runner.logger.info(f'IMPHook: early-bird check of round {self.round} after {trained} '
                               f'{self.unit}: {100 * distance:.2f} % of the mask changed'
                               + ('; settled' if decision[0] else ''))
        return decision[0]

    def _comparable(self) -> bool:
        """Whether the round's accuracy is a full IMP round's: it trained its whole schedule,
        and, with ``rewind='lr'`` (each round starts from the last one's weights), so did every
        round before it."""
        if self._stopped_early:
            return False
        return self.rewind != 'lr' or all(r.get('comparable', True) for r in self.records
                                          if r['round'] < self.round)

    def _shorten(self, runner: Any, cut: int) -> None:
        """Take ``cut`` epochs (iterations) off the stretched train loop."""
        self._cut += cut
        loop = runner.train_loop
        if self.by_epoch:
            loop._max_epochs -= cut
            loop._max_iters = loop._max_epochs * len(loop.dataloader)
        else:
            loop._max_iters -= cut

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                         outputs: Any = None) -> None:
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        loss = outputs.get('loss') if isinstance(outputs, dict) else None
        if loss is not None:
            self._losses.append(float(loss))

    def after_train(self, runner: Any) -> None:
        if not self.records or self.records[-1]['round'] != self.round:
            self._end_round(runner)
        if is_main_process():
            runner.logger.info('IMP summary (test metric at best validation):\n'
                               + format_table({'imp': self.records}))

    def _end_round(self, runner: Any) -> None:
        """Record the round: best validation, test at the best weights, summary files."""
        if self.round == 0:
            self._finish_dense_round(runner)
        last = None
        if self._best_state is None:  # no validation (a self-supervised search): keep the last
            last = osp.join(self.out_dir, f'round_{self.round:02d}_last.pth')
            self._save_weights(last, capture_state(unwrap_model(runner)), dict(round=self.round))
        step = runner.epoch if self.by_epoch else runner.iter
        row = dict(round=self.round, **self.round_row(runner, self.round_started),
                   train_loss=(sum(self._losses) / len(self._losses) if self._losses else None),
                   trained=step - self._round_start, comparable=self._comparable(),
                   ticket=osp.relpath(self._ticket_path(self.round), runner.work_dir),
                   best_checkpoint=(osp.relpath(self._best_path(self.round), runner.work_dir)
                                    if self._best_state is not None else None),
                   last_checkpoint=osp.relpath(last, runner.work_dir) if last else None,
                   layers={r['name']: r['sparsity'] for r in self.ticket.layer_table()})
        if self._bird is not None:
            row['early_bird_distances'] = list(self._bird.distances)
        self.records = [r for r in self.records if r['round'] != self.round] + [row]
        done = self.round + 1 - self.offset
        mean = sum(r['wall_time_s'] for r in self.records) / len(self.records)
        eta = (f'; ETA {format_seconds(mean * (self.trained_rounds - done))}'
               if done < self.trained_rounds else '')
        runner.logger.info(f'IMPHook: round {self.round}/{self.rounds} done in '
                           f'{format_seconds(row["wall_time_s"])}: {progress_line(row)}{eta}')
        scalars = {'imp/sparsity': row['sparsity']}
        for key in ('best_val_metric', 'test_metric'):
            if row[key] is not None:
                scalars[f'imp/{key}'] = row[key]
        runner.visualizer.add_scalars(scalars, step=self.round)
        if is_main_process():
            write_summary(self.records, self.out_dir)
            plot_runs({'IMP': self.records}, osp.join(self.out_dir, 'sparsity_curve.png'),
                      title=f'{runner.experiment_name}')

    def _finish_dense_round(self, runner: Any) -> None:
        """End of round 0: fix the 'pt' rewind point and precompute one-shot masks."""
        model = unwrap_model(runner)
        if self.rewind == 'pt':
            state = self._best_state if self._best_state is not None else capture_state(model)
            self._set_rewind_point(state)
        if self.oneshot:
            dense = Ticket.dense(model, self.scope)
            for rnd in range(1, self.rounds + 1):
                ticket = dense.prune_to(model, expected_sparsity(self.rate, rnd), self.criterion,
                                        self.mode, seeded_generator(self.seed + rnd),
                                        notes=f'one-shot {self.criterion} to round {rnd}')
                ticket.card['round'] = rnd
                self._save_ticket(masks_equal_across_ranks(ticket), rnd)

    def _next_ticket(self, runner: Any) -> Ticket:
        rnd = self.round + 1
        if self.oneshot:
            barrier()
            return Ticket.load(self._ticket_path(rnd))
        if self.masks_from:
            ticket = Ticket.load(self._replay_path(rnd))
            ticket.card['notes'] = f'replayed from {self._replay_path(rnd)}'
            return ticket
        ticket = self.ticket.prune(unwrap_model(runner), self.rate, self.criterion, self.mode,
                                   seeded_generator(self.seed + rnd))
        return masks_equal_across_ranks(ticket)

    def _start_next_round(self, runner: Any, step: int) -> None:
        """Prune, rewind and reset what a new round (starting at ``step``) must reset."""
        model = unwrap_model(runner)
        ticket = self._next_ticket(runner)
        self.round += 1
        self._save_ticket(ticket, self.round)
        if self.rewind == 'reinit':
            kept = {k: v.detach().clone() for k, v in model.state_dict().items()
                    if k.startswith(self.keep_prefixes)}
            reinitialize(model, self.seed + 10_000 + self.round)
            model.load_state_dict(kept, strict=False)  # keep_prefixes: left as trained
        elif self.rewind != 'lr':
            restore_state(model, self._load_rewind_point(), self.keep_prefixes)
        if self.reinit_prefixes:
            reinitialize(model, self.seed + 20_000 + self.round, self.reinit_prefixes)
        self.set_ticket(runner, ticket)
        reset_optimizer(runner)
        rebuild_param_schedulers(runner, self.length)
        reset_best_checkpoint(runner)
        self.reset_best()
        self._losses.clear()
        self._round_start, self._stopped_early = step, False
        self._restart_accumulation(runner, runner.iter)
        self.restart_average(*self._round_origin(runner))
        if self._bird:
            self._bird.reset()
        self.round_started = time.time()
        runner.model.train()
        runner.logger.info(f'IMPHook: round {self.round} starts at sparsity '
                           f'{100 * ticket.sparsity:.2f} % (rewind {self.rewind!r}, ticket '
                           f'{ticket.digest()})')

    def new_best(self, runner: Any) -> None:
        """Keep the round's best weights as a file too (``round_XX_best.pth``)."""
        self._save_weights(self._best_path(self.round), self._best_state,
                           dict(self.best, round=self.round))

    def _save_weights(self, path: str, state: Dict[str, torch.Tensor], meta: dict) -> None:
        """An mmengine-loadable checkpoint of ``state`` that records the current ticket."""
        if is_main_process():
            buffer = io.BytesIO()
            torch.save({'state_dict': state, 'lth_mm_ticket': self.ticket.pack(),
                        'meta': dict(meta, sparsity=self.ticket.sparsity)}, buffer)
            atomic_write_bytes(path, buffer.getvalue())

    # Checkpoints -------------------------------------------------------------------------------
    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        super().before_save_checkpoint(runner, checkpoint)
        checkpoint[CKPT_IMP] = dict(
            args=self.search_args(), round=self.round, records=self.records, seed=self.seed,
            round_elapsed=time.time() - self.round_started, losses=list(self._losses),
            round_start=self._round_start, cut=self._cut, stopped_early=self._stopped_early,
            early_bird=self._bird.state_dict() if self._bird else None,
            replayed=[digest for _, digest in self._replayed],
            rewind_file=(osp.relpath(self._rewind_path(), runner.work_dir)
                         if self._rewind_state is not None else None),
            rewind_digest=self._rewind_digest)

    def resume_ticket(self, runner: Any, loaded: Optional[Ticket], checkpoint: dict) -> None:
        """Continue the search the checkpoint was written by, if this config defines the same."""
        state = checkpoint.get(CKPT_IMP)
        if state is None or 'args' not in state or loaded is None:
            raise ValueError(
                f'IMPHook: cannot resume from {self._source}: it holds no IMP search state (it '
                'was written by a run without IMPHook, or by lth_mm < 0.2). Start a new search '
                '(load_from=CHECKPOINT without --resume, in a new work dir) instead.')
        now = self.search_args()
        diffs = [f'{key}={state["args"].get(key)!r} (now {now[key]!r})' for key in SEARCH_ARGS
                 if state['args'].get(key) != now[key]]
        if diffs:
            raise ValueError(
                f'IMPHook: the search in {self._source} was started with other arguments: '
                + '; '.join(diffs) + '. Resume it with the arguments it was started with (repeat '
                'the --cfg-options of the first run), or start a new search in another work dir.')
        replayed = [digest for _, digest in self._replayed]
        if state.get('replayed') is not None and state['replayed'] != replayed:
            changed = [f'round_{rnd:02d}' for rnd, (was, now) in
                       enumerate(zip(state['replayed'], replayed), start=1) if was != now]
            raise ValueError(
                f'IMPHook: the tickets in masks_from={self.masks_from} changed since the search '
                f'in {self._source} started ({", ".join(changed)} differ): resuming would replay '
                'the masks of two searches. Put the tickets it started with back, or start the '
                'replay again in a new work dir.')
        if self._seed_given is not None and self._seed_given != state['seed']:
            raise ValueError(
                f'IMPHook: the search in {self._source} was started with seed={state["seed"]} '
                f'(now {self._seed_given}). Resume it with its seed, or start a new search in '
                'another work dir.')
        self.round, self.records, self.seed = state['round'], state['records'], state['seed']
        self.round_started = time.time() - state['round_elapsed']
        self._losses.extend(state['losses'])
        # A checkpoint of lth_mm before early-bird rounds: no round was cut, each started at
        # its place in the schedule, and no early-bird state was kept (the option was off).
        self._round_start = state.get('round_start',
                                      (state['round'] - self.offset) * self.length)
        self._stopped_early = state.get('stopped_early', False)
        self._shorten(runner, state.get('cut', 0))
        if self._bird:
            self._bird.load_state_dict(state['early_bird'])
        self._resume_ticket = loaded
        # The rewind point is stored once, beside the tickets; the checkpoint only says it exists.
        self._rewind_state = load_state(self._rewind_path()) if state['rewind_file'] else None
        self._rewind_digest = state.get('rewind_digest')
        if self._rewind_state is not None and self._rewind_digest is None:
            # A checkpoint of lth_mm before the digest: checked from now on.
            self._rewind_digest = _state_digest(self._rewind_state)
        elif self._rewind_state is not None \
                and _state_digest(self._rewind_state) != self._rewind_digest:
            raise ValueError(
                f'IMPHook: {self._rewind_path()} is not the rewind point the search in '
                f'{self._source} saved (its digest changed): the next rounds would rewind to '
                'other weights. Put back the search\'s own file, or start a new search.')
        runner.logger.info(f'IMPHook: resumed round {self.round} at sparsity '
                           f'{100 * loaded.sparsity:.2f} %')

    def loaded_ticket(self, runner: Any, loaded: Optional[Ticket]) -> None:
        """``tools/test.py`` evaluates under the checkpoint's ticket; a search starts dense."""
        if not self._training:
            if loaded is not None:
                self.set_ticket(runner, loaded)
            runner.logger.info(f'IMPHook: {self._source} records {self.describe(loaded)}; '
                               'evaluated with it')
            return
        if loaded is not None and loaded.sparsity > 0 and not self.allow_other_ticket:
            raise ValueError(
                f'IMPHook: load_from={self._source} was trained under '
                f'{self.describe(loaded)}; the search would start dense from these sparse '
                'weights. Load the dense weights you mean to search from, resume the search that '
                'wrote it (--resume), or set allow_other_ticket=True to start from them anyway.')

    # Files -------------------------------------------------------------------------------------
    def _ticket_path(self, rnd: int) -> str:
        return osp.join(self.ticket_dir, f'round_{rnd:02d}.safetensors')

    def _replay_path(self, rnd: int) -> str:
        return osp.join(self.masks_from, f'round_{rnd:02d}.safetensors')

    def _best_path(self, rnd: int) -> str:
        return osp.join(self.out_dir, f'round_{rnd:02d}_best.pth')

    def _rewind_path(self) -> str:
        return osp.join(self.out_dir, 'rewind.safetensors')

    def _save_ticket(self, ticket: Ticket, rnd: int) -> None:
        if is_main_process():
            ticket.save(self._ticket_path(rnd))

    def _set_rewind_point(self, state: Dict[str, torch.Tensor]) -> None:
        self._rewind_state = state
        self._rewind_digest = _state_digest(state)  # travels in checkpoints, checked on resume
        if is_main_process():
            save_state(self._rewind_path(), state)

    def _load_rewind_point(self) -> Dict[str, torch.Tensor]:
        if self._rewind_state is None:
            raise RuntimeError(f'IMPHook: no rewind point was captured for rewind={self.rewind!r}')
        return self._rewind_state
