"""The suite never reads the user's own configuration (tests/conftest.py): a user with a default
board of their own, in ~/.config/bench/boards.toml, in $XDG_CONFIG_HOME and in $BENCH_BOARD, with
an ~/.ssh/config naming it, runs the tests that go to the default board exactly as anyone else, and
that board is never contacted."""

import os
import socket
import subprocess
import sys
import threading

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow   # runs a few tests, a sweep among them, in a pytest of its own

# The tests a default board of the user's would change: each reaches the default board.
TESTS = ["tests/boards/test_profiles.py::test_local_board_is_this_machine",
         "tests/cli/test_default_board.py::test_without_a_default_it_is_local",
         "tests/e2e/test_faults.py::test_a_full_disk_stops_the_sweep_with_one_line_and_whole_files"]


def users_own_setup(home, port: int) -> dict:
    """A home whose configuration names a board of its own at 127.0.0.1:`port` as the default."""
    board = f'[boards.mine]\nhost = "127.0.0.1"\nport = {port}\nuser = "me"\nconnect_timeout = 5\n'
    for config in (home / ".config", home / "xdg-config"):
        (config / "bench").mkdir(parents=True)
        (config / "bench" / "boards.toml").write_text('default = "mine"\n' + board)
    (home / ".ssh").mkdir(mode=0o700)
    (home / ".ssh" / "config").write_text(f"Host *\n  Port {port}\n  User me\n")
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / "xdg-config"), "BENCH_BOARD": "mine",
            "BENCH_BOARDS_FILE": str(home / ".config" / "bench" / "boards.toml")}


def test_a_users_default_board_changes_no_test(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    contacted = []

    def watch():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            contacted.append(conn)

    threading.Thread(target=watch, daemon=True).start()
    env = {**os.environ, **users_own_setup(tmp_path / "home", listener.getsockname()[1])}
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    finally:
        listener.close()
    assert done.returncode == 0 and f"{len(TESTS)} passed" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]
    assert contacted == []   # the user's board was never reached
