"""The ticket: a sparse mask over a network's weights."""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from .bits import all_kept
from .bits import count as count_bits
from .bits import mul_ as mul_bits_
from .bits import pack as pack_bits
from .bits import unpack as unpack_bits
from .pruning import count_to_prune, prune_masks
from .scope import PruneScope
from .ticket_file import TicketFileError, read_ticket_bits, write_ticket_bits
from .ticket_file import pack_bits as pack_bits_record
from .ticket_file import unpack_bits as unpack_bits_record
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


def _first(items: list[str], n: int = 5) -> str:
    return ', '.join(items[:n]) + (f' ... ({len(items)} in all)' if len(items) > n else '')


def _one_block(bits: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """Packed masks copied into one contiguous ``uint8`` block (each mask a view of its part).

    One allocation of one bit per weight (and at most 7 bits of padding per tensor) for the whole
    ticket, instead of one per tensor. ``MaskApplier`` reads these same bytes on the CPU, so a run
    under a ticket holds the dense run's bytes plus this block and one slice being applied
    (``tools/benchmarks/bench_imp_round.py``, live bytes).
    """
    parts = {name: np.asarray(packed).reshape(-1) for name, packed in bits.items()}
    block = torch.from_numpy(np.empty(sum(p.size for p in parts.values()), dtype=np.uint8))
    out, start = {}, 0
    for name, part in parts.items():
        view = block[start:start + part.size]
        view.numpy()[:] = part
        out[name] = view
        start += part.size
    return out


class MaskApplier:
    """Zeroes the pruned weights of one model in one pass per tensor; built by :meth:`Ticket.bind`.

    Each mask is held once, as one bit per weight on its parameter's device: the ticket's own
    packed bytes when the parameter lives where the ticket does (the CPU; no copy at all), else
    one copy of them on the parameter's device. A call multiplies each weight by its mask in
    place, unpacking it a slice at a time into a small temporary (:func:`.bits.mul_`): one read
    of the weight and of the bits, one write, the same arithmetic as a multiplication by a float
    mask, at 1/32 of its memory. No hooks, no copies, names unchanged.

    Args:
        params: The tensors to mask.
        bits: Their masks packed by :func:`.bits.pack` (flat ``uint8``, ``ceil(n / 8)`` bytes).
    """

    def __init__(self, params: list[torch.Tensor], bits: list[torch.Tensor]) -> None:
        self.params = params
        for param, packed in zip(params, bits, strict=True):
            if packed.dtype != torch.uint8 or packed.dim() != 1 or \
                    packed.numel() != (param.numel() + 7) // 8:
                raise ValueError(f'MaskApplier takes masks packed by lth_mm.core.bits.pack '
                                 f'({(param.numel() + 7) // 8} uint8 bytes for a tensor of '
                                 f'shape {list(param.shape)}), got {packed.dtype} of shape '
                                 f'{list(packed.shape)}')
        self.masks = [b if b.device == p.device else b.to(p.device)
                      for p, b in zip(params, bits)]
        # Bytes held beyond the given masks: 0 where a mask is the given one.
        self.nbytes = sum(m.numel() for m, given in zip(self.masks, bits) if m is not given)

    @torch.no_grad()
    def __call__(self) -> None:
        for param, mask in zip(self.params, self.masks):
            mul_bits_(param, mask)

    def hook_grads(self) -> list:
        """Zero the pruned weights' gradients during backward, before they are accumulated
        (as ``torch.nn.utils.prune``'s ``weight_orig * mask`` does), so whatever reads gradient
        norms before the step (clipping by norm, LARS) sees the ticket's own. Only trainable
        tensors with something pruned get a hook (a frozen one cannot take one). Returns the
        hooks' handles; ``handle.remove()`` undoes each."""
        return [param.register_hook(lambda grad, m=mask: _masked_grad(grad, m))
                for param, mask in zip(self.params, self.masks)
                if param.requires_grad and not all_kept(mask, param.numel())]


def _masked_grad(grad: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """A new gradient, ``grad`` times the mask packed in ``bits``: a copy masked a slice at a
    time; an autograd product (a graph for higher-order gradients) when ``grad`` requires
    grad, and a whole unpacked mask for sparse gradients and other layouts (channels_last)."""
    if grad.requires_grad or grad.layout != torch.strided or not grad.is_contiguous():
        return grad * unpack_bits(bits, grad.shape).view(torch.uint8)
    out = grad.clone()
    mul_bits_(out, bits)
    return out


class Ticket(Mapping[str, torch.Tensor]):
    """A read-only mapping from parameter name to a boolean mask (True = kept).

    The masks are held bit-packed, one bit per weight in one block (:mod:`.bits`); reading one
    (``ticket[name]``, ``.values()``, ``.items()``) unpacks it into a new ``bool`` tensor.

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
        bits, shapes = {}, {}
        for name, mask in masks.items():
            if not isinstance(mask, torch.Tensor):
                raise TypeError(f'mask {name!r} is a {type(mask).__name__}, expected a tensor')
            if mask.dtype != torch.bool:
                values = mask.detach()
                if not bool(((values == 0) | (values == 1)).all()):
                    raise ValueError(f'mask {name!r} holds values other than 0 and 1')
                mask = values != 0
            bits[name], shapes[name] = pack_bits(mask), mask.shape
        self._init(bits, shapes, scope, card)

    @classmethod
    def _from_bits(cls, bits: Mapping[str, Any], shapes: Mapping[str, Any],
                   scope: PruneScope | None = None, card: dict[str, Any] | None = None) -> Ticket:
        """A ticket from masks already packed (:func:`.bits.pack`, sizes and padding checked)."""
        ticket = cls.__new__(cls)
        ticket._init(bits, shapes, scope, card)
        return ticket

    def _init(self, bits: Mapping[str, Any], shapes: Mapping[str, Any],
              scope: PruneScope | None, card: dict[str, Any] | None) -> None:
        self._shapes: dict[str, torch.Size] = {name: torch.Size(shapes[name]) for name in bits}
        self._bits: dict[str, torch.Tensor] = _one_block(bits)
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
        return unpack_bits(self._bits[name], self._shapes[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._bits)

    def __len__(self) -> int:
        return len(self._bits)

    def __contains__(self, name: object) -> bool:
        return name in self._bits  # without unpacking (Mapping's would read the mask)

    @property
    def shapes(self) -> dict[str, torch.Size]:
        """Each mask's shape (without unpacking it)."""
        return dict(self._shapes)

    @property
    def nbytes(self) -> int:
        """Bytes the masks take: one bit per weight, padded to a whole byte per mask."""
        return sum(b.numel() for b in self._bits.values())

    def __repr__(self) -> str:
        return (f'Ticket({len(self)} masks, {self.numel} weights, sparsity={self.sparsity:.4f}, '
                f'round={self.card.get("round")})')

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ticket):
            return NotImplemented
        return (set(self) == set(other)
                and all(self._shapes[k] == other._shapes[k]
                        and torch.equal(self._bits[k], other._bits[k]) for k in self))

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
        bits, shapes, card = read_ticket_bits(path)
        try:
            scope = PruneScope.from_value(card['scope']) if card.get('scope') else None
        except (TypeError, ValueError) as err:
            raise TicketFileError(f'{path}: invalid scope in the ticket card ({err})') from err
        try:
            return cls._from_bits(bits, shapes, scope, card)
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
        return sum(shape.numel() for shape in self._shapes.values())

    @property
    def kept(self) -> int:
        """Number of weights kept."""
        return sum(count_bits(b) for b in self._bits.values())

    @property
    def sparsity(self) -> float:
        """Fraction of the covered weights that are pruned."""
        numel = self.numel
        return 1.0 - self.kept / numel if numel else 0.0

    def layer_table(self) -> list[dict[str, Any]]:
        """Per-layer rows: name, shape, weights, kept, sparsity."""
        rows = []
        for name, shape in self._shapes.items():
            kept, numel = count_bits(self._bits[name]), shape.numel()
            rows.append({'name': name, 'shape': list(shape), 'numel': numel, 'kept': kept,
                         'sparsity': 1.0 - kept / numel if numel else 0.0})
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
        unexpected = [k for k in self._shapes if k not in params]
        shapes = [f'{k}: ticket {list(m)} vs model {list(params[k].shape)}'
                  for k, m in self._shapes.items() if k in params and m != params[k].shape]
        missing: list[str] = []
        if strict and self.scope is not None:
            try:
                missing = [k for k in self.scope.select(model) if k not in self._shapes]
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
        return {k: params[k] for k in self._shapes}

    def digest(self) -> str:
        """A short SHA-256 of the masks (names, shapes and bits): equal digests, equal tickets."""
        digest = hashlib.sha256()
        for name, mask in self.items():  # unpacked: the digest of one byte per weight
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
        names = list(self._bits)
        new_masks = prune_masks([params[n] for n in names], [self[n] for n in names],
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
        sizes = [shape.numel() for shape in self._shapes.values()]
        keep = torch.zeros(sum(sizes), dtype=torch.bool)
        keep[torch.randperm(keep.numel(), generator=generator)[:self.kept]] = True
        masks = {name: part.view(shape) for (name, shape), part
                 in zip(self._shapes.items(), keep.split(sizes), strict=True)}
        card = dict(self.card, criterion='random', mode='global', reversed=False,
                    notes=notes or f'random ticket with the sparsity of {self.digest()}')
        return Ticket(masks, self.scope, card)

    # Application ------------------------------------------------------------------------------
    def bind(self, model: nn.Module) -> MaskApplier:
        """Check the ticket against ``model`` and return a reusable :class:`MaskApplier`."""
        params = self.check(model, strict=False)
        return MaskApplier([params[n] for n in self._bits], list(self._bits.values()))

    @torch.no_grad()
    def apply_(self, model: nn.Module) -> nn.Module:
        """Zero the pruned weights of ``model`` in place; returns ``model``.

        A one-off :class:`MaskApplier` (multiplication by the mask, unpacked a slice at a time),
        so no mask is ever unpacked whole.
        """
        self.bind(model)()
        return model

    # Algebra ----------------------------------------------------------------------------------
    def _aligned(self, other: Ticket) -> None:
        if set(self) != set(other):
            a, b = sorted(set(self) - set(other)), sorted(set(other) - set(self))
            raise TicketMismatchError(f'tickets cover different keys: only in the first: '
                                      f'{_first(a)}; only in the second: {_first(b)}')
        bad = [k for k in self if self._shapes[k] != other._shapes[k]]
        if bad:
            raise TicketMismatchError(f'tickets differ in shape at: {_first(bad)}')

    def _combine(self, other: Ticket, op: Callable, notes: str) -> Ticket:
        """Bitwise ``op`` of the packed masks (zero padding stays zero under and, or)."""
        self._aligned(other)
        return Ticket._from_bits({k: op(self._bits[k], other._bits[k]) for k in self},
                                 self._shapes, self.scope, dict(self.card, notes=notes))

    def __and__(self, other: Ticket) -> Ticket:
        return self._combine(other, torch.bitwise_and, 'intersection of two tickets')

    def __or__(self, other: Ticket) -> Ticket:
        return self._combine(other, torch.bitwise_or, 'union of two tickets')

    def reverse(self) -> Ticket:
        """The complementary ticket (``1 - mask``): keeps exactly the pruned weights."""
        card = dict(self.card, reversed=not self.card.get('reversed', False))
        return Ticket({k: ~m for k, m in self.items()}, self.scope, card)

    def overlap(self, other: Ticket) -> TicketOverlap:
        """Intersection over union of the kept weights, overall and per layer."""
        self._aligned(other)
        per_layer, inter_total, union_total = {}, 0, 0
        for k in self:
            inter = count_bits(self._bits[k] & other._bits[k])
            union = count_bits(self._bits[k] | other._bits[k])
            per_layer[k] = inter / union if union else 1.0
            inter_total, union_total = inter_total + inter, union_total + union
        return TicketOverlap(inter_total / union_total if union_total else 1.0, per_layer)

    def distance(self, other: Ticket) -> float:
        """The fraction of the covered weights on which the two masks differ (Hamming distance
        over the number of weights; 0 for equal tickets, 1 for a ticket and its reverse)."""
        self._aligned(other)
        numel = self.numel
        differ = sum(count_bits(self._bits[k] ^ other._bits[k]) for k in self)
        return differ / numel if numel else 0.0

    def rename(self, fn: Callable[[str], str | None] | Mapping[str, str]) -> Ticket:
        """Rename keys by a function or mapping; a function returning None drops the key."""
        bits: dict[str, torch.Tensor] = {}
        shapes: dict[str, torch.Size] = {}
        for name, packed in self._bits.items():
            new = fn.get(name, name) if isinstance(fn, Mapping) else fn(name)
            if new is None:
                continue
            if new in bits:
                raise ValueError(f'rename maps two masks onto {new!r}')
            bits[new], shapes[new] = packed, self._shapes[name]
        return Ticket._from_bits(bits, shapes, None, dict(self.card, scope=None))

    def add_prefix(self, prefix: str) -> Ticket:
        """Prepend ``prefix`` (``'backbone.'``) to every key."""
        return self.rename(lambda k: prefix + k)

    def strip_prefix(self, prefix: str) -> Ticket:
        """Remove ``prefix`` from the keys that have it; keys without it are dropped."""
        return self.rename(lambda k: k[len(prefix):] if k.startswith(prefix) else None)

    # Files ------------------------------------------------------------------------------------
    def save(self, path: PathLike) -> None:
        """Write the ticket atomically to a safetensors file (bit-packed masks, card)."""
        write_ticket_bits(path, self._bits, self._shapes, self.card)

    def to_torch_prune(self, prefix: str = '') -> dict[str, torch.Tensor]:
        """The masks as the original code stores them: ``{prefix + '<mod>.weight_mask': float}``."""
        from .torch_prune import masks_to_torch_prune
        return masks_to_torch_prune(dict(self.items()), prefix)

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Masks and card, for sending a ticket to other processes (see :meth:`from_state`)."""
        return dict(self.items()), dict(self.card)

    @classmethod
    def from_state(cls, masks: Mapping[str, torch.Tensor], card: dict[str, Any]) -> Ticket:
        """Inverse of :meth:`state_tensors`."""
        scope = PruneScope.from_value(card['scope']) if card.get('scope') else None
        return cls(masks, scope, card)

    def pack(self) -> dict[str, Any]:
        """The ticket as plain data for a checkpoint: bit-packed masks, shapes and card (about 1
        bit per weight; ``torch.load(weights_only=True)`` reads it). See :meth:`unpack`."""
        return pack_bits_record(self._bits, self._shapes, self.card)

    @classmethod
    def unpack(cls, state: Any, where: Any = 'checkpoint') -> Ticket:
        """Inverse of :meth:`pack`, validated like a ticket file (``where`` names the source)."""
        bits, shapes, card = unpack_bits_record(state, where)
        try:
            scope = PruneScope.from_value(card['scope']) if card.get('scope') else None
            return cls._from_bits(bits, shapes, scope, card)
        except (TypeError, ValueError) as err:
            raise TicketFileError(f'{where}: invalid ticket record ({err})') from err
