"""Where the package finds the files it ships and where it caches what it makes.

One place for these paths, so that a source checkout and an installed wheel behave alike: the
board profiles and board-side scripts (`remote/`), the kernel sources (`kernels_c/`), and a
per-user cache for builds and emulated-board images.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

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
