"""Reading ``torch.save`` files (the original code's masks and weights) without running their code.

A ``torch.save`` file is a pickle: unpickling it in full can run any code its author put in it.
:func:`load_torch_file` reads it with ``torch.load(weights_only=True)`` and a small allow-list of
plain data types that research checkpoints carry besides tensors (numpy scalars and arrays,
``argparse.Namespace``); anything else is refused with :class:`UnsafeFileError`, which names the
file, the type that would have to be imported and the opt-in (``allow_pickle=True``) for a file
the user trusts.
"""
from __future__ import annotations

import argparse
import os
import pickle
import re
import zipfile
from typing import Any

import numpy as np
import torch

__all__ = ['UnsafeFileError', 'load_torch_file', 'pickle_opt_in', 'safe_globals']


class UnsafeFileError(ValueError):
    """Reading a file would need full unpickling (running code from it), and it was not allowed."""


def pickle_opt_in(allow_pickle: Any, where: str = 'allow_pickle') -> bool:
    """``allow_pickle`` checked to be a real ``bool``: the opt-in to full unpickling is only an
    explicit ``True``. A string from a config (``'false'``, ``'no'``) would be truthy and opt in
    by accident, so anything but a bool is an error."""
    if not isinstance(allow_pickle, bool):
        raise TypeError(f'{where} must be True or False (the explicit opt-in to full unpickling '
                        f'of files you trust), got {allow_pickle!r}')
    return allow_pickle


def safe_globals() -> list:
    """The types lth_mm lets ``torch.load(weights_only=True)`` rebuild besides torch's own."""
    try:
        multiarray = np._core.multiarray  # numpy >= 2
    except AttributeError:
        multiarray = np.core.multiarray
    dtypes = {type(np.dtype(code)) for code in '?bhilqBHILQefdgFDGUSV'}
    return [multiarray.scalar, multiarray._reconstruct, np.ndarray, np.dtype, *dtypes,
            argparse.Namespace]


def load_torch_file(path: str | os.PathLike, allow_pickle: bool = False,
                    map_location: Any = 'cpu') -> Any:
    """Load a ``torch.save`` file of plain data (tensors, dicts, lists, numbers, numpy values).

    Args:
        path: The file.
        allow_pickle: Fall back to full unpickling when the file holds other objects. That runs
            code from the file: only for files you trust.
        map_location: Passed to ``torch.load``.

    Raises:
        FileNotFoundError: if ``path`` is not a file.
        UnsafeFileError: if the file needs full unpickling and ``allow_pickle`` is False.
        ValueError: if the file is not a readable PyTorch file (truncated, another format).
    """
    allow_pickle = pickle_opt_in(allow_pickle)
    if not os.path.isfile(path):
        what = 'is a directory, not a file' if os.path.isdir(path) else 'does not exist'
        raise FileNotFoundError(f'{path} {what}')
    try:
        with torch.serialization.safe_globals(safe_globals()):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        needed = re.search(r'Unsupported global: GLOBAL ([\w.]+)', str(err))
        if needed is None and 'Weights only load failed' not in str(err):
            raise ValueError(f'{path} is not a readable PyTorch file ({err})') from err
        what = f'the object {needed.group(1)}' if needed else 'objects that are not plain data'
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as err:
        raise ValueError(f'{path} is not a readable PyTorch file: truncated or of another '
                         f'format ({type(err).__name__}: {err})') from err
    if allow_pickle is True:  # the caller's explicit opt-in for a file they trust
        return torch.load(path, map_location=map_location, weights_only=False)
    raise UnsafeFileError(
        f'{path} refers to {what}: reading it would unpickle it in full, which runs code '
        'from the file. If you trust the file, opt in with allow_pickle=True (in Python '
        'and configs) or --allow-pickle (tools).')
