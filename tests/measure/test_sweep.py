"""A whole `bench run` sweep in a few seconds, through the real pipeline (CLI, targets, deployment,
streaming with deadlines and restarts, results, --resume) on an in-process fake board: a HiKey 960
whose probe answers from the recorded sysfs tree (tests/fixtures/hikey960) and whose runner is a
Python stand-in speaking the runner's protocol (kernels_c/RUNNER.md).

Mocked, because no real part can exist here in a few seconds: the board's shell and runner (the
slow tests drive the real runner over a real sshd and under qemu), and the runner build (replaced
by a placeholder binary, so nothing compiles).
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import signal

import pytest

from bench.boards import transport
from bench.boards.probe import PROBE_SCRIPT
from bench.cli.main import main
from bench.measure import deploy
from bench.native.build import record_digest
from tests.support import FIXTURES

TREE = FIXTURES / "hikey960"
CRASH_CIN = 24       # a case with this Cin kills the fake runner (a crashing kernel)
UNSUPPORTED_CIN = 20  # a case the fake runner refuses, as the runner refuses what its build lacks


class FakeBoard:
    """What the fake board runs: its files, the runner processes it started, and whether a crashing
    case still crashes (`healed`)."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.started: list[list[str]] = []
        self.healed = False

    def probe_output(self) -> str:
        """The probe script's output on the recorded tree (the shell's `for f in GLOBS` loop)."""
        out = ["@@wb-probe@@ uname", "aarch64"]
        for pattern in PROBE_SCRIPT.split("for f in ", 1)[1].split("; do", 1)[0].split():
            for path in sorted(glob.glob(str(TREE) + pattern)):
                out += [f"@@wb-probe@@ file {path[len(str(TREE)):]}", open(path, errors="replace").read()]
        return "\n".join(out) + "\n"

    def runner(self, argv: list[str]) -> tuple[str, int]:
        """(stdout, exit status) of the runner on its cases file, as RUNNER.md says it prints."""
        self.started.append(argv)
        cpus = [int(c) for c in argv[argv.index("--cpus") + 1].split(",")]
        lines = [json.dumps({"type": "info", "runner_version": 1, "arch": "aarch64", "build_hash": "fake",
                             "compiler": "none", "cflags": "", "cpus": cpus, "threads": len(cpus)})]
        if "--peak" in argv:
            lines.append(json.dumps({"type": "peak", "cpu": cpus[-1], "f32_gflops": 8.0, "i8_gops": 10.0, "bw_gbs": 4.0}))
        cases = self.files[argv[argv.index("--cases") + 1]].decode().splitlines()
        for n, text in enumerate(cases, start=1):
            case = dict(tok.split("=", 1) for tok in text.split())
            if int(case["cin"]) == CRASH_CIN and not self.healed:
                return "\n".join(lines) + "\n", -signal.SIGSEGV
            lines.append(json.dumps(self.record(n, case, cpus)))
        return "\n".join(lines) + "\n", 0

    @staticmethod
    def record(n: int, case: dict, cpus: list[int]) -> dict:
        head = {"type": "case", "line": n, "id": case.get("id"), "cpus": cpus, "threads": len(cpus)}
        if int(case["cin"]) == UNSUPPORTED_CIN:
            return {**head, "status": "error", "error_kind": "unsupported", "message": "not in this build"}
        ms = 1e-6 * int(case["h"]) * int(case["w"]) * int(case["cin"]) * int(case["cout"])
        stats = lambda v: {"median": v, "mean": v, "min": v, "p10": v, "p90": v, "mad": 0.0, "samples": [v] * 3}
        return {**head, "status": "ok", "reps": 3, "total_ms": stats(ms), "input_ms": stats(ms / 4),
                "gemm_ms": stats(ms / 2), "output_ms": stats(ms / 4), "weight_transform_ms": 0.1,
                "gemm_gflops": 1.0, "checksum": "0" * 16}


class FakeTransport(transport.Transport):
    """The fake board behind the Transport interface: files in memory, commands answered at once."""

    board_state: FakeBoard

    def put(self, local, remote, mode=0o600):
        self.board_state.files[remote] = open(local, "rb").read()

    def get(self, remote, local):
        open(local, "wb").write(self.board_state.files[remote])

    def _make_private_dir(self, prefix):
        return f"/fake/tmp/{prefix}{len(self._made_dirs)}"

    def _remove_tree(self, path):
        for name in [f for f in self.board_state.files if f.startswith(path + "/")]:
            del self.board_state.files[name]

    def start(self, argv):
        argv = list(argv)
        out, status = "", 0
        if argv[:2] == ["sh", "-c"] and argv[2] == PROBE_SCRIPT:
            out = self.board_state.probe_output()
        elif argv[0] == "sha256sum":
            out = f"{hashlib.sha256(self.board_state.files[argv[1]]).hexdigest()}  {argv[1]}\n"
        elif argv[0].endswith("/wb-runner"):
            out, status = self.board_state.runner(argv)
        return transport.Process(io.BytesIO(out.encode()), io.BytesIO(b""), lambda timeout: status, lambda: None, 4242)


@pytest.fixture
def fake_board(boards_file, monkeypatch, tmp_path):
    state = FakeBoard()
    FakeTransport.board_state = state
    monkeypatch.setitem(transport.TRANSPORTS, "ssh", FakeTransport)
    placeholder = tmp_path / "wb-runner"
    placeholder.write_bytes(b"a placeholder: the fake board never runs it")
    record_digest(placeholder)   # as a build records it: deployments check it
    monkeypatch.setattr(deploy, "build_for", lambda board, cluster: placeholder)
    boards_file.add("fakehikey", host="fake-hikey", base="hikey960")
    return state


def rows(out) -> list[dict]:
    with open(out / "latency.csv", newline="") as f:
        return list(csv.DictReader(f))


def sweep(out, *more) -> int:
    return main(["run", "--board", "fakehikey", "--res", "4,8", "--cin", "16,20,24", "--cout", "16", "--algo",
                 "im2row,f4", "--transform", "static", "--bits", "32", "--no-errors", "--reps", "3",
                 "--min-time-ms", "1", "--out", str(out), *more])


def test_a_sweep_with_ok_rows_error_rows_a_crash_and_a_resume(fake_board, tmp_path, capsys):
    out = tmp_path / "r"
    assert sweep(out) == 1                         # some cases failed: exit 1, the table is whole
    first = rows(out)
    # 2 resolutions x 3 Cin x 2 algorithms, on both clusters (a53 and a73) of the board
    assert len(first) == 2 * 3 * 2 * 2 and {r["core"] for r in first} == {"a53", "a73"}
    by_cin = {cin: {r["status"] + ":" + r["error_kind"] for r in first if r["cin"] == cin} for cin in ("16", "20", "24")}
    assert by_cin == {"16": {"ok:"}, "20": {"error:unsupported"}, "24": {"error:crash"}}
    crash = next(r for r in first if r["error_kind"] == "crash")
    assert crash["message"] == "runner killed by SIGSEGV on this case"
    # Each crash cost only its own case: on each cluster the runner started once, then again after
    # each of its 4 crashing cases but the last one (no case left after it); pinned to the
    # cluster's last CPU.
    assert len(fake_board.started) == 2 * (1 + 3) and {r["cpus"] for r in first} == {"3", "7"}
    assert not any(name.startswith("/fake/tmp/") for name in fake_board.files)   # deployments removed
    assert "(8 ok, 16 failed this run)" in capsys.readouterr().out

    fake_board.healed = True
    assert sweep(out, "--resume") == 1             # the unsupported cases still fail
    again = rows(out)
    latest = {(r["core"], r["algo"], r["h"], r["cin"]): r for r in again}   # a retried key's last row wins
    assert len(latest) == len(first) and len(again) == len(first) + 16     # only the failed ones measured again
    assert {r["status"] for r in latest.values() if r["cin"] == "24"} == {"ok"}
    raw = [json.loads(l) for l in (out / "raw.jsonl").read_text().splitlines()]
    assert [r["type"] for r in raw].count("run") == 2 and [r["type"] for r in raw].count("run_end") == 2


def test_records_waiting_for_their_error_figures_are_not_kept_in_memory():
    """With no CPU left for the harness, error figures wait until timing is over; the records wait
    in an unnamed temporary file (capped samples), not in memory, and come back as they went in."""
    from bench.measure.protocol import CaseRecord
    from bench.measure.results import MAX_SAMPLES
    from bench.measure.sweep import _Deferred

    stats = lambda v: {"median": v, "mean": v, "min": v, "p10": v, "p90": v, "mad": 0.0, "samples": [v] * 5000}  # noqa: E731
    recs = [CaseRecord.from_saved({"type": "case", "line": i, "status": "ok", "board": "b", "core": "a73", "cpus": [4],
                                   "threads": 1, "reps": 5000, **{f"{s}_ms": stats(0.1 * i) for s in
                                                                    ("total", "input", "gemm", "output")}})
            for i in range(1, 4)]
    spool = _Deferred()
    for rec in recs:
        spool.add(rec)
    back = list(spool.records())
    assert [(r.line, r.where, r.stages["total"].median) for r in back] == [(r.line, r.where, r.stages["total"].median)
                                                                         for r in recs]
    assert all(len(r.stages["gemm"].samples) == MAX_SAMPLES for r in back)
    assert list(spool.records()) == []   # read once
