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
import io
import mmap
import os
import pickle
import pickletools
import re
import tarfile
import zipfile
from typing import Any

import numpy as np
import torch

from .options import flag

__all__ = ['OPT_IN', 'UnsafeFileError', 'load_torch_file', 'pickle_opt_in', 'plain_dtype',
           'safe_globals']


class UnsafeFileError(ValueError):
    """Reading a file would need full unpickling (running code from it), and it was not allowed."""


def pickle_opt_in(allow_pickle: Any, where: str = 'allow_pickle') -> bool:
    """``allow_pickle`` checked to be a real ``bool``: the opt-in to full unpickling is only an
    explicit ``True``. A string from a config (``'false'``, ``'no'``) would be truthy and opt in
    by accident, so anything but a bool is an error."""
    return flag(allow_pickle, where)


#: numpy dtype kinds that are plain data: bool, signed and unsigned integers, floats, complex,
#: bytes and unicode strings.
PLAIN_KINDS = 'biufcSU'


def plain_dtype(spec: Any, align: Any = False, copy: Any = True) -> np.dtype:
    """``numpy.dtype`` as pickles call it (``numpy.dtype('f8', False, True)``), for plain data
    only: one of :data:`PLAIN_KINDS`, no fields. The pickle then sets the copy's state (its byte
    order); :func:`check_dtype_states` has checked beforehand that no state adds more.
    """
    dtype = None
    if isinstance(spec, str):
        try:
            dtype = np.dtype(spec)
        except TypeError:
            pass
    if dtype is None or dtype.kind not in PLAIN_KINDS:  # fields, subarrays, objects: 'V', 'O'
        raise pickle.UnpicklingError(f'numpy dtype {spec!r} is not plain data')
    return np.dtype(spec, bool(align), True)


class _Recorded:
    """What the dry run of :func:`check_dtype_states` builds for every object: a record of its
    arguments and the states set on it. Nothing of the file runs."""

    def __init__(self, *args: Any) -> None:
        self.args, self.states = args, []

    def __setstate__(self, state: Any) -> None:
        self.states.append(state)

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def append(self, value: Any) -> None:
        pass

    def extend(self, values: Any) -> None:
        pass


class _DryRun(pickle._Unpickler):
    """The pure-Python unpickler with every global an inert record; the records of
    ``numpy.dtype`` (what the real loaders map to :func:`plain_dtype`) are kept."""

    def __init__(self, data: Any) -> None:
        super().__init__(data, encoding='latin1')
        self.dtypes: list[_Recorded] = []

    def find_class(self, module: str, name: str) -> Any:
        return self._dtype if (module, name) == ('numpy', 'dtype') else _Recorded

    def _dtype(self, *args: Any) -> _Recorded:
        record = _Recorded(*args)
        self.dtypes.append(record)
        return record

    def persistent_load(self, pid: Any) -> None:
        return None


def check_dtype_states(data: bytes, pickles: int = 1) -> None:
    """Refuse a pickle that sets a numpy dtype state other than a plain dtype's own.

    A pickle rebuilds a dtype as ``numpy.dtype(spec, align, copy=True)`` and then sets its state
    (byte order, fields, flags). A state can give a plain type object fields or object flags:
    an array of it then reads bytes of the file as object pointers (a crash, or worse). This dry
    run reads the pickle with every object replaced by a record, so nothing of the file runs,
    and checks each dtype's state: it may differ from the spec's own state only in byte order.
    """
    if b'dtype' not in data:
        return
    stream = io.BytesIO(data)
    for _ in range(pickles):  # a file may hold several pickles in a row (torch.save < 1.6)
        run = _DryRun(stream)
        try:
            run.load()
        except Exception:  # noqa: BLE001  (a damaged pickle: the real load reports it)
            return
        for made in run.dtypes:
            spec = made.args[0] if made.args else None
            try:
                own = plain_dtype(spec).__reduce__()[2]
            except pickle.UnpicklingError:
                continue  # refused by the real load
            for state in made.states:
                if not (isinstance(state, tuple) and len(state) == len(own)
                        and state[0] == own[0] and state[1] in ('<', '>', '|', '=')
                        and state[2:] == own[2:]):
                    raise pickle.UnpicklingError(
                        f'numpy dtype {spec!r} whose pickled state sets more than a byte '
                        'order (fields, flags or sizes, which can make it hold objects)')


def numpy_multiarray() -> Any:
    """numpy's ``multiarray`` module, where pickled arrays and scalars are rebuilt."""
    try:
        return np._core.multiarray  # numpy >= 2
    except AttributeError:
        return np.core.multiarray


def safe_globals() -> list:
    """The types lth_mm lets ``torch.load(weights_only=True)`` rebuild besides torch's own."""
    multiarray = numpy_multiarray()
    # the classes of the plain dtypes, on which a pickle's BUILD (checked first) is allowed
    dtypes = {type(np.dtype(code)) for code in '?bhilqBHILQefdgFDGSU'}
    return [multiarray.scalar, multiarray._reconstruct, np.ndarray, (plain_dtype, 'numpy.dtype'),
            *dtypes, argparse.Namespace]


#: How to opt in to full unpickling, as :class:`UnsafeFileError` says by default.
OPT_IN = 'allow_pickle=True (in Python and configs) or --allow-pickle (tools)'


def load_torch_file(path: str | os.PathLike, allow_pickle: bool = False,
                    map_location: Any = 'cpu', extra_globals: list | tuple = (),
                    opt_in: str = OPT_IN) -> Any:
    """Load a ``torch.save`` file of plain data (tensors, dicts, lists, numbers, numpy values).

    Args:
        path: The file.
        allow_pickle: Fall back to full unpickling when the file holds other objects. That runs
            code from the file: only for files you trust.
        map_location: Passed to ``torch.load``.
        extra_globals: More types (or ``(function, 'module.name')`` pairs) the restricted
            unpickler may build, as ``torch.serialization.safe_globals`` takes them.
        opt_in: How the caller opts in to full unpickling, for the refusal's message.

    Raises:
        FileNotFoundError: if ``path`` is not a file.
        UnsafeFileError: if the file needs full unpickling and ``allow_pickle`` is False.
        ValueError: if the file is not a readable PyTorch file (truncated, corrupt, another
            format), also when it is read by full unpickling.
    """
    allow_pickle = pickle_opt_in(allow_pickle)
    if not os.path.isfile(path):
        what = 'is a directory, not a file' if os.path.isdir(path) else 'does not exist'
        raise FileNotFoundError(f'{path} {what}')
    if not allow_pickle:
        try:
            _check_dtypes(path)
        except pickle.UnpicklingError as err:
            raise UnsafeFileError(f'{path} holds a {err}: reading it could run code or crash. '
                                  f'If you trust the file, opt in with {opt_in}.') from err
    try:
        with torch.serialization.safe_globals([*safe_globals(), *extra_globals]):
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises anything on a corrupt file
        what = _needs_unpickling(err)
        if what is None and isinstance(err, pickle.UnpicklingError):
            # Refusals that name no global (an opcode of pickle protocol 4 or 5, a type the
            # restricted unpickler cannot build): more than plain data if the pickle is whole.
            what = 'objects or pickle features that are not plain data'
        if what is None:
            raise _unreadable(path, err) from err
        if not _pickles_complete(path):
            # A truncated file can stop inside a GLOBAL opcode and so look like one that
            # refers to an object (a cut name): only a complete pickle is taken at its word.
            raise _unreadable(path, err, detail='its pickle data ends early or is damaged') from err
    if allow_pickle is True:  # the caller's explicit opt-in for a file they trust
        try:
            return torch.load(path, map_location=map_location, weights_only=False)
        except Exception as err:  # as above; also errors of the objects it rebuilds
            raise _unreadable(path, err, ' even by full unpickling') from err
    raise UnsafeFileError(
        f'{path} refers to {what}: reading it would unpickle it in full, which runs code '
        f'from the file. If you trust the file, opt in with {opt_in}.')


def _zip_pickles(path: str | os.PathLike) -> list[bytes]:
    """The pickles of a ``torch.save`` zip file (its ``data.pkl`` members)."""
    with zipfile.ZipFile(path) as archive:
        return [archive.read(name) for name in archive.namelist()
                if name.rsplit('/', 1)[-1] == 'data.pkl']


def _check_dtypes(path: str | os.PathLike) -> None:
    """:func:`check_dtype_states` over the pickles ``torch.load`` reads from ``path``."""
    if zipfile.is_zipfile(path):
        for stream in _zip_pickles(path):
            check_dtype_states(stream)
    elif not tarfile.is_tarfile(path):  # torch < 0.4's tar files hold no numpy objects
        with open(path, 'rb') as file:
            check_dtype_states(file.read(), pickles=5)


def _unreadable(path: str | os.PathLike, err: BaseException, how: str = '',
                detail: str | None = None) -> ValueError:
    """The error for a file torch cannot read: truncated, corrupt or of another format."""
    if detail is None:
        # torch wraps the unpickler's own message in advice to turn its restricted loading
        # off, which is wrong for a damaged file: keep only the message.
        detail = str(err).split('WeightsUnpickler error:')[-1].split('Check the documentation')[0]
        detail = f'{type(err).__name__}: {" ".join(detail.split())[:200]}'
    return ValueError(f'{path} is not a readable PyTorch file{how}: truncated, corrupt or of '
                      f'another format ({detail}); check that it was written by torch.save '
                      'and copied whole')


def _needs_unpickling(err: BaseException) -> str | None:
    """What ``torch.load(weights_only=True)`` refused to import, by its message; None when the
    error is not such a refusal (the file is corrupt or of another format)."""
    message = str(err)
    if isinstance(err, pickle.UnpicklingError):
        needed = re.search(r'Unsupported global: GLOBAL (\S+) was not an allowed global', message)
        if needed is None:  # torch refuses some modules (os, sys) outright
            needed = re.search(r'unsupported GLOBAL (\S+) whose module \S+ is blocked', message)
        if needed is not None:
            return f'the object {needed.group(1)}'
        if re.search(r'\S+ must be imported to load', message):
            return 'objects that are not plain data'
    if isinstance(err, RuntimeError) and 'legacy .tar format' in message:
        return 'objects in the legacy .tar format of torch < 0.4'
    return None


def _pickles_complete(path: str | os.PathLike) -> bool:
    """Whether the pickles ``torch.load`` reads from ``path`` parse to their end.

    Only the opcodes are parsed (:func:`pickletools.genops`): nothing is imported or run.
    """
    try:
        if zipfile.is_zipfile(path):
            streams = _zip_pickles(path)
            if not streams:
                return False
            for stream in streams:
                _parse_pickle(io.BytesIO(stream))
            return True
        if tarfile.is_tarfile(path):  # torch < 0.4; its members are checked by the tar reader
            return True
        with open(path, 'rb') as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            # torch.save before 1.6: magic number, protocol version, system info, the object,
            # the storage keys; mmap reads stop at the end of the file, whatever a length says.
            for _ in range(5):
                _parse_pickle(data)
        return True
    except Exception:  # any parse failure means a damaged file
        return False


def _parse_pickle(data: Any) -> None:
    for _ in pickletools.genops(data):
        pass
