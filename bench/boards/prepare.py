"""Board preparation for measuring: `bench board prepare NAME` pushes `remote/prepare.sh` and runs it
on the measured clusters' CPUs (governor performance, frequency locked at the maximum; idle states
and thermal trip points reported); `bench board restore NAME` puts back what it changed.

Where the record of the original values lives:
- on the board, in a private directory of the login user (mode 0700; a symlink or another user's
  directory is refused): `<workdir>/winobench-state/` when the profile sets `workdir`, else
  `~/.local/state/winobench/`;
- on this machine, `user_cache_dir()/prepared/NAME.state` (directory 0700, file 0600). This copy is
  the authoritative one: `restore` pushes it into a fresh private directory and applies it; the
  board's copy only keeps a second `prepare` from overwriting the originals.

Every line of a record is checked, here and by the script, to be one prepare could have written
(the cpufreq governor, minimum or maximum frequency of one CPU, with a plain value), so a record
tampered with cannot make `restore` write anything else. Running `prepare` is the user's consent: it
is a separate command, never a side effect of `bench run`.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
from pathlib import Path

from bench.boards.leftovers import remove_leftovers
from bench.boards.probe import probe_board
from bench.boards.profiles import Board, resolve_core
from bench.boards.transport import Transport, open_transport
from bench.errors import MeasurementError, UsageError
from bench.files import (check_name, check_private_dir, make_scratch_dir, read_text, remote_dir, remove_dead_scratch,
                         replacing, user_cache_dir)

SCRIPT = remote_dir() / "prepare.sh"
STATE_NAME = "prepare.state"
TIMEOUT_S = 120
# The lines prepare.sh records (for ROOT "/"), the same rule as its valid_line.
_LINE = re.compile(r"/sys/devices/system/cpu/cpu([0-9]+)/cpufreq/"
                   r"(scaling_governor\t[A-Za-z0-9_]+|scaling_(?:min|max)_freq\t[0-9]+)")


def local_state_copy(board: Board) -> Path:
    """This machine's (authoritative) copy of a prepared board's original settings."""
    return user_cache_dir() / "prepared" / f"{check_name(board.name)}.state"


def check_record(text: str, where) -> str:
    """`text` if every line is one prepare.sh records; else UsageError naming `where` and the line."""
    for n, line in enumerate(text.splitlines(), start=1):
        if not _LINE.fullmatch(line):
            raise UsageError(f"{where} line {n} is not a cpufreq value `bench board prepare` records; "
                             f"refusing to restore from it")
    return text


def prepare(board: Board, core_arg: str | None) -> str:
    """Prepare `board`'s CPUs of `core_arg` (default: every cluster, as read from the board);
    returns the script's report."""
    copy = local_state_copy(board)
    if copy.exists():
        raise UsageError(f"board {board.name!r} is already prepared ({copy}); `bench board restore {board.name}` first")
    with probe_board(board) as reached:
        cpus = sorted({cpu for c in resolve_core(reached.board, core_arg) for cpu in c.cpus})
        t = reached.transport
        state_dir = board_state_dir(t)
        out, _ = _run_script(t, ["prepare", "/", state_dir, *map(str, cpus)], fetch=state_dir)
    return out


def board_state_dir(t: Transport) -> str:
    """The board's private state directory (see the module docstring), as an absolute path."""
    if t.board.workdir:
        base = os.path.expanduser(t.board.workdir) if t.board.transport != "ssh" else t.board.workdir
        return posixpath.join(base, "winobench-state")
    res = t.run(["sh", "-c", 'printf "%s\\n" "$HOME"'], timeout=30)
    home = res.stdout[:-1]   # the line's newline
    if res.returncode != 0 or not home.startswith("/") or "\n" in home:
        raise MeasurementError(f"{t.board.name}: cannot tell the login user's home directory on the board")
    return posixpath.join(home, ".local", "state", "winobench")


def _keep(board: Board, state: str) -> None:
    """This machine's copy of what the board recorded, private to the user."""
    copy = local_state_copy(board)
    copy.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    check_private_dir(copy.parent, "board preparation records")
    with replacing(copy, mode=0o600) as tmp:
        tmp.write_text(state)


def restore(board: Board) -> str:
    """Put back what `prepare` changed on `board`, from this machine's record; returns the report."""
    copy = local_state_copy(board)
    if not copy.exists():
        raise UsageError(f"board {board.name!r} was not prepared from here (no {copy})")
    check_private_dir(copy.parent, "board preparation records")
    record = check_record(read_text(copy, "preparation record", limit=2 ** 20), copy)
    with open_transport(board) as t:
        out, _ = _run_script(t, ["restore", "/", board_state_dir(t)], push=record)
    copy.unlink()
    return out


def _run_script(t: Transport, args: list[str], fetch: str | None = None, push: str | None = None):
    """Push the script (and the record to restore, as the last argument) into a private directory,
    run it, remove the directory on every exit path. With `fetch` (the board's state directory):
    the record the script wrote there is checked and kept on this machine, also after a failure."""
    name = t.board.name
    remove_leftovers(t)
    remove_dead_scratch("wb-deploy-")
    local, tmp, state = make_scratch_dir("wb-deploy-"), None, None
    try:
        tmp = t.mkdtemp("wb-prepare.")
        script = posixpath.join(tmp, "prepare.sh")
        t.put(SCRIPT, script, 0o700)
        if push is not None:
            (local / "record").write_text(push)
            t.put(local / "record", posixpath.join(tmp, "record"), 0o600)
            args = [*args, posixpath.join(tmp, "record")]
        res = t.run(["sh", script, *args], timeout=TIMEOUT_S)
        if fetch is not None and res.returncode != 2:
            state = _fetch(t, posixpath.join(fetch, STATE_NAME), tmp, local, required=res.returncode == 0)
    finally:
        shutil.rmtree(local, ignore_errors=True)
        if tmp is not None:
            t.cleanup(tmp)
    output = (res.stdout + res.stderr).strip()
    if res.returncode == 2:
        raise UsageError(f"{name}: {res.stderr.strip() or res.stdout.strip()}")
    if res.returncode != 0:
        raise MeasurementError(f"{name}: board preparation failed:\n{output}")
    return output, state


def _fetch(t: Transport, remote: str, tmp: str, local: Path, required: bool) -> str | None:
    """The record prepare wrote on the board (in the user's own 0700 state directory), checked and
    kept as this machine's copy: also after a failure, since some values may have changed before
    it. None when there is none and the script failed anyway (its error says why)."""
    copied = posixpath.join(tmp, "fetched")
    if t.run(["cp", "--", remote, copied], timeout=30).returncode != 0:
        if required:
            raise MeasurementError(f"{t.board.name}: prepare wrote no record at {remote}")
        return None
    t.get(copied, local / "state")
    text = check_record(read_text(local / "state", "preparation record", limit=2 ** 20), f"{t.board.name}:{remote}")
    _keep(t.board, text)
    return text
