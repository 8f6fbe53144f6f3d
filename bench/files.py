"""Files: where the package finds what it ships and caches what it makes, and output files written
whole or not at all.

- Shipped files: a source checkout and an installed wheel behave alike: the board profiles and
  board-side scripts (`remote/`), the kernel sources (`kernels_c/`), and a per-user cache for builds
  and emulated-board images.
- Input: JSON or TOML mapping files (layers, assignments), read with one-line errors.
- Output: a directory checked before any work (`output_dir`) and files replaced in one rename
  (`replacing`), so a results file is never half-written.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tomllib
from pathlib import Path

from bench.errors import UsageError

_SOURCE_ROOT = Path(__file__).resolve().parent.parent
# Where a wheel installs the shipped files (pyproject.toml's data-files): <prefix>/share/winobench.
_INSTALLED_ROOT = Path(sys.prefix) / "share" / "winobench"


def _shipped(name: str) -> Path:
    """A source checkout's own copy when there is one, else the installed one."""
    here = _SOURCE_ROOT / name
    return here if here.is_dir() else _INSTALLED_ROOT / name


def remote_dir() -> Path:
    """Board profiles (`boards/*.toml`) and scripts that run on a board."""
    return _shipped("remote")


def kernels_dir() -> Path:
    """The C sources, headers and runner (`kernels_c/`)."""
    return _shipped("kernels_c")


def build_dir() -> Path:
    """Where runner builds go: `kernels_c/build` in a source checkout, the per-user cache for an
    installed package (its share/ directory is not the user's to write)."""
    k = kernels_dir()
    return k / "build" if k.parent == _SOURCE_ROOT else user_cache_dir() / "build"


def user_cache_dir() -> Path:
    """Per-user cache (`$XDG_CACHE_HOME/winobench`, default `~/.cache/winobench`); not created here."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "winobench"


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


def read_mapping(path: Path, what: str) -> dict:
    """A JSON file, or TOML for a `.toml` path, holding a table at the top (a layers or assignment
    file); UsageError naming the file and what is wrong with it."""
    try:
        text = path.read_text()
    except OSError as e:
        raise UsageError(f"cannot read the {what} file {path}: {e.strerror}") from None
    try:
        doc = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise UsageError(f"{path} is not a valid {'TOML' if path.suffix == '.toml' else 'JSON'} {what} file ({e})") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: a {what} file holds a table/object at the top")
    return doc
