"""Small helpers that reach into an MMEngine Runner at a pruning-round boundary."""
from __future__ import annotations

import contextlib
import copy
import gc
import glob
import os.path as osp
import random
from typing import Any, Callable, Dict, Iterator, Optional, Set

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.dist import get_world_size
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmengine.runner import BaseLoop, EpochBasedTrainLoop, IterBasedTrainLoop
from torch import nn

__all__ = ['unwrap_model', 'reset_optimizer', 'rebuild_param_schedulers', 'reset_best_checkpoint',
           'end_distributed', 'gradient_norm_readers', 'has_pretrained_init', 'has_test',
           'is_training', 'latest_checkpoint', 'metric_names', 'preserved_rng', 'resume_asked',
           'resume_source', 'run_main', 'RESUME_FOUND_NOTHING', 'validation_due', 'CfgOptions']

#: Optimizers whose step for one weight reads the gradients of others (lowercased class names,
#: subclasses included): the trust ratios of LARS and Lamb (MMPretrain's ``LARS`` and ``Lamb``,
#: timm's ``Lars``, apex's ``FusedLAMB``) and Adafactor's factored second moments (torch's, as
#: MMEngine's ``TorchAdafactor``, and transformers'), so pruned gradients would move kept weights.
NORM_OPTIMIZERS = ('lars', 'lamb', 'fusedlamb', 'adafactor')


class CfgOptions(DictAction):
    """MMEngine's ``--cfg-options`` action, except that a single value keeps its spaces.

    MMEngine's ``DictAction`` deletes every space of a value before parsing it, so
    ``custom_hooks.0.ticket=/data/my runs/round_02.safetensors`` named ``/data/myruns/...``.
    Here a value with no comma or brackets is one value, spaces kept; lists (``a,b``, ``[a, b]``,
    ``(1, 2)``) parse as MMEngine parses them.
    """

    @staticmethod
    def _parse_iterable(val: str) -> Any:
        text = val.strip('\'"')
        if not any(char in text for char in ',[]()'):
            return DictAction._parse_int_float_bool(text.strip())
        return DictAction._parse_iterable(val)


def unwrap_model(runner: Any) -> nn.Module:
    """The runner's model without its DDP / FSDP wrapper."""
    return runner.model.module if is_model_wrapper(runner.model) else runner.model


def _wrappers(runner: Any) -> list:
    wrapper = runner.optim_wrapper
    return list(wrapper.values()) if isinstance(wrapper, OptimWrapperDict) else [wrapper]


def _optimizers(runner: Any) -> list:
    return [w.optimizer for w in _wrappers(runner)]


def end_distributed(finished: bool = True) -> None:
    """Destroy the process groups if they were started (``--launcher pytorch``/``slurm``).

    Left to the interpreter's exit, gloo's threads can abort a process that has finished all its
    work ("terminate called without an active exception", exit code -6), and the launcher then
    fails the whole run. So: when every rank ``finished``, wait for all of them (a barrier: no
    rank tears down while another still talks to it; skipped after an error, where a peer may
    never arrive); free what still holds the group (the DDP wrapper's reducer, in reference
    cycles) while the interpreter is whole; destroy the groups.
    """
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return
    if finished:
        torch.distributed.barrier()
    gc.collect()
    torch.distributed.destroy_process_group()
    gc.collect()


def run_main(main: Callable[[], Any]) -> None:
    """Run a tool's ``main`` and end the distributed run after it, telling
    :func:`end_distributed` whether it finished (tools/train.py and tools/test.py)."""
    finished = False
    try:
        main()
        finished = True
    finally:
        end_distributed(finished)


def gradient_norm_readers(runner: Any) -> list:
    """What in the runner's optimizer wrappers reads a norm over whole gradients before the
    step: clipping by norm (``clip_grad=dict(max_norm=...)``; clipping by value is elementwise
    and not listed) and the :data:`NORM_OPTIMIZERS` (DeepSpeed's wrapper, which clips inside
    its engine, is not seen). Empty when there is no built optimizer
    wrapper (a test run)."""
    from mmengine.optim import OptimWrapper

    wrapper = getattr(runner, 'optim_wrapper', None)
    wrappers = wrapper.values() if isinstance(wrapper, OptimWrapperDict) else [wrapper]
    found = []
    for item in wrappers:
        if not isinstance(item, OptimWrapper):
            continue
        if item.clip_grad_kwargs and getattr(item, 'grad_name', None) == 'grad_norm':
            found.append(f'clip_grad={dict(item.clip_grad_kwargs)}')
        optimizer = item.optimizer
        optimizer = getattr(optimizer, 'optim', optimizer)  # ZeroRedundancyOptimizer's inner one
        names = [cls.__name__ for cls in type(optimizer).__mro__]
        if any(name.lower() in NORM_OPTIMIZERS for name in names):
            found.append(f'the {names[0]} optimizer')
    return found


def reset_optimizer(runner: Any) -> None:
    """Drop the optimizer state (momentum, Adam moments) and restore every group's initial values.

    ``initial_<name>`` keys are written by MMEngine's parameter schedulers when they are first
    built; restoring them gives the new round the same starting LR (and momentum) as round 0.
    """
    for optimizer in _optimizers(runner):
        optimizer.state.clear()
        for group in optimizer.param_groups:
            for key in [k for k in group if k.startswith('initial_')]:
                group[key[len('initial_'):]] = copy.deepcopy(group[key])


def restart_accumulation(runner: Any, done: int, total: int) -> None:
    """Count gradient accumulation (``accumulative_counts``) within a round of ``total``
    iterations, ``done`` of them trained, as in a run of its own: its chunks start with the
    round, and its last iteration steps what it accumulated (with the loss scaled as MMEngine does
    for a short last chunk). The Runner counts over the whole stretched loop instead
    (``initialize_count_status`` once), so one round's unfinished chunk would be applied in the
    next round. At a round's start (``done == 0``) the gradients left from the previous round are
    dropped."""
    for item in _wrappers(runner):
        if not hasattr(item, '_accumulative_counts'):
            continue  # a wrapper that does not accumulate (DeepSpeed, ColossalAI)
        if done == 0:
            item.zero_grad()
        # initialize_count_status(model, done, total) without its log lines, once per round
        item._inner_count, item._max_counts = done, total
        item._remainder_counts = total % item._accumulative_counts


def rebuild_param_schedulers(runner: Any, length: Optional[int] = None) -> None:
    """Build the config's parameter schedulers again, so they restart from their first step.
    ``length``: one round's epochs (iterations), what a scheduler without ``end`` defaults to
    (MMEngine would take the stretched loop's whole length)."""
    cfg = runner.cfg.get('param_scheduler')
    if cfg is None or runner.param_schedulers is None:
        return
    loop = runner.train_loop
    saved = loop._max_epochs if hasattr(loop, '_max_epochs') else None, loop._max_iters
    if length is not None:
        if isinstance(loop, EpochBasedTrainLoop):
            loop._max_epochs, loop._max_iters = length, length * len(loop.dataloader)
        else:
            loop._max_iters = length
    try:
        runner.param_schedulers = runner.build_param_scheduler(copy.deepcopy(cfg))
    finally:
        if saved[0] is not None:
            loop._max_epochs = saved[0]
        loop._max_iters = saved[1]


def reset_best_checkpoint(runner: Any) -> None:
    """Make :class:`CheckpointHook` track the best checkpoint of the new round afresh.

    The previous round's best checkpoint file is kept on disk (it is no longer the hook's to
    delete), and the best score is forgotten.
    """
    for hook in runner.hooks:
        if isinstance(hook, CheckpointHook):
            if getattr(hook, 'best_ckpt_path', None) is not None:
                hook.best_ckpt_path = None
            if getattr(hook, 'best_ckpt_path_dict', None):
                hook.best_ckpt_path_dict = {k: None for k in hook.best_ckpt_path_dict}
    info = runner.message_hub.runtime_info
    for key in [k for k in info if k.startswith('best_score') or k.startswith('best_ckpt')]:
        info.pop(key)


def has_pretrained_init(runner: Any) -> Optional[str]:
    """Where pre-trained weights come from (``load_from`` or a ``Pretrained`` init_cfg), or None."""
    if runner.cfg.get('load_from'):
        return f'load_from={runner.cfg.load_from}'
    found: Dict[str, Any] = {}

    def visit(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if node.get('type') in ('Pretrained', 'MappedPretrained') and node.get('checkpoint'):
                found.setdefault('path', f'{path}.init_cfg')
            for key, value in node.items():
                visit(value, f'{path}.{key}')
        elif isinstance(node, (list, tuple)):
            for index, value in enumerate(node):
                visit(value, f'{path}[{index}]')

    visit(runner.cfg.get('model'), 'model')
    return found.get('path')


def seeded_generator(seed: int) -> torch.Generator:
    """A CPU generator for reproducible random pruning and re-initialisation."""
    return torch.Generator().manual_seed(int(seed))


def is_training(runner: Any) -> bool:
    """True inside ``runner.train()``, False in ``test()`` / ``val()``: the train loop is built
    and has iterations left (``test()`` after a finished ``train()`` on the same runner finds it
    built but done)."""
    loop = getattr(runner, '_train_loop', None)
    return isinstance(loop, BaseLoop) and loop.iter < loop.max_iters


def resume_source(runner: Any) -> Optional[str]:
    """The checkpoint ``runner.train()`` will resume from, or None for a new run.

    ``resume`` with ``load_from`` resumes that file; ``resume`` alone the work dir's latest
    checkpoint (:func:`latest_checkpoint`), if there is one, which is then pinned as the
    Runner's ``load_from``: MMEngine's own search reads only ``last_checkpoint``, and where a
    kill lost that file it would start a new run over the search this hook goes on with.
    """
    if not runner._resume:
        return None
    if runner._load_from is None:
        runner._load_from = latest_checkpoint(runner.work_dir)
    return runner._load_from


#: Runner attribute ``tools/train.py`` sets when ``--resume`` found no checkpoint and starts a
#: new run (not a config key: mmengine dumps the config into the work dir, and a run started
#: from that dump would inherit it).
RESUME_FOUND_NOTHING = 'lth_mm_resume_found_nothing'


def resume_asked(runner: Any) -> bool:
    """Whether the user asked to resume (``resume=True``, or ``tools/train.py --resume``), even
    when there was nothing to resume."""
    return bool(runner._resume) or bool(getattr(runner, RESUME_FOUND_NOTHING, False))


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to resume in ``work_dir``: mmengine's ``last_checkpoint``, or the newest
    ``epoch_*.pth`` / ``iter_*.pth`` when that file is missing, empty or names a missing file.

    mmengine rewrites ``last_checkpoint`` in place, so a kill at that moment leaves it empty.
    """
    if not osp.isdir(work_dir):
        return None
    record = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(record):
        with open(record) as handle:
            named = handle.read().strip()
        if named and osp.isfile(named):
            return named
    found = glob.glob(osp.join(work_dir, 'epoch_*.pth')) + glob.glob(
        osp.join(work_dir, 'iter_*.pth'))
    return max(found, key=osp.getmtime) if found else None


def has_test(runner: Any) -> bool:
    """The config has a test set and evaluator."""
    return (runner.cfg.get('test_dataloader') is not None
            and runner.cfg.get('test_evaluator') is not None)


def validation_due(runner: Any) -> bool:
    """Whether the train loop validates at its current epoch (iteration), as its ``run`` decides.

    MMEngine's ``CheckpointHook`` saves at the end of an epoch before that epoch's validation, so
    a run resumed from the checkpoint would skip it; this tells whether it was due.
    """
    loop = runner.train_loop
    if getattr(runner, '_val_loop', None) is None:
        return False
    if isinstance(loop, EpochBasedTrainLoop):
        step, total = loop.epoch, loop.max_epochs
    elif isinstance(loop, IterBasedTrainLoop):
        step, total = loop.iter, loop.max_iters
    else:
        return False
    loop._decide_current_val_interval()
    return step > 0 and step >= loop.val_begin and (step % loop.val_interval == 0
                                                      or step == total)


@contextlib.contextmanager
def preserved_rng() -> Iterator[None]:
    """Leave the Python, NumPy and torch random states as they were (work done inside does not
    change what the run draws afterwards)."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)


def metric_names(runner: Any) -> Optional[Set[str]]:
    """The metric names the validation returns, found by evaluating one validation batch.

    Costs one validation batch; the model's mode and the random states are left as they were.
    Returns None when there is no validation, or when the evaluator cannot evaluate one batch (the
    names are then checked at the first validation).
    """
    from mmengine.runner.loops import _parse_losses, _update_losses

    loop = runner.val_loop
    if loop is None:
        return None
    model = runner.model
    was_training = model.training
    try:
        with preserved_rng(), torch.no_grad():
            model.eval()
            batch = next(iter(loop.dataloader))
            outputs = model.val_step(batch)
            outputs, losses = _update_losses(outputs, {})
            loop.evaluator.process(data_samples=outputs, data_batch=batch)
            metrics = loop.evaluator.evaluate(len(outputs) * get_world_size())
            if losses:
                metrics.update(_parse_losses(losses, 'val'))
    except Exception as err:  # noqa: BLE001 - a metric may need more than one batch
        runner.logger.warning(f'could not evaluate one validation batch to check the metric '
                              f'name ({type(err).__name__}: {err}); it is checked at the first '
                              'validation')
        return None
    finally:
        model.train(was_training)
    return set(metrics)
