"""What killed runs leave on a board (bench.boards.leftovers) and in this machine's TMPDIR
(bench.files.remove_dead_scratch): only marked directories of this user, made by a process that has
ended (or, for `bench board clean`, made elsewhere and idle), are removed; nothing a live process
uses, nothing unmarked, nothing behind a symlink. The board is this machine (the local transport
runs the same listing script an SSH board runs); the whole path over a real sshd is in
tests/e2e/test_faults.py."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from bench.boards.leftovers import clean_board, remove_leftovers
from bench.boards.profiles import load_board
from bench.boards.transport import open_transport
from bench.files import OWNER_MARK, make_scratch_dir, process_identity, remove_dead_scratch


def marked(path: Path, identity: str) -> Path:
    path.mkdir(mode=0o700)
    (path / OWNER_MARK).write_text(f"winobench {identity}\n")
    return path


def dead_identity() -> str:
    machine, boot, pid, start = process_identity().split()
    return f"{machine} {boot} {pid} {int(start) + 1}"   # this pid, but started at another time: ended


def test_only_what_ended_processes_left_is_removed(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_text("x")
    dead = marked(work / "wb-runner.dead1", dead_identity())
    alive = marked(work / "wb-runner.alive1", process_identity())
    elsewhere = marked(work / "wb-prepare.other1", "0123456789abcdef0123456789abcdef-elsewhere b 1 2")
    busy = marked(work / "wb-runner.busy1", "0123456789abcdef0123456789abcdef-elsewhere b 1 2")
    (work / "wb-runner.unmarked").mkdir()
    (work / "wb-runner.link1").symlink_to(victim)
    (victim / OWNER_MARK).write_text(f"winobench {dead_identity()}\n")   # marked, but behind a symlink
    board = dataclasses.replace(load_board("local"), workdir=str(work))
    user = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", f"{busy}/wb-runner"])
    try:
        with open_transport(board) as t:
            assert remove_leftovers(t) == [str(dead)]
            assert sorted(os.listdir(work)) == ["wb-prepare.other1", "wb-runner.alive1", "wb-runner.busy1",
                                                "wb-runner.link1", "wb-runner.unmarked"]
            removed, kept = clean_board(t)   # made elsewhere and idle: removed too
            assert (removed, sorted(kept)) == ([str(elsewhere)], sorted([str(alive), str(busy)]))
    finally:
        user.kill()
        user.wait()
    assert (victim / "precious").exists() and alive.exists() and busy.exists()


def test_scratch_directories_of_ended_processes_are_removed_here(tmp_path):
    mine = make_scratch_dir("wb-deploy-", tmp_path)
    gone = marked(tmp_path / "wb-deploy-gone", dead_identity())
    (tmp_path / "wb-deploy-unmarked").mkdir()
    assert remove_dead_scratch("wb-deploy-", tmp_path) == [gone]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, "wb-deploy-unmarked"])
    assert oct(mine.stat().st_mode & 0o777) == "0o700"
