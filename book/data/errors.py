"""The errors and warnings of `book.data`, and how operating-system errors become them.

Every failure a learner can meet while getting a corpus (no network, a corrupt file, a folder
that cannot be read or written) is raised as `DataError`, whose message says what went wrong and
what to do about it. A raw `PermissionError` or `NotADirectoryError` from deep inside the
downloader says neither, so `os_problem()` turns those into one sentence a newcomer can act on.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

__all__ = ["DataError", "DataWarning", "os_problem", "os_reason"]


class DataError(RuntimeError):
    """A corpus file could not be found, downloaded or verified; the message says what to do."""


class DataWarning(UserWarning):
    """Something was wrong but could be repaired (e.g. a corrupt cached file was replaced)."""


def os_problem(exc: OSError, path: str | os.PathLike[str] | None = None) -> str:
    """``<path>: <what went wrong>`` for an OS error, in plain words (without the remedy)."""
    where = Path(path) if path is not None else (Path(exc.filename) if exc.filename else None)
    what = os_reason(exc)
    return f"{where}: {what}" if where is not None else what


def os_reason(exc: OSError) -> str:
    """What went wrong in an OS error, in plain words, without the path (e.g. "permission
    denied"), for sentences that already name the path."""
    code = exc.errno
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM):
        what = "permission denied"
    elif code == errno.EROFS:
        what = "the file system is read-only"
    elif isinstance(exc, NotADirectoryError) or code == errno.ENOTDIR:
        what = "a part of this path is a file, not a folder"
    elif isinstance(exc, IsADirectoryError) or code == errno.EISDIR:
        what = "it is a folder, not a file"
    elif isinstance(exc, FileNotFoundError) or code == errno.ENOENT:
        what = "it does not exist"
    elif code == errno.ENOSPC:
        what = "no space left on the device"
    else:
        what = exc.strerror or type(exc).__name__
    return what
