"""Board preparation for measuring: `bench board prepare NAME` pushes `remote/prepare.sh` and runs it
on the measured clusters' CPUs (governor performance, frequency locked at the maximum; idle states
and thermal trip points reported); `bench board restore NAME` puts back what it changed.

The script records every original value in a state file on the board before it writes; a copy is
kept on this machine (`user_cache_dir()/prepared/NAME.state`), so a restore works even if the
board's copy is gone (e.g. /var/tmp cleaned). Running `prepare` is the user's consent: it is a
separate command, never a side effect of `bench run`.
"""

from __future__ import annotations

import posixpath
import tempfile
from pathlib import Path

from bench.boards.profiles import Board, resolve_core
from bench.errors import MeasurementError, UsageError
from bench.files import remote_dir, user_cache_dir
from bench.boards.probe import probe_board
from bench.boards.transport import Transport, open_transport

SCRIPT = remote_dir() / "prepare.sh"
BOARD_STATE = "/var/tmp/winobench-prepare.state"
TIMEOUT_S = 120


def local_state_copy(board: Board) -> Path:
    """This machine's copy of a prepared board's saved settings (the board keeps BOARD_STATE)."""
    return user_cache_dir() / "prepared" / f"{board.name}.state"


def prepare(board: Board, core_arg: str | None) -> str:
    """Prepare `board`'s CPUs of `core_arg` (default: every cluster, as read from the board);
    returns the script's report."""
    if local_state_copy(board).exists():
        raise UsageError(f"board {board.name!r} is already prepared ({local_state_copy(board)}); "
                         f"`bench board restore {board.name}` first")
    with probe_board(board) as reached:
        cpus = sorted({cpu for c in resolve_core(reached.board, core_arg) for cpu in c.cpus})
        out, state = _run_script(reached.transport, ["prepare", "/", BOARD_STATE, *map(str, cpus)], fetch_state=True)
    _keep(board, state)
    return out


def _keep(board: Board, state: str | None) -> None:
    """This machine's copy of what the board recorded (restore falls back on it)."""
    if state is not None:
        local_state_copy(board).parent.mkdir(parents=True, exist_ok=True)
        local_state_copy(board).write_text(state)


def restore(board: Board) -> str:
    """Put back what `prepare` changed on `board`; returns the script's report."""
    copy = local_state_copy(board)
    if not copy.exists():
        raise UsageError(f"board {board.name!r} was not prepared from here (no {copy})")
    with open_transport(board) as t:
        out, _ = _run_script(t, ["restore", "/", BOARD_STATE], push_state=copy.read_text())
    copy.unlink()
    return out


def _run_script(t: Transport, args: list[str], fetch_state: bool = False, push_state: str | None = None):
    """Push the script into a private directory, run it, remove the directory on every exit path.
    Returns (output, the board's state file text when fetch_state and it exists)."""
    name = t.board.name
    tmp = t.mkdtemp("wb-prepare.")
    try:
        script = posixpath.join(tmp, "prepare.sh")
        t.put(SCRIPT, script, 0o700)
        if push_state is not None and t.run(["test", "-f", BOARD_STATE], timeout=30).returncode != 0:
            with tempfile.TemporaryDirectory(prefix="wb-prepare-") as local:
                (Path(local) / "state").write_text(push_state)
                t.put(Path(local) / "state", BOARD_STATE, 0o600)   # the board lost its copy: use ours
        res = t.run(["sh", script, *args], timeout=TIMEOUT_S)
        state = _fetch(t) if fetch_state else None
    finally:
        t.cleanup(tmp)
    output = (res.stdout + res.stderr).strip()
    if res.returncode == 2:
        raise UsageError(f"{name}: {res.stderr.strip() or res.stdout.strip()}")
    if res.returncode != 0:
        _keep(t.board, state)   # some values may have changed before the error: keep the record
        raise MeasurementError(f"{name}: board preparation failed:\n{output}")
    return output, state


def _fetch(t) -> str | None:
    if t.run(["test", "-f", BOARD_STATE], timeout=30).returncode != 0:
        return None
    with tempfile.TemporaryDirectory(prefix="wb-prepare-") as tmp:
        t.get(BOARD_STATE, Path(tmp) / "state")
        return (Path(tmp) / "state").read_text()
