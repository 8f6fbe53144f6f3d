"""The default board: `default = "NAME"` at the top of the user's boards file, `$BENCH_BOARD` winning
over it, an unknown default as a one-line error naming where it came from, and `bench boards`
showing which one it is."""

import os
import subprocess
import sys

import pytest

from bench.boards.profiles import DEFAULT_ENV, default_board, load_board
from bench.errors import UsageError


def bench(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "bench", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def with_default(boards_file, name):
    boards_file.path.write_text(f'default = "{name}"\n' + boards_file.path.read_text())


@pytest.fixture(autouse=True)
def no_env_default(monkeypatch):
    monkeypatch.delenv(DEFAULT_ENV, raising=False)


def test_without_a_default_it_is_local(boards_file):
    assert default_board() == ("local", "built in")
    assert load_board().name == "local"


def test_the_user_files_default_and_the_environment_winning(boards_file, monkeypatch):
    with_default(boards_file, "rpi4")
    assert load_board().name == "rpi4"
    assert default_board()[1] == f"default in {boards_file.path}"
    monkeypatch.setenv(DEFAULT_ENV, "hikey960")
    assert load_board().name == "hikey960" and default_board()[1] == "$BENCH_BOARD"
    assert load_board("qemu-a53").name == "qemu-a53"   # a named board still wins


def test_unknown_default_is_one_line_naming_its_source(boards_file):
    with_default(boards_file, "nosuch")
    with pytest.raises(UsageError, match=r"unknown default board 'nosuch' \(from default in .*boards.toml\); accepted: .*hikey960"):
        load_board()
    res = bench("run", "--core", "a53", "--bits", "8", env={"BENCH_BOARD": "gone"})
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "bench: error: unknown default board 'gone' (from $BENCH_BOARD); accepted: hikey960, local, qemu-a53")


def test_bench_boards_marks_the_default(boards_file):
    with_default(boards_file, "qemu-a53")
    out = bench("boards").stdout
    assert any(line.startswith("qemu-a53 *") for line in out.splitlines())
    assert f"default board: qemu-a53 (default in {boards_file.path}); marked *" in out


@pytest.mark.slow
def test_bench_run_goes_to_the_default_board(boards_file, tmp_path):
    """`bench run --core a53 --bits 8` as written, with the qemu-user board as the default."""
    res = bench("run", "--core", "a53", "--bits", "8", "--algo", "f2", "--transform", "static", "--res", "4",
                "--channels", "4", "--reps", "2", "--min-time-ms", "1", "--no-errors", "--out", tmp_path / "r",
                env={"BENCH_BOARD": "qemu-a53"}, timeout=600)
    assert res.returncode == 0, res.stderr
    rows = (tmp_path / "r" / "latency.csv").read_text().splitlines()
    header = rows[0].split(",")
    first = dict(zip(header, rows[1].split(",")))
    assert (first["board"], first["core"], first["bits"], first["status"]) == ("qemu-a53", "a53", "8", "ok")
