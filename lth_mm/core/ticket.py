"""The ticket: a sparse mask over a network's weights."""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from .pruning import count_to_prune, prune_masks
from .scope import PruneScope
from .ticket_file import (
    TicketFileError,
    pack_masks,
    read_ticket_file,
    unpack_masks,
    write_ticket_file,
)
from .torch_file import UnsafeFileError, load_torch_file

__all__ = ['CHECKPOINT_KEY', 'MaskApplier', 'Ticket', 'TicketMismatchError', 'TicketOverlap',
           'weights_hash']

#: Where lth_mm's checkpoints record the ticket their weights were trained under
#: (:meth:`Ticket.pack`; :meth:`Ticket.read` reads it).
CHECKPOINT_KEY = 'lth_mm_ticket'
#: The type MMEngine's checkpoints hold beyond plain data (their message hub's buffers).
_HISTORY_BUFFER = 'mmengine.logging.history_buffer.HistoryBuffer'

PathLike = str | os.PathLike


class TicketMismatchError(ValueError):
    """A ticket does not fit a model: missing or unexpected keys, or shape mismatches."""


class TicketOverlap(NamedTuple):
    """Mask similarity between two tickets (intersection over union of the kept weights)."""

    overall: float
    per_layer: dict[str, float]


def weights_hash(params: Mapping[str, torch.Tensor]) -> str:
    """A short SHA-256 of named tensors (names, shapes and values), for provenance cards."""
    digest = hashlib.sha256()
    for name, tensor in params.items():
        data = tensor.detach().cpu().contiguous()
        digest.update(f'{name}:{tuple(data.shape)}:{data.dtype}'.encode())
        digest.update(data.view(-1).view(torch.uint8).numpy())  # hashed in place, no copy
    return digest.hexdigest()[:16]


def _version() -> str:
    from ..version import __version__
    return __version__


def _count(mask: torch.Tensor) -> int:
    """Number of True entries of a CPU boolean mask (numpy's popcount beats ``Tensor.sum``)."""
    return int(np.count_nonzero(mask.numpy()))


def _first(items: list[str], n: int = 5) -> str:
    return ', '.join(items[:n]) + (f' ... ({len(items)} in all)' if len(items) > n else '')


def _one_block(masks: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The masks copied into one contiguous ``bool`` block (each mask a view of its part).

    One allocation of exactly one byte per weight for the whole ticket, instead of one per
    tensor (a ResNet-50 ticket: 52 pieces of 4 KiB to 2.4 MiB, which the C allocator would place
    among the training's own allocations). ``MaskApplier`` multiplies by ``uint8`` views of these
    same bytes, so a run under a ticket holds the dense run's bytes plus this block, and nothing
    else (``tools/benchmarks/bench_imp_round.py``, live bytes: +22.4 MiB for 22.4 MiB of masks).
    """
    block = torch.empty(sum(m.numel() for m in masks.values()), dtype=torch.bool)
    out, start = {}, 0
    for name, mask in masks.items():
        view = block[start:start + mask.numel()].view(mask.shape)
        view.copy_(mask)
        out[name] = view
        start += mask.numel()
    return out


class MaskApplier:
    """Zeroes the pruned weights of one model in one pass per tensor; built by :meth:`Ticket.bind`.

    Each mask is held once, as one byte per weight on its parameter's device: a ``uint8`` view
    of the ticket's own ``bool`` mask when the parameter lives where the ticket does (the CPU; no
    copy at all), else one ``uint8`` copy on the parameter's device. A call multiplies each
    weight by its mask in place (``param.mul_(mask)``): one read of the weight and of the mask,
    one write, as fast as a float mask on the CPU (``bool`` operands take a slower casting path,
    ``uint8`` ones do not) and a quarter of its memory. No hooks, no copies, names unchanged.
    """

    def __init__(self, params: list[torch.Tensor], masks: list[torch.Tensor]) -> None:
        self.params = params
        self.masks = [_byte_mask(m, p.device) for p, m in zip(params, masks, strict=True)]
        # Bytes held beyond the given masks: 0 where a mask is a view of the given one.
        self.nbytes = sum(m.numel() for m, given in zip(self.masks, masks)
                          if m.data_ptr() != given.data_ptr())

    @torch.no_grad()
    def __call__(self) -> None:
        for param, mask in zip(self.params, self.masks):
            _mul_(param, mask)

    def hook_grads(self) -> list:
        """Zero the pruned weights' gradients during backward, before they are accumulated
        (as ``torch.nn.utils.prune``'s ``weight_orig * mask`` does), so whatever reads gradient
        norms before the step (clipping by norm, LARS) sees the ticket's own. Only trainable
        tensors with something pruned get a hook (a frozen one cannot take one). Returns the
        hooks' handles; ``handle.remove()`` undoes each."""
        return [param.register_hook(lambda grad, m=mask: grad * m)
                for param, mask in zip(self.params, self.masks)
                if param.requires_grad and not bool(mask.all())]


#: Elements per in-place multiplication on the CPU. There ``tensor.mul_(uint8 mask)`` first
#: casts the mask to the tensor's dtype (a temporary of 4 bytes per element, freed right after,
#: but kept by the allocator as resident memory); in slices of 2**20 the temporary stays at
#: 4 MiB for float32 and the speed is that of one whole-tensor call. Accelerators cast inside
#: the kernel, with no temporary: whole tensors there.
CPU_SLICE = 1 << 20


def _mul_(tensor: torch.Tensor, mask: torch.Tensor) -> None:
    """``tensor *= mask`` in place, in slices on the CPU (see :data:`CPU_SLICE`)."""
    if tensor.device.type != 'cpu' or tensor.numel() <= CPU_SLICE or not (
            tensor.is_contiguous() and mask.is_contiguous()):
        tensor.mul_(mask)
        return
    flat, flat_mask = tensor.view(-1), mask.view(-1)
    for start in range(0, flat.numel(), CPU_SLICE):
        flat[start:start + CPU_SLICE].mul_(flat_mask[start:start + CPU_SLICE])


def _byte_mask(mask: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``mask`` (0/1 values) as one byte per weight on ``device``: a ``uint8`` view of a
    contiguous ``bool`` mask already there, else a ``uint8`` copy."""
    if mask.dtype == torch.bool and mask.device == torch.device(device) and mask.is_contiguous():
        return mask.view(torch.uint8)
    return mask.to(device=device, dtype=torch.uint8).contiguous()


class Ticket(Mapping[str, torch.Tensor]):
    """A read-only mapping from parameter name to a boolean mask (True = kept).

    A ticket also carries the :class:`PruneScope` it was made with and a provenance card
    (``ticket.card``): lth_mm version, scope, criterion, mode, rate, round, sparsity, the model's
    class, a hash of the weights the mask was computed from, and free-form notes.

    Examples:
        >>> ticket = Ticket.dense(model)
        >>> for _ in range(3):
        ...     train(model)
        ...     ticket = ticket.prune(model, rate=0.2)     # 48.8 % sparse after 3 rounds
        ...     ticket.apply_(model)
        >>> ticket.save('round_03.safetensors')
    """

    def __init__(self, masks: Mapping[str, torch.Tensor], scope: PruneScope | None = None,
                 card: dict[str, Any] | None = None) -> None:
        self._masks: dict[str, torch.Tensor] = {}
        for name, mask in masks.items():
            if not isinstance(mask, torch.Tensor):
                raise TypeError(f'mask {name!r} is a {type(mask).__name__}, expected a tensor')
            if mask.dtype != torch.bool:
                values = mask.detach()
                if not bool(((values == 0) | (values == 1)).all()):
                    raise ValueError(f'mask {name!r} holds values other than 0 and 1')
                mask = values != 0
            self._masks[name] = mask.detach().to('cpu')
        self._masks = _one_block(self._masks)
        self.scope = scope
        self.card: dict[str, Any] = dict(card or {})
        self.card.setdefault('lth_mm_version', _version())
        self.card.setdefault('round', 0)
        if type(self.card['round']) is not int or self.card['round'] < 0:
            raise ValueError(f"the card's round must be an integer >= 0 (the IMP round of the "
                             f"ticket), got {self.card['round']!r}")
        self.card['sparsity'] = self.sparsity
        if scope is not None:
            self.card['scope'] = scope.to_dict()

    # Mapping interface ------------------------------------------------------------------------
    def __getitem__(self, name: str) -> torch.Tensor:
        return self._masks[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._masks)

    def __len__(self) -> int:
        return len(self._masks)

    def __repr__(self) -> str:
        return (f'Ticket({len(self)} masks, {self.numel} weights, sparsity={self.sparsity:.4f}, '
                f'round={self.card.get("round")})')

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ticket):
            return NotImplemented
        return (set(self) == set(other)
                and all(torch.equal(self[k], other[k]) for k in self))

    __hash__ = None  # mutable-free but compared by value, like a dict

    # Construction -----------------------------------------------------------------------------
    @classmethod
    def dense(cls, model: nn.Module, scope: PruneScope | dict[str, Any] | None = None,
              **card: Any) -> Ticket:
        """A ticket keeping every prunable weight of ``model`` (round 0)."""
        scope = PruneScope.from_value(scope)
        params = scope.select(model)
        masks = {name: torch.ones(p.shape, dtype=torch.bool) for name, p in params.items()}
        return cls(masks, scope, dict(card, model_class=type(model).__name__, round=0))

    @classmethod
    def load(cls, path: PathLike) -> Ticket:
        """Load a ticket file written by :meth:`save` (no unpickling; validated)."""
        masks, card = read_ticket_file(path)
        try:
            scope = PruneScope.from_value(card['scope']) if card.get('scope') else None
        except (TypeError, ValueError) as err:
            raise TicketFileError(f'{path}: invalid scope in the ticket card ({err})') from err
        try:
            return cls(masks, scope, card)
        except (TypeError, ValueError) as err:
            raise TicketFileError(f'{path}: invalid ticket card ({err})') from err

    @classmethod
    def from_torch_prune(cls, obj_or_path: Any, allow_pickle: bool = False) -> Ticket:
        """Read masks written by the original code (``*.weight_mask``); see :mod:`.torch_prune`.

        A path is read with ``torch.load(weights_only=True)`` and a small allow-list; a file that
        needs full unpickling is refused unless ``allow_pickle`` (trusted files only).
        """
        from .torch_prune import masks_from_torch_prune
        return cls(masks_from_torch_prune(obj_or_path, allow_pickle), None,
                   {'notes': 'from torch.nn.utils.prune'})

    @classmethod
    def read(cls, path: PathLike, allow_pickle: bool = False,
             extra_globals: list | tuple = ()) -> Ticket:
        """Read an lth_mm ticket file, the ticket an lth_mm checkpoint records, or a mask file of
        the original code (``*.weight_mask``).

        lth_mm files are recognised by their content, whatever their name. A PyTorch file is
        read as plain data (:func:`~.torch_file.load_torch_file`); when it records a ticket under
        :data:`CHECKPOINT_KEY` (the checkpoints of a run under ``TicketHook`` or ``IMPHook``, and
        IMP's ``round_XX_best.pth``), that ticket is returned, card and all (the record wins over
        any ``*.weight_mask`` tensors beside it); else its ``*.weight_mask`` tensors are read as
        by :meth:`from_torch_prune`.

        Args:
            path: The file.
            allow_pickle: Read a PyTorch file by full unpickling when it holds more than plain
                data. That runs code from the file: only for files you trust.
            extra_globals: More types the plain-data reader may build; an MMEngine checkpoint
                needs :func:`lth_mm.compat.checkpoint_globals` (its message hub).
        """
        try:
            return cls.load(path)
        except TicketFileError as err:
            if not err.torch_file:
                raise
        from .torch_prune import NoMasksError, masks_from_torch_prune

        where = os.fspath(path)
        try:
            obj = load_torch_file(path, allow_pickle=allow_pickle, extra_globals=extra_globals)
        except UnsafeFileError as err:
            if _HISTORY_BUFFER not in str(err) or extra_globals:
                raise
            raise UnsafeFileError(f'{err} An MMEngine checkpoint (its message hub) reads as plain '
                                  'data with extra_globals=lth_mm.compat.checkpoint_globals(), '
                                  'as lth_mm\'s tools and hooks read it.') from err
        if isinstance(obj, Mapping) and obj.get(CHECKPOINT_KEY) is not None:
            return cls.unpack(obj[CHECKPOINT_KEY], f'{where} ({CHECKPOINT_KEY!r})')
        try:
            masks = masks_from_torch_prune(obj, where=where)
        except NoMasksError as err:
            if isinstance(obj, Mapping) and {'meta', 'state_dict'} <= set(obj):
                raise NoMasksError(f'{where} is a checkpoint that records no ticket (no '
                                   f'{CHECKPOINT_KEY!r}: its run had no TicketHook or IMPHook) '
                                   'and holds no "*.weight_mask" tensors') from err
            raise
        return cls(masks, None, {'notes': f'from torch.nn.utils.prune file {where}'})

    # Properties -------------------------------------------------------------------------------
    @property
    def numel(self) -> int:
        """Number of weights the ticket covers."""
        return sum(m.numel() for m in self._masks.values())

    @property
    def kept(self) -> int:
        """Number of weights kept."""
        return sum(_count(m) for m in self._masks.values())

    @property
    def sparsity(self) -> float:
        """Fraction of the covered weights that are pruned."""
        numel = self.numel
        return 1.0 - self.kept / numel if numel else 0.0

    def layer_table(self) -> list[dict[str, Any]]:
        """Per-layer rows: name, shape, weights, kept, sparsity."""
        rows = []
        for name, mask in self._masks.items():
            kept = _count(mask)
            rows.append({'name': name, 'shape': list(mask.shape), 'numel': mask.numel(),
                         'kept': kept,
                         'sparsity': 1.0 - kept / mask.numel() if mask.numel() else 0.0})
        return rows

    # Checks -----------------------------------------------------------------------------------
    def check(self, model: nn.Module, strict: bool = True) -> dict[str, nn.Parameter]:
        """Return the model's parameters this ticket masks, or raise if the ticket does not fit.

        Args:
            model: The model.
            strict: Also fail when the ticket's scope selects parameters of ``model`` that the
                ticket has no mask for (only when the ticket knows its scope).

        Raises:
            TicketMismatchError: listing the first keys missing, unexpected and mis-shaped.
        """
        params = dict(model.named_parameters())
        unexpected = [k for k in self._masks if k not in params]
        shapes = [f'{k}: ticket {list(m.shape)} vs model {list(params[k].shape)}'
                  for k, m in self._masks.items() if k in params and m.shape != params[k].shape]
        missing: list[str] = []
        if strict and self.scope is not None:
            try:
                missing = [k for k in self.scope.select(model) if k not in self._masks]
            except ValueError:
                missing = []
        if unexpected or shapes or missing:
            parts = []
            if unexpected:
                parts.append(f'keys not in the model: {_first(unexpected)}')
            if missing:
                parts.append(f'prunable model keys without mask: {_first(missing)}')
            if shapes:
                parts.append(f'shape mismatches: {_first(shapes, 3)}')
            sample = _first(list(params), 3)
            raise TicketMismatchError(
                f'ticket does not fit {type(model).__name__} ({"; ".join(parts)}). The model\'s '
                f'parameters look like: {sample}. Map the keys first (lth_mm.core.keymap, '
                'Ticket.rename / Ticket.add_prefix) or use the ticket made for this model.')
        return {k: params[k] for k in self._masks}

    def digest(self) -> str:
        """A short SHA-256 of the masks (names, shapes and bits): equal digests, equal tickets."""
        digest = hashlib.sha256()
        for name, mask in self._masks.items():
            digest.update(f'{name}:{tuple(mask.shape)}'.encode())
            digest.update(mask.numpy().tobytes())
        return digest.hexdigest()[:16]

    # Pruning ----------------------------------------------------------------------------------
    def prune(self, model: nn.Module, rate: float, criterion: str = 'magnitude',
              mode: str = 'global', generator: torch.Generator | None = None,
              notes: str | None = None) -> Ticket:
        """Prune ``rate`` of the weights still alive, scored on ``model``'s current weights.

        Args:
            model: The model whose weights are scored (must fit the ticket).
            rate: Fraction of the alive weights to remove, in (0, 1). After k rounds of rate r
                the sparsity is ``1 - (1 - r) ** k``.
            criterion: ``'magnitude'`` (global L1, as the paper) or ``'random'``.
            mode: ``'global'`` or ``'layerwise'``.
            generator: Random source for ``criterion='random'``.
            notes: Free-form notes for the card.

        Returns:
            A new ticket, one round further.
        """
        params = self.check(model)
        names = list(self._masks)
        new_masks = prune_masks([params[n] for n in names], [self._masks[n] for n in names],
                                rate, criterion, mode, generator)
        card = dict(self.card, criterion=criterion, mode=mode, rate=rate,
                    round=int(self.card.get('round', 0)) + 1, model_class=type(model).__name__,
                    weights_hash=weights_hash(params))
        if notes is not None:
            card['notes'] = notes
        return Ticket(dict(zip(names, new_masks, strict=True)), self.scope, card)

    def prune_to(self, model: nn.Module, sparsity: float, criterion: str = 'magnitude',
                 mode: str = 'global', generator: torch.Generator | None = None,
                 notes: str | None = None) -> Ticket:
        """Prune in one shot to a target ``sparsity`` (OMP and one-shot random baselines).

        The rate is chosen so that ``round(sparsity * numel)`` weights end up pruned overall
        (``mode='global'``) or per layer (``'layerwise'``, exact when the layers share one
        sparsity, as in a dense ticket).
        """
        current = self.sparsity
        if not current < sparsity < 1.0:
            raise ValueError(f'target sparsity must be in ({current:.6f}, 1), got {sparsity}')
        if mode == 'global':
            alive = self.kept
            target = count_to_prune(sparsity, self.numel) - (self.numel - alive)
            if not 0 < target < alive:
                raise ValueError(f'target sparsity {sparsity} prunes {target} of the {alive} '
                                 'alive weights: nothing to prune or everything pruned')
            rate = target / alive
        else:
            rate = 1.0 - (1.0 - sparsity) / (1.0 - current)
        ticket = self.prune(model, rate, criterion, mode, generator, notes)
        ticket.card['target_sparsity'] = sparsity
        return ticket

    def random_like(self, generator: torch.Generator | None = None,
                    notes: str | None = None) -> Ticket:
        """A random ticket over the same weights with exactly as many kept (global random).

        The baseline "random ticket of the same sparsity": every weight the ticket covers is
        equally likely to be kept, so the layers' sparsities come out about uniform.
        """
        sizes = [m.numel() for m in self._masks.values()]
        keep = torch.zeros(sum(sizes), dtype=torch.bool)
        keep[torch.randperm(keep.numel(), generator=generator)[:self.kept]] = True
        masks = {name: part.view(mask.shape) for (name, mask), part
                 in zip(self._masks.items(), keep.split(sizes), strict=True)}
        card = dict(self.card, criterion='random', mode='global', reversed=False,
                    notes=notes or f'random ticket with the sparsity of {self.digest()}')
        return Ticket(masks, self.scope, card)

    # Application ------------------------------------------------------------------------------
    def bind(self, model: nn.Module) -> MaskApplier:
        """Check the ticket against ``model`` and return a reusable :class:`MaskApplier`."""
        params = self.check(model, strict=False)
        return MaskApplier([params[n] for n in self._masks], list(self._masks.values()))

    @torch.no_grad()
    def apply_(self, model: nn.Module) -> nn.Module:
        """Zero the pruned weights of ``model`` in place; returns ``model``.

        Same arithmetic as :class:`MaskApplier` (multiplication by the mask, one byte per
        weight), one tensor at a time, so no full set of masks is ever copied at once.
        """
        params = self.check(model, strict=False)
        for name, mask in self._masks.items():
            param = params[name]
            _mul_(param.data, _byte_mask(mask, param.device))
        return model

    # Algebra ----------------------------------------------------------------------------------
    def _aligned(self, other: Ticket) -> None:
        if set(self) != set(other):
            a, b = sorted(set(self) - set(other)), sorted(set(other) - set(self))
            raise TicketMismatchError(f'tickets cover different keys: only in the first: '
                                      f'{_first(a)}; only in the second: {_first(b)}')
        bad = [k for k in self if self[k].shape != other[k].shape]
        if bad:
            raise TicketMismatchError(f'tickets differ in shape at: {_first(bad)}')

    def _combine(self, other: Ticket, op: Callable, notes: str) -> Ticket:
        self._aligned(other)
        return Ticket({k: op(self[k], other[k]) for k in self}, self.scope,
                      dict(self.card, notes=notes))

    def __and__(self, other: Ticket) -> Ticket:
        return self._combine(other, torch.logical_and, 'intersection of two tickets')

    def __or__(self, other: Ticket) -> Ticket:
        return self._combine(other, torch.logical_or, 'union of two tickets')

    def reverse(self) -> Ticket:
        """The complementary ticket (``1 - mask``): keeps exactly the pruned weights."""
        card = dict(self.card, reversed=not self.card.get('reversed', False))
        return Ticket({k: ~m for k, m in self._masks.items()}, self.scope, card)

    def overlap(self, other: Ticket) -> TicketOverlap:
        """Intersection over union of the kept weights, overall and per layer."""
        self._aligned(other)
        per_layer, inter_total, union_total = {}, 0, 0
        for k in self:
            inter = _count(self[k] & other[k])
            union = _count(self[k] | other[k])
            per_layer[k] = inter / union if union else 1.0
            inter_total, union_total = inter_total + inter, union_total + union
        return TicketOverlap(inter_total / union_total if union_total else 1.0, per_layer)

    def distance(self, other: Ticket) -> float:
        """The fraction of the covered weights on which the two masks differ (Hamming distance
        over the number of weights; 0 for equal tickets, 1 for a ticket and its reverse)."""
        self._aligned(other)
        numel = self.numel
        differ = sum(_count(self[k] ^ other[k]) for k in self)
        return differ / numel if numel else 0.0

    def rename(self, fn: Callable[[str], str | None] | Mapping[str, str]) -> Ticket:
        """Rename keys by a function or mapping; a function returning None drops the key."""
        masks: dict[str, torch.Tensor] = {}
        for name, mask in self._masks.items():
            new = fn.get(name, name) if isinstance(fn, Mapping) else fn(name)
            if new is None:
                continue
            if new in masks:
                raise ValueError(f'rename maps two masks onto {new!r}')
            masks[new] = mask
        return Ticket(masks, None, dict(self.card, scope=None))

    def add_prefix(self, prefix: str) -> Ticket:
        """Prepend ``prefix`` (``'backbone.'``) to every key."""
        return self.rename(lambda k: prefix + k)

    def strip_prefix(self, prefix: str) -> Ticket:
        """Remove ``prefix`` from the keys that have it; keys without it are dropped."""
        return self.rename(lambda k: k[len(prefix):] if k.startswith(prefix) else None)

    # Files ------------------------------------------------------------------------------------
    def save(self, path: PathLike) -> None:
        """Write the ticket atomically to a safetensors file (bit-packed masks, card)."""
        write_ticket_file(path, self._masks, self.card)

    def to_torch_prune(self, prefix: str = '') -> dict[str, torch.Tensor]:
        """The masks as the original code stores them: ``{prefix + '<mod>.weight_mask': float}``."""
        from .torch_prune import masks_to_torch_prune
        return masks_to_torch_prune(self._masks, prefix)

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Masks and card, for sending a ticket to other processes (see :meth:`from_state`)."""
        return dict(self._masks), dict(self.card)

    @classmethod
    def from_state(cls, masks: Mapping[str, torch.Tensor], card: dict[str, Any]) -> Ticket:
        """Inverse of :meth:`state_tensors`."""
        scope = PruneScope.from_value(card['scope']) if card.get('scope') else None
        return cls(masks, scope, card)

    def pack(self) -> dict[str, Any]:
        """The ticket as plain data for a checkpoint: bit-packed masks, shapes and card (about 1
        bit per weight; ``torch.load(weights_only=True)`` reads it). See :meth:`unpack`."""
        return pack_masks(self._masks, self.card)

    @classmethod
    def unpack(cls, state: Any, where: Any = 'checkpoint') -> Ticket:
        """Inverse of :meth:`pack`, validated like a ticket file (``where`` names the source)."""
        masks, card = unpack_masks(state, where)
        try:
            return cls.from_state(masks, card)
        except (TypeError, ValueError) as err:
            raise TicketFileError(f'{where}: invalid ticket record ({err})') from err
