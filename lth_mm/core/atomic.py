"""Atomic file writes: a reader sees the old file or the new one, never a half-written one."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ['atomic_write_bytes', 'atomic_write_text']


def _umask() -> int:
    """The process's umask, read without changing it where Linux tells it (``/proc``): setting
    it to read it back would, for a moment, apply another umask to files other threads create."""
    try:
        with open('/proc/self/status', encoding='ascii', errors='replace') as status:
            for line in status:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _default_mode() -> int:
    """Permissions of a newly created file under the current umask (``0o666 & ~umask``)."""
    return 0o666 & ~_umask()


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` survive a power cut (POSIX: fsync the folder); a no-op where
    folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the rename itself is still atomic
    finally:
        os.close(fd)


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
        _sync_folder(path.parent)
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
