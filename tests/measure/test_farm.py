"""Board farms against two real sshd servers on 127.0.0.1 (both are this machine underneath; their
profiles make them one kind or two)."""

import dataclasses
import os
import socket
import time

import pytest

from bench.boards.probe import Reached
from bench.boards.profiles import load_board, load_boards
from bench.errors import UsageError
from bench.measure.deploy import StreamOptions, jobs_of
from bench.measure.farm import run_farm
from bench.measure.protocol import CaseRecord, InfoRecord
from bench.measure.targets import split
from tests.support import spec

FAST = ["--min-time-ms", "20", "--min-reps", "3"]
QEMU = "qemu-aarch64-static -cpu cortex-a53"
SWEEP = [spec(a, 8, c, id=f"{a}-{c}") for a, c in [("im2row", 8), ("f2", 8), ("f4", 16), ("f6", 16), ("f4", 8)]]


def by_board(lines):
    out = {}
    for l in lines:
        if isinstance(l, CaseRecord):
            out.setdefault(l.where.board, []).append(l)
    return out


def test_same_kind_boards_share_the_sweep_in_parallel(ssh_farm):
    boards = load_boards([ssh_farm.group])                  # the group expands to both servers
    assert [b.name for b in boards] == ["sshtest1", "sshtest2"]
    t0 = time.monotonic()
    arrivals = []
    lines = []
    for l in run_farm(boards, None, SWEEP, StreamOptions(extra_args=["--min-time-ms", "700", "--min-reps", "3"])):
        arrivals.append((time.monotonic() - t0, type(l).__name__, l.where.board))
        lines.append(l)
    got = by_board(lines)
    # Same machine behind both: one kind, so the five cases are split 3 + 2, each measured once.
    assert sorted(got) == ["sshtest1", "sshtest2"]
    assert [c.line for c in got["sshtest1"]] == [1, 3, 5] and [c.line for c in got["sshtest2"]] == [2, 4]
    assert all(c.status == "ok" for cs in got.values() for c in cs)
    # In parallel: each board's runner had started before the other one finished.
    starts = {b: t for t, kind, b in arrivals if kind == "InfoRecord"}
    ends = {b: max(t for t, kind, bb in arrivals if bb == b) for b in starts}
    assert starts["sshtest2"] < ends["sshtest1"] and starts["sshtest1"] < ends["sshtest2"]
    for info in (l for l in lines if isinstance(l, InfoRecord)):
        assert not os.path.exists(info.deploy.remote_dir)


def test_different_kinds_each_run_everything(ssh_farm, sshd_server2):
    # Server 2 becomes an emulated Cortex-A53 board (aarch64 runner under qemu): another kind.
    ssh_farm.file.add("sshtest2", sshd_server2, arch="aarch64", exec_prefix=QEMU, emulated=True,
                      clusters=[{"core": "a53", "mcpu": "cortex-a53"}])
    boards = load_boards(["sshtest1", "sshtest2"])
    lines = list(run_farm(boards, "all", SWEEP, StreamOptions(extra_args=FAST)))
    got = by_board(lines)
    for name, core, emulated in [("sshtest1", "host", False), ("sshtest2", "a53", True)]:
        assert [c.line for c in got[name]] == [1, 2, 3, 4, 5]
        assert {(c.status, c.where.core, c.where.emulated) for c in got[name]} == {("ok", core, emulated)}
    # The merged table: one row per (board, case), told apart by the board column.
    assert len({(c.where.board, c.id) for cs in got.values() for c in cs}) == 10


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_board_leaves_its_share_to_its_peers(ssh_farm, sshd_server):
    ssh_farm.file.add("sshtest1", sshd_server, kind="lab")
    ssh_farm.file.add("down", sshd_server, kind="lab", port=_closed_port(), connect_timeout=5)
    ssh_farm.file.add("alone", sshd_server, kind="other", port=_closed_port(), connect_timeout=5)
    boards = load_boards(["sshtest1", "down", "alone"])
    got = by_board(list(run_farm(boards, None, SWEEP, StreamOptions(extra_args=FAST))))
    assert [c.line for c in got["sshtest1"]] == [1, 2, 3, 4, 5]
    assert "down" not in got
    # No reachable board of its kind: its cases come back as connect errors, not silence.
    assert [(c.line, c.error_kind) for c in got["alone"]] == [(n, "connect") for n in range(1, 6)]


def test_a_core_missing_on_one_board_stops_the_farm_before_it_starts(ssh_farm, sshd_server2):
    ssh_farm.file.add("sshtest2", sshd_server2, arch="aarch64", exec_prefix=QEMU, emulated=True,
                      clusters=[{"core": "a53"}])
    boards = load_boards(["sshtest1", "sshtest2"])
    before = set(os.listdir("/tmp"))
    with pytest.raises(UsageError, match="board 'sshtest1' has no core 'a53'"):
        list(run_farm(boards, "a53", SWEEP))
    assert not {d for d in set(os.listdir("/tmp")) - before if d.startswith("wb-runner.")}


def test_plan_with_explicit_kinds():
    hk = load_board("hikey960")
    a, b = (dataclasses.replace(hk, name=n) for n in ("hk-a", "hk-b"))
    pi = load_board("rpi4")
    jobs = jobs_of(SWEEP)
    # nothing reached: profile kinds decide, and every board of a kind shares its cases
    shares = split({r.board.name: r for r in (Reached(a), Reached(b), Reached(pi))}, jobs)
    assert [c.line for c in shares["hk-a"]] == [1, 3, 5] and [c.line for c in shares["hk-b"]] == [2, 4]
    assert [c.line for c in shares["rpi4"]] == [1, 2, 3, 4, 5]
