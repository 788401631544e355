"""Atomic file writes: a reader sees the old file or the new one, never a half-written one."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ['atomic_write_bytes', 'atomic_write_text']


def _default_mode() -> int:
    """Permissions of a newly created file under the current umask (``0o666 & ~umask``)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    The file gets the permissions of an ordinary new file (``tempfile.mkstemp`` would leave it
    readable by its owner only). If anything fails, ``path`` is left as it was and the temporary
    file is removed.

    Raises:
        ValueError: for an empty file name.
        OSError: naming ``path`` (not the temporary file) when it cannot be written: a directory,
            a folder that cannot be created, no permission, a full disk.
    """
    if not os.fspath(path):
        raise ValueError('cannot write a file with an empty name')
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f'cannot write {path}: it is a directory; give a file name')
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    except OSError as err:
        raise OSError(err.errno, f'cannot write {path}: {err.strerror or err}') from err
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _default_mode())
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise OSError(err.errno, f'cannot write {path}: {err.strerror or err}') from err
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode('utf-8'))
