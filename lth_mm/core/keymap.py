"""Load pre-trained weights and tickets across naming schemes, reporting what did not match.

Every scheme is mapped to and from one canonical form: the names of a bare ResNet backbone as
torchvision writes them (``conv1.weight``, ``bn1.*``, ``layer1.0.downsample.0.weight``, ``fc.*``),
plus ``stem.*`` for the deep stem of ResNetV1c. The schemes (see :data:`SCHEMES`):

- ``torchvision`` / ``simclr``: bare names (``imagenet_weight.pt``, ``moco.pt``; SimCLR under
  ``state_dict``); also any bare backbone (mmengine ``init_cfg`` files, ResNetV1c ``stem.*``).
- ``mmpretrain``: ``backbone.*``, classifier ``head.fc.*`` (ResNet and ResNet_CIFAR alike).
- ``mmdet`` / ``mmseg``: ``backbone.*`` inside a detector / segmentor; no classifier. ``mmseg``
  means ResNetV1c, whose deep stem ``stem.{0,1,3,4,6,7}`` has no counterpart in ``conv1``/``bn1``;
  a segmentor on MMSeg's plain ``ResNet`` (``deep_stem=False``) has the ``mmdet`` layout.
- ``moco_v2``: the original MoCo checkpoint, ``module.encoder_q.*`` wins; ``encoder_k`` and the
  queue are ignored; the MLP head ``fc.0``/``fc.2`` is reported unmatched, never loaded.
- ``mmpretrain_selfsup``: MMPretrain MoCo / SimCLR / BYOL models: ``backbone.*`` wins; the
  momentum copies (``encoder_k``, ``momentum_encoder``, ``target_net``) and queue are ignored;
  a MoCo v2 MLP projection head ``neck.mlp.{0,2}`` is the canonical ``fc.{0,2}`` (so the
  original MoCo file's ``encoder_q.fc.{0,2}`` loads into it); other ``neck.*`` and ``head.*``
  keys are reported unmatched.
- ``mocov2_neck``: a ``MoCoV2Neck`` on its own (``mlp.{0,2}``; for ``MappedPretrained`` in a
  neck's ``init_cfg``): only the MLP projection head maps.

Shape mismatches raise :class:`KeyMapError`; nothing is dropped without a reason in the report.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .ticket import Ticket
from .torch_file import load_torch_file
from .torch_prune import mask_problem

__all__ = ['KeyMapError', 'KeyMapReport', 'Scheme', 'SCHEMES', 'TRANSFER_SKIP',
           'convert_state_dict', 'convert_ticket', 'detect_scheme', 'load_pretrained',
           'match_to_model', 'read_state_dict', 'unwrap_state_dict']

#: What the paper's transfer leaves at random init: the stem conv and the classifier.
TRANSFER_SKIP: tuple[str, ...] = ('conv1', 'stem', 'fc')

_MOMENTUM = 'momentum copy of the backbone; the online backbone is used'
_QUEUE = 'MoCo queue of negative keys'
_MASK = 'torch.nn.utils.prune mask, folded into the weight (read it with Ticket.from_torch_prune)'


class KeyMapError(ValueError):
    """Keys cannot be mapped: shape mismatches, clashing names or an unknown layout."""


@dataclass(frozen=True)
class Scheme:
    """How one codebase names a ResNet backbone and its classifier.

    Args:
        name: The scheme's name.
        prefix: Prepended to the canonical backbone names (``'backbone.'``).
        head: Where the canonical ``fc`` lives (``'fc'``, ``'head.fc'``); ``''`` for none.
        deep_stem: The backbone has the ResNetV1c stem ``stem.*`` instead of ``conv1``/``bn1``
            (for :func:`convert_state_dict`; :func:`match_to_model` reads the target's keys).
        ignore: ``(key prefix, reason)`` pairs of source keys dropped on purpose.
        mlp: Its head is an MLP projection (canonical ``fc.0``, ``fc.2``), not a classifier.
        backbone: It holds a backbone (False: a projection head on its own).
    """

    name: str
    prefix: str
    head: str = ''
    deep_stem: bool = False
    ignore: tuple[tuple[str, str], ...] = ()
    mlp: bool = False
    backbone: bool = True


SCHEMES: dict[str, Scheme] = {s.name: s for s in (
    Scheme('torchvision', '', 'fc'),
    Scheme('simclr', '', 'fc'),
    Scheme('mmpretrain', 'backbone.', 'head.fc'),
    Scheme('mmdet', 'backbone.'),
    Scheme('mmseg', 'backbone.', deep_stem=True),
    Scheme('moco_v2', 'encoder_q.', 'encoder_q.fc',
           ignore=(('encoder_k', 'MoCo key encoder; encoder_q is used'),
                   ('queue', _QUEUE), ('queue_ptr', _QUEUE))),
    Scheme('mmpretrain_selfsup', 'backbone.', 'neck.mlp', mlp=True,
           ignore=(('encoder_k', _MOMENTUM), ('momentum_encoder', _MOMENTUM),
                   ('target_net', _MOMENTUM), ('queue', _QUEUE), ('queue_ptr', _QUEUE))),
    Scheme('mocov2_neck', '', 'mlp', mlp=True, backbone=False),
)}


@dataclass
class KeyMapReport:
    """What a conversion did, key by key (source keys named as after :func:`unwrap_state_dict`).

    Attributes:
        src: Source scheme.
        dst: Destination scheme.
        matched: Destination key -> source key, for every tensor carried over.
        missing: Destination backbone/classifier keys that got nothing (only when a target is
            known; keys outside the backbone and classifier, such as necks, are left alone, and
            BatchNorm ``num_batches_tracked`` counters, absent from old torchvision files, are
            not listed).
        ignored: Source key -> reason, for keys dropped on purpose (momentum encoders, queues,
            ``skip``).
        unmatched: Source key -> reason, for keys with no counterpart in the destination.
        unused_skip: ``skip`` entries under which no source key lies: a misspelt name, or a
            part this checkpoint does not have (a backbone-only file has no ``fc``).
    """

    src: str
    dst: str
    matched: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)
    unmatched: dict[str, str] = field(default_factory=dict)
    unused_skip: list[str] = field(default_factory=list)

    def summary(self, n: int = 3) -> str:
        """Counts, then the first ``n`` keys of each kind grouped by reason, for logging."""
        lines = [f'keymap {self.src} -> {self.dst}: {len(self.matched)} matched, '
                 f'{len(self.missing)} missing, {len(self.ignored)} ignored, '
                 f'{len(self.unmatched)} unmatched']
        if self.missing:
            lines.append(f'  missing: {_first(self.missing, n)}')
        for kind, table in (('ignored', self.ignored), ('unmatched', self.unmatched)):
            groups: dict[str, list[str]] = {}
            for key, reason in table.items():
                groups.setdefault(reason, []).append(key)
            lines += [f'  {kind} ({reason}): {_first(keys, n)}' for reason, keys in groups.items()]
        if self.unused_skip:
            lines.append(f'  skip entries that matched no key: {self.unused_skip} (canonical '
                         "torchvision names such as 'conv1', 'bn1', 'layer4', 'fc')")
        return '\n'.join(lines)

    __str__ = summary


def _first(items: Sequence[str], n: int) -> str:
    return ', '.join(items[:n]) + (f' ... ({len(items)} in all)' if len(items) > n else '')


def _under(key: str, prefix: str) -> bool:
    """``key`` is ``prefix`` or lies below it at a dot boundary."""
    return key == prefix or key.startswith(prefix + '.')


def _scheme(name: str) -> Scheme:
    if name not in SCHEMES:
        raise KeyMapError(f'unknown scheme {name!r}; known: {sorted(SCHEMES)}')
    return SCHEMES[name]


def _check_scheme_names(*names: str) -> None:
    """Refuse a misspelt scheme before any guessing, whose error would hide the typo."""
    for name in names:
        if name != 'auto':
            _scheme(name)


# Containers and detection -------------------------------------------------------------------------
def unwrap_state_dict(obj: Any) -> dict[str, Any]:
    """Take the state dict out of ``{'state_dict': ...}`` / ``{'model': ...}`` and strip a
    ``module.`` (DataParallel) prefix carried by every key."""
    while isinstance(obj, Mapping) and not all(isinstance(v, torch.Tensor) for v in obj.values()):
        inner = next((obj[k] for k in ('state_dict', 'model') if isinstance(obj.get(k), Mapping)),
                     None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, Mapping) or not obj:
        raise KeyMapError(f'expected a non-empty state dict (or a dict holding one under '
                          f'"state_dict" or "model"), got {type(obj).__name__}')
    state = dict(obj)
    odd = [k for k in state if not isinstance(k, str)]
    if odd:
        raise KeyMapError(f'state dict keys must be parameter names (strings); got '
                          f'{_first([repr(k) for k in odd], 3)} (of type '
                          f'{type(odd[0]).__name__}) among keys like '
                          f'{_first([k for k in state if isinstance(k, str)], 3)}')
    if all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    return state


def read_state_dict(path: str | os.PathLike, allow_pickle: bool = False) -> dict[str, Any]:
    """Load a checkpoint file (see :func:`~.torch_file.load_torch_file`) and unwrap it."""
    state = load_torch_file(path, allow_pickle=allow_pickle)
    try:
        return unwrap_state_dict(state)
    except KeyMapError as err:
        raise KeyMapError(f'{path}: {err}') from err


def detect_scheme(keys: Mapping[str, Any] | Iterable[str]) -> str:
    """Guess the scheme from the key names of a (unwrapped) state dict or ticket.

    Schemes that share a layout (``backbone.*`` alone, bare names) convert alike, so the guess
    only has to tell layouts apart; pass the scheme explicitly to pin it.
    """
    keys = [k[len('module.'):] if k.startswith('module.') else k for k in keys]
    tops = {k.split('.', 1)[0] for k in keys}
    if 'encoder_q' in tops:
        return 'moco_v2'
    if 'backbone' in tops:
        if tops & {'rpn_head', 'roi_head', 'bbox_head'}:
            return 'mmdet'
        if tops & {'decode_head', 'auxiliary_head'}:
            # MMSeg's ResNetV1c has the deep stem (stem.*); its plain ResNet (deep_stem=False)
            # has conv1 / bn1, the layout of an MMDet backbone.
            return 'mmdet' if 'backbone.conv1.weight' in keys else 'mmseg'
        if tops & {'encoder_k', 'momentum_encoder', 'target_net', 'queue'}:
            return 'mmpretrain_selfsup'
        if any(k.startswith('head.fc.') for k in keys):
            return 'mmpretrain'
        if any(k.startswith('backbone.stem.') for k in keys):
            return 'mmseg'
        return 'mmpretrain_selfsup' if 'neck' in tops else 'mmpretrain'
    if tops & {'conv1', 'stem', 'layer1', 'layer2', 'layer3', 'layer4'}:
        return 'torchvision'
    if tops == {'mlp'}:
        return 'mocov2_neck'
    raise KeyMapError(f'cannot tell the naming scheme of keys like {_first(sorted(keys), 5)}; '
                      f'pass src/dst explicitly (one of {sorted(SCHEMES)})')


# Key mapping --------------------------------------------------------------------------------------
def _is_mlp(ckey: str) -> bool:
    """A canonical key of an MLP projection head (``fc.0.weight``), not of a classifier."""
    return re.match(r'fc\.\d+\.', ckey) is not None


def _no_counterpart(ckey: str, has_fc: bool, deep_stem: bool, mlp: bool = False,
                    backbone: bool = True) -> str | None:
    if _under(ckey, 'fc'):
        if not has_fc:
            return 'the destination has no classifier fc'
        if _is_mlp(ckey) and not mlp:
            return 'MLP projection head: no counterpart in a single-layer fc'
        if mlp and not _is_mlp(ckey):
            return 'single-layer fc: no counterpart in an MLP projection head'
        return None
    if not backbone:
        return 'the destination holds only a projection head'
    if deep_stem and (_under(ckey, 'conv1') or _under(ckey, 'bn1')):
        return 'the conv1/bn1 stem has no counterpart in the ResNetV1c deep stem (stem.*)'
    if not deep_stem and _under(ckey, 'stem'):
        return 'the ResNetV1c deep stem (stem.*) has no counterpart in a conv1/bn1 stem'
    return None


def _canonical(keys: Iterable[str], src: Scheme, skip: Sequence[str], report: KeyMapReport
               ) -> dict[str, str]:
    """Map source keys to canonical names (canonical -> source); fill ignored/unmatched and
    unused_skip. A ``skip`` entry may end in a dot (``'fc.'`` is ``'fc'``)."""
    out: dict[str, str] = {}
    skip = [s.rstrip('.') for s in skip]
    used: set[str] = set()
    for key in keys:
        reason = next((r for p, r in src.ignore if _under(key, p)), None)
        if reason is not None:
            report.ignored[key] = reason
            continue
        if src.head and _under(key, src.head):
            ckey = 'fc' + key[len(src.head):]
        elif key.startswith(src.prefix):
            ckey = key[len(src.prefix):]
        else:
            report.unmatched[key] = f'not part of the ResNet backbone ({key.split(".")[0]}.*)'
            continue
        hits = [s for s in skip if _under(ckey, s)]
        if hits:
            used.update(hits)
            report.ignored[key] = f'skipped (skip={tuple(skip)})'
        elif ckey in out:
            raise KeyMapError(f'{out[ckey]!r} and {key!r} both map onto {ckey!r}')
        else:
            out[ckey] = key
    report.unused_skip = [s for s in skip if s not in used]
    return out


def _key_map(keys: Sequence[str], dst: str, src: str, skip: Sequence[str]
             ) -> tuple[dict[str, str], KeyMapReport]:
    """Source key -> destination key for every key that maps, with the report."""
    _check_scheme_names(src, dst)
    src = detect_scheme(keys) if src == 'auto' else src
    source, target = _scheme(src), _scheme(dst)
    report = KeyMapReport(src, dst)
    mapping = {}
    for ckey, key in _canonical(keys, source, skip, report).items():
        reason = _no_counterpart(ckey, bool(target.head), target.deep_stem, target.mlp,
                                 target.backbone)
        if reason is not None:
            report.unmatched[key] = reason
            continue
        new = target.head + ckey[2:] if _under(ckey, 'fc') else target.prefix + ckey
        mapping[key] = new
        report.matched[new] = key
    return mapping, report


def _prepare(state_dict: Any) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Unwrap, fold ``weight_orig * weight_mask`` pairs; return tensors and ignored keys."""
    state = unwrap_state_dict(state_dict)
    ignored = {k: 'not a tensor' for k, v in state.items() if not isinstance(v, torch.Tensor)}
    state = {k: v for k, v in state.items() if k not in ignored}
    for key in [k for k in state if k.endswith('.weight_orig')]:
        mask_key = key[:-len('_orig')] + '_mask'
        if mask_key in ignored:
            raise KeyMapError(f'{mask_key!r}, the mask of {key!r}, is not a tensor')
        if mask_key not in state:
            raise KeyMapError(f'{key!r} has no matching {mask_key!r}')
        orig, mask = state.pop(key), state.pop(mask_key)
        problem = mask_problem(mask)
        if problem is not None:
            raise KeyMapError(f'{mask_key!r}, the mask of {key!r}, {problem}')
        if mask.shape != orig.shape:  # a smaller mask would broadcast silently
            raise KeyMapError(f'{mask_key!r} has shape {list(mask.shape)} but {key!r} has '
                              f'{list(orig.shape)}: a torch.nn.utils.prune mask covers its '
                              'weight element by element; the file is damaged or its keys mixed')
        state[key[:-len('_orig')]] = orig * mask.to(orig.dtype)
        ignored[mask_key] = _MASK
    return state, ignored


# Public entry points ------------------------------------------------------------------------------
def convert_state_dict(state_dict: Any, dst: str, src: str = 'auto', skip: Sequence[str] = ()
                       ) -> tuple[dict[str, torch.Tensor], KeyMapReport]:
    """Rename a checkpoint's backbone (and classifier) tensors into scheme ``dst``.

    Args:
        state_dict: A state dict, or a checkpoint holding one (see :func:`unwrap_state_dict`).
        dst: Destination scheme.
        src: Source scheme, or ``'auto'`` (:func:`detect_scheme`).
        skip: Canonical names left out, e.g. ``('conv1', 'fc')`` or :data:`TRANSFER_SKIP`; an
            entry covers the key and everything below it (``'fc'`` is ``head.fc.*`` in
            mmpretrain).

    Returns:
        The renamed tensors and the report (``missing`` is empty: no target is known).
    """
    state, ignored = _prepare(state_dict)
    mapping, report = _key_map(list(state), dst, src, skip)
    report.ignored.update(ignored)
    return {new: state[old] for old, new in mapping.items()}, report


def match_to_model(state_dict: Any, target: nn.Module | Mapping[str, Any],
                   src: str = 'auto', dst: str = 'auto', skip: Sequence[str] = ()
                   ) -> tuple[dict[str, torch.Tensor], KeyMapReport]:
    """Map a checkpoint onto a model's keys, checking shapes.

    Args:
        state_dict: A state dict, or a checkpoint holding one.
        target: The model, its state dict, or a mapping of its keys to shapes.
        src: Source scheme, or ``'auto'``.
        dst: The target's scheme, or ``'auto'`` (detected from the target's keys).
        skip: Canonical names left out (see :func:`convert_state_dict`).

    Returns:
        ``(loadable, report)``: ``loadable`` fits ``target.load_state_dict(loadable,
        strict=False)``; ``report.missing`` lists the target's backbone/classifier keys it lacks.

    Raises:
        KeyMapError: if mapped tensors differ in shape from the target's (all are listed).
    """
    return _match(state_dict, target, src, dst, skip)


def _match(state_dict: Any, target: nn.Module | Mapping[str, Any], src: str, dst: str,
           skip: Sequence[str], where: str | None = None
           ) -> tuple[dict[str, torch.Tensor], KeyMapReport]:
    """:func:`match_to_model`; ``where`` (a file) is named in the errors about its content."""
    _check_scheme_names(src, dst)
    if isinstance(target, nn.Module):
        target = target.state_dict()
    shapes = {k: tuple(v.shape) if hasattr(v, 'shape') else tuple(v) for k, v in target.items()}
    dst = detect_scheme(shapes) if dst == 'auto' else dst
    try:
        state, ignored = _prepare(state_dict)
    except KeyMapError as err:
        if where is None:
            raise
        raise KeyMapError(f'{where}: {err}') from err
    src = detect_scheme(state) if src == 'auto' else src
    report = KeyMapReport(src, dst, ignored=ignored)
    source = _canonical(list(state), _scheme(src), skip, report)
    wanted = _canonical(list(shapes), _scheme(dst), (), KeyMapReport(dst, dst))
    has_fc = any(_under(k, 'fc') for k in wanted)
    deep_stem = any(_under(k, 'stem') for k in wanted)
    mlp = any(_is_mlp(k) for k in wanted)
    loadable, bad = {}, []
    for ckey, key in source.items():
        if ckey not in wanted:
            report.unmatched[key] = (_no_counterpart(ckey, has_fc, deep_stem, mlp,
                                                     _scheme(dst).backbone)
                                     or 'not in the target model')
            continue
        new = wanted[ckey]
        if tuple(state[key].shape) != shapes[new]:
            bad.append(f'{key} -> {new}: checkpoint {list(state[key].shape)} vs '
                       f'model {list(shapes[new])}')
            continue
        loadable[new] = state[key]
        report.matched[new] = key
    if bad:
        source = f' of {where}' if where else ''
        raise KeyMapError(f'{len(bad)} shape mismatch(es) loading {src} weights{source} into a '
                          f'{dst} model:\n  ' + '\n  '.join(bad) + '\nLeave them out with '
                          "skip=(...), e.g. skip=('conv1', 'fc') for a new stem and classifier.")
    report.missing = [k for k in wanted.values()
                      if k not in loadable and not k.endswith('.num_batches_tracked')]
    return loadable, report


def load_pretrained(model: nn.Module, checkpoint: Any, src: str = 'auto', dst: str = 'auto',
                    skip: Sequence[str] = (), allow_pickle: bool = False) -> KeyMapReport:
    """Load a checkpoint (path, checkpoint dict or state dict) into ``model``; return the report.

    See :func:`match_to_model`; the tensors not loaded keep the model's values. A path is read
    with :func:`~.torch_file.load_torch_file`: plain data only, unless ``allow_pickle`` (full
    unpickling runs code from the file: trusted files only).

    Note:
        The momentum copy of an MMPretrain MoCo / BYOL model is not loaded; copy the backbone
        into it afterwards if it must start from the same weights (the original rewound both
        MoCo encoders to encoder_q).
    """
    where = None
    if isinstance(checkpoint, (str, os.PathLike)):
        checkpoint, where = load_torch_file(checkpoint, allow_pickle=allow_pickle), str(checkpoint)
    loadable, report = _match(checkpoint, model, src, dst, skip, where)
    model.load_state_dict(loadable, strict=False)
    return report


def convert_ticket(ticket: Ticket, dst: str, src: str = 'auto', strict: bool = True
                   ) -> tuple[Ticket, KeyMapReport]:
    """Rename a ticket's masks into scheme ``dst`` (e.g. ``layer1.0.conv1.weight`` ->
    ``backbone.layer1.0.conv1.weight``).

    Args:
        ticket: The ticket.
        dst: Destination scheme.
        src: The ticket's scheme, or ``'auto'``. A ``module.`` prefix on every key is stripped.
        strict: Raise if a mask has no counterpart in ``dst`` (a stem mask going to ResNetV1c);
            otherwise such masks are dropped and listed in ``report.unmatched``.

    Raises:
        KeyMapError: with ``strict``, listing the masks that do not map.
    """
    strip = all(k.startswith('module.') for k in ticket)
    keys = {k[len('module.'):] if strip else k: k for k in ticket}
    mapping, report = _key_map(list(keys), dst, src, ())
    if strict and report.unmatched:
        raise KeyMapError(f'{len(report.unmatched)} mask(s) have no counterpart in {dst}: '
                          + '; '.join(f'{k} ({r})' for k, r in list(report.unmatched.items())[:5]))
    renames = {keys[old]: new for old, new in mapping.items()}
    return ticket.rename(renames.get), report
