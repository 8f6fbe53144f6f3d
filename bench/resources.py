"""Where the package finds the files it ships and where it caches what it makes.

One place for these paths, so that a source checkout and an installed wheel behave alike: the
board profiles and board-side scripts (`remote/`), the kernel sources (`kernels_c/`), and a
per-user cache for builds and emulated-board images.
"""

from __future__ import annotations

import os
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def remote_dir() -> Path:
    """Board profiles (`boards/*.toml`) and scripts that run on a board: `remote/` of a source
    checkout, else the copy a wheel ships as `bench/remote` (pyproject.toml's package-dir)."""
    source = _SOURCE_ROOT / "remote"
    return source if source.is_dir() else Path(__file__).resolve().parent / "remote"


def kernels_dir() -> Path:
    """The C sources, headers and runner (`kernels_c/`)."""
    return _SOURCE_ROOT / "kernels_c"


def user_cache_dir() -> Path:
    """Per-user cache (`$XDG_CACHE_HOME/winobench`, default `~/.cache/winobench`); not created here."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "winobench"
