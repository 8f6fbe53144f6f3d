"""Output files written whole or not at all, in an output directory checked before any work."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from bench.errors import UsageError


def output_dir(path, flag: str = "--out") -> Path:
    """`path` as a directory, created if missing; an existing file there is bad input (exit 2), while
    a path the machine cannot create (under a file, read-only, /proc) raises its OSError (exit 1)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {path} is a file, not a directory")
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def replacing(path: Path):
    """A temporary path beside `path` to write to: on success it replaces `path` in one rename, on any
    error it is removed, so `path` is never half-written. A new file follows the user's umask."""
    path = path.resolve() if path.is_symlink() else path  # write through a symlink, keep the link
    if path.exists() and not path.is_file():  # never rename over a directory, device or FIFO
        raise UsageError(f"{path} exists and is not a regular file")
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")  # same suffix: writers go by it
    try:
        yield tmp
        if path.exists():
            shutil.copymode(path, tmp)  # a file replaced keeps its mode (e.g. a private 0600 boards file)
        os.replace(tmp, path)
    except OSError as e:
        if e.filename is None or str(e.filename) == str(tmp):  # name the file being written, not the temporary one
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise
    finally:
        with contextlib.suppress(OSError):  # e.g. under a file: there is no temporary to remove
            tmp.unlink(missing_ok=True)
