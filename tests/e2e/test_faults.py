"""The fault table (docs/faults.md), each row against the real OpenSSH server on 127.0.0.1: what a
fault costs (rows lost, rows duplicated, processes or directories left on the board) and how long it
takes to notice. The board's work directory is a fresh directory per test, so "nothing left" is
checked on the board's filesystem and in its process table (the board is this machine)."""

import contextlib
import dataclasses
import json
import os
import signal
import stat
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from bench.boards.profiles import load_board, resolve_core
from bench.measure.deploy import StreamOptions
from bench.measure.farm import run_runner
from bench.measure.protocol import CaseRecord
from bench.measure.results import CSV_DTYPES, KEY_COLUMNS

from tests.support import spec, start_sshd

pytestmark = pytest.mark.slow

FAST = ["--min-time-ms", "20", "--min-reps", "3"]
QUICK = dict(algo="im2row", h=8, c=8)
LONG = dict(algo="f4", h=64, c=256, reps=100000)   # minutes


def bench(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "bench", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def runners_under(workdir: Path) -> list[int]:
    """PIDs of processes whose command line names `workdir` (the runners deployed there)."""
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                cmd = (p / "cmdline").read_bytes()
                state = (p / "stat").read_text().rsplit(") ", 1)[1][0]
            except OSError:
                continue
            argv0 = cmd.split(b"\0")[0]
            if argv0.startswith(str(workdir).encode()) and argv0.endswith(b"/wb-runner") and state not in "ZX":
                pids.append(int(p.name))
    return pids


def wait_for_runner(workdir: Path, proc=None, timeout=120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = runners_under(workdir)
        if pids:
            return pids[0]
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"bench ended before a runner started: {proc.communicate()[1]}")
        time.sleep(0.05)
    raise AssertionError("no runner started")


def nothing_left(workdir: Path, wait=10.0) -> bool:
    deadline = time.monotonic() + wait
    while runners_under(workdir) or os.listdir(workdir):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def board(boards_file, sshd_server, tmp_path):
    work = tmp_path / "board-work"
    work.mkdir()
    name = boards_file.add("faulty", sshd_server, workdir=str(work))
    return load_board(name), work


def host_cluster():
    return resolve_core(load_board("local"), "all")[-1]


def cases(lines):
    return [l for l in lines if isinstance(l, CaseRecord)]


def test_stopped_runner_times_out_and_the_rest_is_measured(board):
    """SIGSTOP of the runner: the case in flight becomes a timeout row after its deadline, the
    runner is killed on the board (a stopped process dies of SIGKILL too) and started again."""
    b, work = board
    gen = run_runner(b, host_cluster(), [spec(**LONG, id="stopped"), spec(**QUICK, id="next")], StreamOptions(case_timeout=4, extra_args=FAST))
    info = next(gen)
    os.kill(info.deploy.pid, signal.SIGSTOP)
    t0 = time.monotonic()
    got = cases(list(gen))
    assert [(c.id, c.status, c.error_kind) for c in got] == [
        ("stopped", "error", "timeout"), ("next", "ok", None)]
    print(f"\nFAULT SIGSTOP: detected in {time.monotonic() - t0:.1f} s (case timeout 4 s)")
    assert time.monotonic() - t0 < 15 and nothing_left(work)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV])
def test_killed_runner_gives_a_crash_row_naming_the_signal(board, sig):
    b, work = board
    gen = run_runner(b, host_cluster(), [spec(**LONG, id="victim"), spec(**QUICK, id="next")], StreamOptions(extra_args=FAST))
    info = next(gen)
    os.kill(info.deploy.pid, sig)
    t0 = time.monotonic()
    got = [next(l for l in gen if isinstance(l, CaseRecord))]
    print(f"\nFAULT {sig.name}: detected in {time.monotonic() - t0:.2f} s")
    got += cases(list(gen))
    assert [(c.id, c.error_kind) for c in got] == [("victim", "crash"), ("next", None)]
    assert got[0].message.startswith(f"runner killed by {sig.name}") and nothing_left(work)


def test_a_case_that_crashes_on_every_try_costs_only_itself(board, tmp_path):
    """A wrapper on the board kills the runner with SIGSEGV whenever the poisoned case is the first
    of its cases file: the cases after it are measured, on every try (as on every --resume)."""
    b, work = board
    wrapper = tmp_path / "poison.sh"
    wrapper.write_text('#!/bin/sh\nfor last; do :; done\n'
                       'if head -1 "$last" | grep -q "id=poison"; then\n'
                       '  "$@" & p=$!; sleep 0.5; kill -SEGV $p; wait $p; exit $?\nfi\nexec "$@"\n')
    wrapper.chmod(0o755)
    poisoned = dataclasses.replace(b, exec_prefix=str(wrapper))
    text = [spec(**LONG, id="poison"), spec(**QUICK, id="b"), spec(**QUICK, id="c")]
    for _ in range(2):
        got = cases(list(run_runner(poisoned, host_cluster(), text, StreamOptions(extra_args=FAST, case_timeout=60))))
        assert [(c.id, c.error_kind) for c in got] == [("poison", "crash"), ("b", None), ("c", None)]
        assert "SIGSEGV" in got[0].message and nothing_left(work)


def _run_args(name, out, *more):
    return [sys.executable, "-m", "bench", "run", "--board", name, "--res", "8,64", "--channels", "8,256",
            "--algo", "f4", "--transform", "static", "--bits", "32", "--reps", "3", "--min-time-ms", "20", "--no-errors",
            "--out", str(out), *more]


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 130)])
def test_interrupting_bench_during_a_long_case_leaves_nothing_on_the_board(board, tmp_path, sig, code):
    """Ctrl-C or SIGTERM of `bench run` while a case runs: the runner is killed on the board, its
    directory removed, the rows measured so far kept, and --resume measures exactly the rest."""
    b, work = board
    out = tmp_path / "r"
    proc = subprocess.Popen(_run_args(b.name, out, "--min-time-ms", "60000"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_runner(work, proc)
    time.sleep(1.0)
    t0 = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert nothing_left(work), err
    print(f"\nFAULT {sig.name} of bench: runner killed and directory removed {time.monotonic() - t0:.1f} s after")
    assert time.monotonic() - t0 < 15
    done = bench(*_run_args(b.name, out, "--resume", "--mix-settings")[3:])
    assert done.returncode == 0, done.stderr
    df = pd.read_csv(out / "latency.csv", dtype=CSV_DTYPES)
    assert len(df) == 4 and not df.duplicated(KEY_COLUMNS).any() and (df["status"] == "ok").all()
    assert nothing_left(work)


def test_sshd_killed_mid_sweep_loses_no_row(boards_file, tmp_path):
    """The board's sshd (listener and the session serving the sweep) dies while a case runs: every
    case still gets exactly one row (the ones that could not run say why), bench exits 1 with a line,
    and the runner, whose output pipe is gone, does not outlive it."""
    server, sshd = start_sshd(tmp_path)
    work = tmp_path / "board-work"
    work.mkdir()
    name = boards_file.add("dying", server, workdir=str(work))
    out = tmp_path / "r"
    proc = subprocess.Popen(_run_args(name, out, "--case-timeout", "20", "--min-time-ms", "3000"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        runner = wait_for_runner(work, proc)
        time.sleep(0.5)
        session = int(Path(f"/proc/{runner}/stat").read_text().rsplit(") ", 1)[1].split()[1])  # the sh
        chain = [session]
        while True:  # up to the sshd session processes, children of the listener
            parent = int(Path(f"/proc/{chain[-1]}/stat").read_text().rsplit(") ", 1)[1].split()[1])
            if parent in (sshd.pid, 1, 0):
                break
            chain.append(parent)
        sshd.kill()
        for pid in chain[1:]:
            os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, err
        print(f"\nFAULT sshd killed: bench ended {time.monotonic() - t0:.1f} s after")
        assert time.monotonic() - t0 < 30
        df = pd.read_csv(out / "latency.csv", dtype=CSV_DTYPES)
        assert len(df) == 4 and not df.duplicated(KEY_COLUMNS).any()
        assert set(df[df["status"] != "ok"]["error_kind"]) <= {"crash", "connect", "runtime"}
        deadline = time.monotonic() + 60
        while runners_under(work) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not runners_under(work)
    finally:
        for p in (proc, sshd):
            if p.poll() is None:
                p.kill()
            p.wait()


def session_processes(runner: int, listener: int) -> list[int]:
    """The sshd processes serving the session a runner was started from (between it and the
    listener), the board-side `sh` excluded."""
    parent = lambda pid: int(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[1])
    chain = [parent(runner)]
    while parent(chain[-1]) not in (listener, 1, 0):
        chain.append(parent(chain[-1]))
    return chain[1:]


def test_a_frozen_ssh_session_is_cleaned_up_through_a_new_connection(boards_file, tmp_path):
    """The sshd processes of the sweep's session are stopped (SIGSTOP): the case passes its
    deadline, the kill cannot get through (bounded), the cases left become `connect` rows, and the
    runner is killed and its directory removed over a fresh connection."""
    server, sshd = start_sshd(tmp_path)
    work = tmp_path / "board-work"
    work.mkdir()
    board = load_board(boards_file.add("frozen", server, workdir=str(work)))
    frozen = []
    try:
        gen = run_runner(board, host_cluster(), [spec(**LONG, id="frozen"), spec(**QUICK, id="next")], StreamOptions(case_timeout=3, extra_args=FAST))
        info = next(gen)
        frozen = session_processes(info.deploy.pid, sshd.pid)
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        got = cases(list(gen))
        took = time.monotonic() - t0
        print(f"\nFAULT frozen SSH session: rows after {took:.1f} s")
        assert [(c.id, c.error_kind) for c in got] == [("frozen", "timeout"), ("next", "connect")]
        assert took < 40 and nothing_left(work)
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        sshd.kill()
        sshd.wait()


def test_two_concurrent_resumes_one_is_refused(board, tmp_path):
    b, work = board
    out = tmp_path / "r"
    first = bench(*_run_args(b.name, out, "--res", "8", "--channels", "8")[3:])
    assert first.returncode == 0, first.stderr
    one = subprocess.Popen(_run_args(b.name, out, "--resume", "--min-time-ms", "3000", "--mix-settings"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_runner(work, one)   # the first resume holds the lock while it measures
    two = bench(*_run_args(b.name, out, "--resume", "--min-time-ms", "3000", "--mix-settings")[3:])
    _, err = one.communicate(timeout=120)
    assert one.returncode == 0, err
    assert two.returncode == 2 and "being written by another bench run" in two.stderr
    assert len(two.stderr.strip().splitlines()) == 1
    df = pd.read_csv(out / "latency.csv", dtype=CSV_DTYPES)
    assert not df.duplicated(KEY_COLUMNS).any() and len(df) == 4


@pytest.mark.parametrize("kind", ["closed", "tarpit", "auth"])
def test_a_board_that_cannot_be_reached_is_one_line(boards_file, sshd_server, tmp_path, kind):
    """Before any case: one line naming the board, the address and the cause (a tarpit: no SSH answer in time;
    failed authentication: the key files tried), exit 1, nothing written."""
    listener, stop = None, threading.Event()
    if kind == "auth":
        stranger = tmp_path / "stranger"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
        name = boards_file.add("down", sshd_server, identity=str(stranger))
    else:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        if kind == "tarpit":
            listener.listen()   # accepts (the kernel completes the handshake) and never speaks
        else:
            listener.close()
        name = boards_file.add("down", host="127.0.0.1", port=port, transport="ssh", connect_timeout=3,
                               known_hosts=str(sshd_server.known_hosts))
    t0 = time.monotonic()
    done = bench("run", "--board", name, "--res", "8", "--channels", "8", "--out", tmp_path / "out")
    took = time.monotonic() - t0
    if listener:
        listener.close()
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert "down" in lines[0] and "127.0.0.1" in lines[0]
    print(f"\nFAULT board {kind}: one line after {took:.1f} s: {lines[0]}")
    if kind == "tarpit":
        assert "took the connection but no SSH server answered within" in lines[0] and took < 30
    if kind == "auth":
        assert str(tmp_path / "stranger") in lines[0] and "key files tried" in lines[0]
    assert not (tmp_path / "out").exists()


def test_a_farm_goes_on_without_an_unreachable_board(ssh_farm, tmp_path):
    down = ssh_farm.file.add("gone", host="127.0.0.1", port=1, transport="ssh", connect_timeout=3,
                             known_hosts=str(ssh_farm.servers[0].known_hosts), kind="other")
    group = ssh_farm.file.group("withgone", [ssh_farm.names[0], down])
    done = bench("run", "--board", group, "--res", "8", "--channels", "8", "--algo", "im2row", "--bits", "32",
                 "--reps", "2", "--min-time-ms", "1", "--out", tmp_path / "r")
    assert "gone" in done.stderr and "127.0.0.1:1" in done.stderr
    df = pd.read_csv(tmp_path / "r" / "latency.csv", dtype=CSV_DTYPES)
    assert set(df[df["status"] == "ok"]["board"]) == {ssh_farm.names[0]}


@contextlib.contextmanager
def small_disk(where: Path, leave: int):
    """A real tmpfs at `where` filled up to `leave` bytes of free space (root only; skip otherwise)."""
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
                      capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        st = os.statvfs(where)
        with open(where / "filler", "wb") as f:
            f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def whole_json_lines(path: Path) -> list[dict]:
    data = path.read_bytes()
    assert data.endswith(b"\n"), f"{path} ends in half a line"
    return [json.loads(line) for line in data.decode().splitlines()]   # every line whole and parseable


def test_a_full_disk_stops_the_sweep_with_one_line_and_whole_files(tmp_path):
    """Results on a nearly full filesystem: when a case's raw samples no longer fit, the case is kept
    without them, the sweep stops with one line (exit 1) naming the file, both files end in a whole
    line, and a --resume of the same table, once it has room, measures exactly the rest."""
    args = ["run", "--res", "4,6,8", "--channels", "4,8", "--algo", "im2row,f2", "--bits", "32",
            "--reps", "3", "--min-time-ms", "20", "--no-errors", "--out"]
    with small_disk(tmp_path / "small", leave=48 * 1024) as small:
        done = bench(*args, small / "r")
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1 and "No space left on device" in lines[-1], done.stderr
        assert str(small / "r") in lines[-1]
        for name in ("latency.csv", "raw.jsonl"):
            assert (small / "r" / name).read_bytes().endswith(b"\n")
        assert not (small / "r" / ".lock").exists()
        kept = pd.read_csv(small / "r" / "latency.csv", dtype=CSV_DTYPES)
        assert len(kept) >= 1 and (kept["status"] == "ok").all()
        roomy = tmp_path / "roomy"
        subprocess.run(["cp", "-a", str(small / "r"), str(roomy)], check=True)
    done = bench(*args, roomy, "--resume")
    assert done.returncode == 0, done.stderr
    df = pd.read_csv(roomy / "latency.csv", dtype=CSV_DTYPES)
    assert len(df) == 3 * 2 * 3 and not df.duplicated(KEY_COLUMNS).any()
    assert df.merge(kept, on=KEY_COLUMNS).shape[0] == len(kept)


def test_a_write_cut_by_a_full_disk_leaves_whole_lines(board, tmp_path):
    """A case record (a thousand samples per stage) meets a full disk part-way: the part written is
    cut back (os.ftruncate on the raw descriptor), the record goes in without its samples, the sweep
    stops in one line; every line of both files is whole, so lut, compare and --resume read them."""
    b, work = board
    args = ["run", "--board", b.name, "--res", "4", "--channels", "4", "--algo", "im2row", "--bits", "32",
            "--min-time-ms", "200", "--no-errors", "--out"]   # tiny layer, default time: thousands of reps
    with small_disk(tmp_path / "small", leave=24 * 1024) as small:
        done = bench(*args, small / "r")
        assert done.returncode == 1 and "No space left on device" in done.stderr.strip().splitlines()[-1], done.stderr
        records = whole_json_lines(small / "r" / "raw.jsonl")
        cases = [r for r in records if r["type"] == "case"]
        assert len(cases) == 1 and cases[0]["samples_dropped"] == "disk full"
        assert (small / "r" / "latency.csv").read_bytes().endswith(b"\n")
        saved = tmp_path / "saved"
        subprocess.run(["cp", "-a", str(small / "r"), str(saved)], check=True)
    print(f"\nFAULT full disk mid-line: {len(records)} whole lines, the case kept without its samples")
    assert bench("lut", saved, "--out", tmp_path / "lut").returncode == 0
    same = bench("compare", saved, saved, "--out", tmp_path / "cmp")
    assert same.returncode == 0 and "nan" not in same.stdout.lower(), same.stdout + same.stderr
    assert bench(*args, saved, "--resume").returncode == 0
    assert nothing_left(work)


class SlowLink:
    """A TCP forwarder to the board's sshd that holds every connection until `release()`: a board
    that is slow to answer, so a run can be caught while it is still connecting."""

    def __init__(self, port: int):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port, self.upstream = self.listener.getsockname()[1], port
        self.accepted, self.go = threading.Event(), threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.set()
            threading.Thread(target=self._forward, args=(conn,), daemon=True).start()

    def _forward(self, conn):
        self.go.wait()
        up = socket.create_connection(("127.0.0.1", self.upstream))
        for a, b in ((conn, up), (up, conn)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def release(self):
        self.go.set()

    def close(self):
        self.release()
        self.listener.close()


def test_a_resume_started_while_the_first_connects_is_refused(boards_file, sshd_server, tmp_path):
    """Two `--resume` on one directory, the second started while the first is still connecting to a
    slow board: the second is refused at once in one line (the lock comes before reading the results
    and reaching boards), the first measures the missing cases once."""
    link = SlowLink(sshd_server.port)
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{link.port} {sshd_server.host_pubkey}\n")
    work = tmp_path / "board-work"
    work.mkdir()
    name = boards_file.add("slow", sshd_server, port=link.port, known_hosts=str(known), workdir=str(work))
    out = tmp_path / "r"
    try:
        link.release()
        first = bench(*_run_args(name, out, "--res", "8", "--channels", "8")[3:])
        assert first.returncode == 0, first.stderr
        link.go.clear()
        link.accepted.clear()
        resume = _run_args(name, out, "--resume", "--res", "8,12", "--channels", "8")
        one = subprocess.Popen(resume, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert link.accepted.wait(60), "the first resume never connected"   # held: still connecting
        t0 = time.monotonic()
        two = subprocess.run(resume, capture_output=True, text=True, timeout=30)
        took = time.monotonic() - t0
        link.release()
        _, err = one.communicate(timeout=300)
    finally:
        link.close()
    print(f"\nFAULT resume while the first connects: refused after {took:.1f} s")
    assert one.returncode == 0, err
    assert two.returncode == 2 and "being written by another bench run" in two.stderr
    assert len(two.stderr.strip().splitlines()) == 1
    df = pd.read_csv(out / "latency.csv", dtype=CSV_DTYPES)
    assert len(df) == 2 and not df.duplicated(KEY_COLUMNS).any()
    runs = [r["run"] for r in whole_json_lines(out / "raw.jsonl") if r["type"] == "run"]
    assert runs == [0, 1] and not (out / ".lock").exists()


def test_what_a_killed_bench_leaves_is_removed_by_the_next_run(board, tmp_path):
    """SIGKILL of `bench run` (nothing can be caught): its runner directory stays on the board and
    its scratch directory in TMPDIR. The next run on that board removes both once the runner has
    ended, and so does `bench board clean NAME`."""
    b, work = board
    local_tmp = tmp_path / "local-tmp"
    local_tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(local_tmp)}
    for how in ("next run", "board clean"):
        proc = subprocess.Popen(_run_args(b.name, tmp_path / f"killed-{how}", "--min-time-ms", "1500"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        wait_for_runner(work, proc)
        proc.kill()
        proc.communicate(timeout=60)
        deadline = time.monotonic() + 120
        while runners_under(work) and time.monotonic() < deadline:   # it ends at its next write
            time.sleep(0.2)
        assert not runners_under(work)
        left = [n.split(".")[0] for n in os.listdir(work)], [n.rsplit("-", 1)[0] for n in os.listdir(local_tmp)]
        assert left == (["wb-runner"], ["wb-deploy"]), left
        t0 = time.monotonic()
        if how == "next run":
            argv = _run_args(b.name, tmp_path / "next", "--res", "8", "--channels", "8")[1:]
        else:
            argv = ["-m", "bench", "board", "clean", b.name]
        done = subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr
        if how == "board clean":
            assert "1 leftover directory removed" in done.stdout and "1 scratch directory" in done.stdout, done.stdout
        print(f"\nFAULT SIGKILL of bench: leftovers removed by the {how} ({time.monotonic() - t0:.1f} s)")
        assert os.listdir(work) == [] and os.listdir(local_tmp) == []


def test_restore_never_trusts_a_record_planted_on_the_board(board, tmp_path):
    """The board's records are not what restore applies: a line planted where the record once lived
    (/var/tmp, world-writable) or in the board's own record changes nothing; this machine's copy is
    applied, and this machine has no cpufreq, so nothing is written at all."""
    b, work = board
    planted, victim = Path("/var/tmp/winobench-prepare.state"), tmp_path / "victim"
    if planted.exists():
        pytest.skip(f"{planted} exists already (not ours to replace)")
    if Path("/sys/devices/system/cpu/cpu0/cpufreq").exists():
        pytest.skip("this machine has cpufreq: preparing it for real is not a test's to do")
    victim.write_text("precious\n")
    line = f"{victim}\tpwned\n"
    prepare = subprocess.run([sys.executable, "-m", "bench", "board", "prepare", b.name], capture_output=True, text=True,
                             timeout=120)
    assert prepare.returncode == 0, prepare.stderr
    record = work / "winobench-state" / "prepare.state"
    assert stat.S_IMODE(record.parent.stat().st_mode) == 0o700 and record.read_text() == ""
    try:
        planted.write_text(line)
        record.write_text(line)
        done = subprocess.run([sys.executable, "-m", "bench", "board", "restore", b.name], capture_output=True,
                              text=True, timeout=120)
    finally:
        planted.unlink(missing_ok=True)
    assert done.returncode == 0, done.stderr
    assert victim.read_text() == "precious\n" and not record.exists() and os.listdir(work) == ["winobench-state"]
