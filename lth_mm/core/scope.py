"""Which parameters of a model a ticket covers."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

from .options import flag

__all__ = ['PruneScope', 'find_stem_weights']


def find_stem_weights(model: nn.Module) -> set:
    """Return the names of the stem conv weights of every ResNet-like body in ``model``.

    A stem is ``conv1.weight`` or any conv under ``stem.`` that sits directly beside a ``layer1``
    module: this finds torchvision's ``conv1``, MMPretrain's ``backbone.conv1``, MMSeg's deep stem
    ``backbone.stem.{0,3,6}`` and MoCo's ``encoder_q.conv1`` without matching ``layer1.0.conv1``.
    """
    module_names = {name for name, _ in model.named_modules()}
    roots = {name[:-len('layer1')] for name in module_names
             if name == 'layer1' or name.endswith('.layer1')}
    stems = set()
    for name, module in model.named_modules():
        if not isinstance(module, nn.Conv2d):
            continue
        for root in roots:
            rest = name[len(root):] if name.startswith(root) else None
            if rest is not None and (rest == 'conv1' or rest.startswith('stem.')):
                stems.add(f'{name}.weight')
    return stems


@dataclass(frozen=True)
class PruneScope:
    """Selects the prunable parameters of a model.

    The default reproduces the paper: the weight of every ``nn.Conv2d`` (downsample convs
    included) except the stem conv; never Linear, BatchNorm or biases.

    Args:
        layer_types: Names of ``torch.nn`` module classes whose ``weight`` is prunable
            (subclasses count too). Defaults to ``('Conv2d',)``.
        include_stem: Also prune the stem conv (``conv1`` or ``stem.*`` beside ``layer1``).
        include_linear: Also prune ``nn.Linear`` weights (the classifier ``fc``, for instance).
        prefix: Only parameters whose name starts with this prefix (``'backbone.'``).
        include: Regular expressions; when given, a name must match one of them.
        exclude: Regular expressions; a name matching any of them is left dense.
    """

    layer_types: tuple[str, ...] = ('Conv2d',)
    include_stem: bool = False
    include_linear: bool = False
    prefix: str = ''
    include: tuple[str, ...] = field(default_factory=tuple)
    exclude: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not isinstance(self.prefix, str):
            raise TypeError(f"PruneScope.prefix must be a string such as 'backbone.', got "
                            f'{self.prefix!r}')
        for attr in ('include_stem', 'include_linear'):
            flag(getattr(self, attr), f'PruneScope.{attr}')
        for attr in ('layer_types', 'include', 'exclude'):
            value = getattr(self, attr)
            if isinstance(value, str):
                value = (value,)
            object.__setattr__(self, attr, tuple(value))
        unknown = [t for t in self.layer_types
                   if not (isinstance(getattr(nn, t, None), type)
                           and issubclass(getattr(nn, t), nn.Module))]
        if unknown:
            raise ValueError(f'PruneScope.layer_types: {unknown} are not torch.nn module classes '
                             "(use names such as 'Conv2d', 'Linear')")
        for pattern in self.include + self.exclude:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(
                    f'PruneScope: invalid regular expression {pattern!r}: {err}') from err

    @classmethod
    def from_value(cls, value: PruneScope | dict[str, Any] | None) -> PruneScope:
        """Build a scope from ``None`` (the default), a dict of fields (configs) or a scope."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            unknown = set(value) - set(cls.__dataclass_fields__)
            if unknown:
                raise ValueError(f'PruneScope: unknown fields {sorted(unknown)}; '
                                 f'valid fields are {sorted(cls.__dataclass_fields__)}')
            return cls(**value)
        raise TypeError(f'PruneScope: expected None, a dict or a PruneScope, got {type(value)}')

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as plain, JSON-serialisable values."""
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in asdict(self).items()}

    def _types(self) -> tuple[type, ...]:
        names = self.layer_types + (('Linear',) if self.include_linear else ())
        return tuple(getattr(nn, name) for name in names)

    def select(self, model: nn.Module) -> dict[str, nn.Parameter]:
        """Return the prunable parameters of ``model`` by name, in module order.

        A parameter shared by several modules (tied weights) is one parameter: it is selected
        once, under its first name, the one ``model.named_parameters()`` gives it (and only if
        that name is in scope), so that every selected name is a key of the model.

        Raises:
            ValueError: if the scope selects nothing in ``model``.
        """
        types = self._types()
        stems = set() if self.include_stem else find_stem_weights(model)
        first_names = {id(param): name for name, param in model.named_parameters()}
        selected: dict[str, nn.Parameter] = {}
        for module_name, module in model.named_modules():
            weight = getattr(module, 'weight', None)
            if not isinstance(module, types) or not isinstance(weight, nn.Parameter):
                continue
            name = f'{module_name}.weight' if module_name else 'weight'
            if first_names.get(id(weight)) != name:
                continue  # a second name of a shared parameter
            if not name.startswith(self.prefix) or name in stems:
                continue
            if self.include and not any(re.search(p, name) for p in self.include):
                continue
            if any(re.search(p, name) for p in self.exclude):
                continue
            selected.setdefault(name, weight)
        if not selected:
            raise ValueError(
                f'PruneScope selects no parameter of {type(model).__name__}: {self}. Check '
                f'prefix={self.prefix!r} (e.g. "backbone."), layer_types and include/exclude.')
        return selected
