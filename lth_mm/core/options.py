"""Checks of options as configs and ``--cfg-options`` give them (plain Python, used by the core
and the hooks alike).

``--cfg-options custom_hooks.0.overwrite=no`` gives the string ``'no'``, which ``bool()`` reads
as true, and ``keep_prefixes=backbone.layer4`` gives a string, which ``tuple()`` splits into
characters. These helpers take only what was meant and name the option otherwise.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

__all__ = ['check_prefixes', 'flag', 'integer', 'prefixes']


def flag(value: Any, name: str, allow_none: bool = False) -> Optional[bool]:
    """``value`` if it is a real bool (or None where ``allow_none``), else a TypeError naming
    ``name`` (``'IMPHook: overwrite'``)."""
    if isinstance(value, bool) or (allow_none and value is None):
        return value
    also = ', or None' if allow_none else ''
    raise TypeError(f'{name} must be True or False{also}, got {value!r} '
                    f'({type(value).__name__}); on the command line write True or False')


def integer(value: Any, name: str, allow_none: bool = False) -> Optional[int]:
    """``value`` if it is an int (not a bool), or None where ``allow_none``; else a TypeError."""
    if (isinstance(value, int) and not isinstance(value, bool)) or (allow_none and value is None):
        return value
    also = ' or None' if allow_none else ''
    raise TypeError(f'{name} must be an integer{also}, got {value!r} ({type(value).__name__})')


def prefixes(value: Any, name: str) -> Tuple[str, ...]:
    """A tuple of name prefixes: one string is one prefix (not its characters); a list or tuple
    must hold only non-empty strings."""
    if isinstance(value, str):
        value = (value,) if value else ()
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(item, str) and item for item in value):
        raise TypeError(f'{name} must be a list of name prefixes such as '
                        f"['backbone.layer4'], got {value!r}")
    return tuple(value)


def check_prefixes(given: Tuple[str, ...], names: Sequence[str], name: str, what: str) -> None:
    """Raise a ValueError naming each prefix of ``given`` that starts none of ``names`` (``what``
    they are: 'state-dict key of ImageClassifier')."""
    unmatched = [prefix for prefix in given if not any(n.startswith(prefix) for n in names)]
    if unmatched:
        sample = ', '.join(list(names)[:3])
        raise ValueError(f'{name}: {unmatched} start no {what} (they look like: {sample}); '
                         'correct the prefixes or drop them')
