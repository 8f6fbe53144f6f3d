"""Boards on labgrid places, driven through the `bench` CLI as a researcher of a shared lab would:
a real labgrid coordinator and exporter on 127.0.0.1 (tests/conftest.py `labgrid_lab`, places x86-a
and x86-b on two real sshd servers), a HOME of the researcher's own whose ~/.ssh knows the boards,
and another lab user ("alice") holding places with labgrid-client. Each place must be free again
after every way `bench` can end: normal, error, Ctrl-C, SIGTERM, while measuring and while waiting."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from tests.e2e.test_faults import nothing_left, runners_under
from tests.support import labgrid_env, start_lab

pytestmark = pytest.mark.slow

QUICK = ["--algo", "im2row,f2", "--bits", "32", "--transform", "static", "--reps", "3", "--no-errors"]
SMALL = [*QUICK, "--res", "8", "--channels", "8", "--min-time-ms", "10"]
LONG = ["--algo", "f4", "--bits", "32", "--transform", "static", "--res", "64", "--channels", "256", "--reps", "3",
        "--min-time-ms", "60000", "--no-errors"]   # minutes


def bench(*args, env, timeout=300):
    return subprocess.run([sys.executable, "-m", "bench", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


def start(*args, env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def wait_until(cond, proc=None, timeout=120, what="condition"):
    deadline = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"bench ended before {what}: {proc.communicate()[1]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout} s")
        time.sleep(0.1)


def rows(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "latency.csv", dtype={"cpus": str}, keep_default_na=False)


def all_free(lab) -> bool:
    return all(state == "free" for state, _ in lab.states().values()) and lab.client("reservations").stdout == ""


class StateLog:
    """The places' states, polled from the coordinator while a run goes on."""

    def __init__(self, lab):
        self.lab, self.seen, self.stop = lab, [], threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        while not self.stop.is_set():
            self.seen.append((time.monotonic(), self.lab.states()))
            time.sleep(0.2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)


def test_run_probe_and_verify_through_a_place(lab_user, tmp_path):
    env, lab = lab_user.env, lab_user.lab
    probe = bench("probe", "--board", "labgrid:name=x86-a", env=env)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith("board     labgrid:name=x86-a (labgrid place x86-a)") and all_free(lab)
    out = tmp_path / "r"
    res = bench("run", "--board", "labgrid:name=x86-a", *SMALL, "--out", out, env=env)
    assert res.returncode == 0, res.stderr
    got = rows(out)
    assert list(got["board"]) == ["x86-a", "x86-a"] and (got["status"] == "ok").all()
    assert "waiting" not in res.stderr and all_free(lab)
    check = bench("verify", "--board", "labgrid:name=x86-a", "--algo", "f2", "--bits", "32", "--transform", "static",
                  "--res", "5", "--channels", "3", env=env)
    assert check.returncode == 0 and "all kernel results correct" in check.stdout, check.stdout + check.stderr
    assert all_free(lab)


def test_a_board_that_drops_the_ssh_connection_is_one_line_and_its_place_is_released(lab_user, tmp_path):
    """The place's NetworkService accepts TCP and hangs up at once (paramiko then logs a traceback
    of its own: labgrid's client must not have turned the root logger on to print it)."""
    env, lab = lab_user.env, lab_user.lab
    with socket.socket() as rude:
        rude.bind(("127.0.0.1", 0))
        rude.listen()
        stop = threading.Event()

        def hang_up():
            rude.settimeout(0.2)
            while not stop.is_set():
                try:
                    rude.accept()[0].close()
                except OSError:
                    pass

        threading.Thread(target=hang_up, daemon=True).start()
        lab.export("rack3", {"rude": (rude.getsockname()[1], "root")})
        lab.add_place("rude", "rack3/rude/*")
        try:
            res = bench("run", "--board", "labgrid:name=rude", *SMALL, "--out", tmp_path / "r", env=env)
        finally:
            stop.set()
            lab.client("-p", "rude", "delete")
    assert res.returncode == 1 and res.stderr.count("\n") == 1, res.stderr
    assert res.stderr.startswith("bench: failed: board rude: cannot connect to root@127.0.0.1:")
    assert all_free(lab)


def test_bench_boards_labgrid_lists_tags_state_and_holder(lab_user):
    env, lab = lab_user.env, lab_user.lab
    lab.client("-p", "x86-b", "acquire", user="alice")
    try:
        res = bench("boards", "--labgrid", env=env)
    finally:
        lab.client("-p", "x86-b", "release", user="alice")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == f"labgrid coordinator {lab.address} ($LG_COORDINATOR): 2 place(s)"
    assert lines[1].split() == ["PLACE", "TAGS", "STATE", "HOLDER", "SINCE", "ADDRESS"]
    a = lines[2].split()
    b = lines[3].split()
    server = lab.servers["x86-a"]
    assert a == ["x86-a", "pool=x86", "free", "-", "-", f"{server.user}@127.0.0.1:{server.port}"]
    assert b[:3] == ["x86-b", "pool=x86", "acquired"] and b[3].endswith("/alice")


def test_a_busy_place_is_waited_for_saying_who_holds_it_then_one_line(lab_user, tmp_path):
    env, lab = lab_user.env, lab_user.lab
    lab.client("-p", "x86-a", "acquire", user="alice")
    try:
        t0 = time.monotonic()
        res = bench("run", "--board", "labgrid:name=x86-a", "--acquire-timeout", "3", *SMALL, "--out", tmp_path / "r",
                    env=env)
        waited = time.monotonic() - t0
        assert res.returncode == 1, res.stderr
        err = res.stderr.splitlines()
        assert err[0].startswith("bench: x86-a: place x86-a is held by ") and err[0].endswith("; waiting up to 3 s (acquire_timeout)")
        assert "/alice since " in err[0]
        assert err[-1].startswith("bench: failed: board x86-a: place x86-a is held by ") and len(err) == 2
        assert err[-1].endswith(f"at coordinator {lab.address}; gave up after waiting 3 s (acquire_timeout; --acquire-timeout)")
        assert lab.states()["x86-a"][1].endswith("/alice") and lab.client("reservations").stdout == ""
        print(f"\nLABGRID busy place: gave up after {waited:.1f} s of bench (acquire_timeout 3 s)")
    finally:
        lab.client("-p", "x86-a", "release", user="alice")


def test_a_farm_goes_on_without_a_place_that_stays_busy(lab_user, tmp_path):
    env, lab = lab_user.env, lab_user.lab
    lab.client("-p", "x86-a", "acquire", user="alice")
    try:
        res = bench("run", "--board", "labgrid:pool=x86", "--acquire-timeout", "2", *SMALL, "--out", tmp_path / "r", env=env)
    finally:
        lab.client("-p", "x86-a", "release", user="alice")
    assert res.returncode == 0, res.stderr
    assert set(rows(tmp_path / "r")["board"]) == {"x86-b"}
    said = [line for line in res.stderr.splitlines() if "x86-a" in line]
    assert len(said) == 2 and said[1].startswith("bench run: warning: board x86-a: place x86-a is held by ")
    assert said[1].endswith("; the other boards go on")
    assert all_free(lab)


def test_two_places_in_parallel_share_the_cases(lab_user, tmp_path):
    env, lab = lab_user.env, lab_user.lab
    out = tmp_path / "r"
    before = lab.states()
    with StateLog(lab) as log:
        t0 = time.monotonic()
        res = bench("run", "--board", "labgrid:pool=x86", *QUICK, "--res", "8,9", "--channels", "8",
                    "--min-time-ms", "400", "--out", out, env=env)
        took = time.monotonic() - t0
    after = lab.states()
    assert res.returncode == 0, res.stderr
    got = rows(out)
    assert len(got) == 4 and (got["status"] == "ok").all() and set(got["board"]) == {"x86-a", "x86-b"}
    assert not got.duplicated(["algo", "h"]).any()   # each case once, on one of the two places
    assert before == after == {"x86-a": ("free", None), "x86-b": ("free", None)}
    both = [s for _, s in log.seen if s["x86-a"][0] == s["x86-b"][0] == "acquired"]
    assert both and both[0]["x86-a"][1] == both[0]["x86-b"][1]   # held at once, by this run
    print(f"\nLABGRID two places, {took:.1f} s: before {before}; during {both[0]}; after {after}")
    assert lab.client("reservations").stdout == ""


def _exit_path_board(lab_user, tmp_path) -> tuple[str, Path]:
    work = tmp_path / "board-work"
    work.mkdir()
    return lab_user.file.add("lab-a", transport="labgrid", place="x86-a", workdir=str(work)), work


@pytest.mark.parametrize("phase,sig", [("measuring", signal.SIGINT), ("measuring", signal.SIGTERM),
                                       ("waiting", signal.SIGINT), ("waiting", signal.SIGTERM)])
def test_the_place_is_released_after_ctrl_c_and_sigterm(lab_user, tmp_path, phase, sig):
    """Ctrl-C or SIGTERM while a long case runs on the place (runner killed, directory removed,
    place released) or while waiting for it (the reservation cancelled, the holder untouched)."""
    env, lab = lab_user.env, lab_user.lab
    name, work = _exit_path_board(lab_user, tmp_path)
    if phase == "waiting":
        lab.client("-p", "x86-a", "acquire", user="alice")
    try:
        proc = start("run", "--board", name, *LONG, "--out", tmp_path / "r", env=env)
        if phase == "measuring":
            wait_until(lambda: runners_under(work), proc, what="a runner on the place")
        else:
            wait_until(lambda: "state: waiting" in lab.client("reservations").stdout, proc, what="a reservation")
        t0 = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        ended = time.monotonic() - t0
        assert proc.returncode == 130, err
        assert lab.client("reservations").stdout == ""
        state = lab.states()["x86-a"]
        assert state == ("free", None) if phase == "measuring" else state[1].endswith("/alice")
        assert nothing_left(work)
        print(f"\nLABGRID {sig.name} while {phase}: bench ended in {ended:.2f} s, place {state[0]} "
              f"({'released' if phase == 'measuring' else 'reservation cancelled, still held by alice'})")
    finally:
        if phase == "waiting":
            lab.client("-p", "x86-a", "release", user="alice")
    assert all_free(lab)


def test_the_place_is_released_after_an_error(lab_user, tmp_path):
    """A refusal after the place was acquired (a core the board lacks): exit 2, the place free."""
    env, lab = lab_user.env, lab_user.lab
    name, work = _exit_path_board(lab_user, tmp_path)
    res = bench("run", "--board", name, "--core", "a76", *SMALL, "--out", tmp_path / "r", env=env)
    assert res.returncode == 2 and "has no core 'a76'" in res.stderr, res.stderr
    assert all_free(lab) and nothing_left(work)


def test_sigkill_of_bench_leaves_the_place_held_and_the_next_run_says_whose(lab_user, tmp_path):
    """SIGKILL cannot be caught: the place stays acquired (labgrid keeps it for its holder). The next
    run says the holder is this user; `labgrid-client release` frees it."""
    env, lab = lab_user.env, lab_user.lab
    name, work = _exit_path_board(lab_user, tmp_path)
    proc = start("run", "--board", name, *LONG, "--out", tmp_path / "r", env=env)
    try:
        wait_until(lambda: runners_under(work), proc, what="a runner on the place")
        proc.kill()
        proc.communicate(timeout=30)
        state, holder = lab.states()["x86-a"]
        assert state == "acquired"
        res = bench("run", "--board", name, "--acquire-timeout", "1", *SMALL, "--out", tmp_path / "r2", env=env)
        assert res.returncode == 1 and f"place x86-a is held by {holder} since " in res.stderr
        assert "(this user: another bench run, or one killed before it could release it)" in res.stderr
        lab.client("-p", "x86-a", "release")
        assert lab.states()["x86-a"][0] in ("free", "reserved") and lab.cancel_reservations() == 1
    finally:
        for pid in runners_under(work):   # the killed bench's runner goes on: stop it here
            os.kill(pid, signal.SIGKILL)
    assert all_free(lab)


def _mid_sweep(env, name, work, out, fault, says):
    """Start a sweep of about 8 s on board `name`, apply `fault` once a row is in; returns (proc,
    stderr, seconds from the fault to the end of bench, seconds to its first line with `says`)."""
    proc = start("run", "--board", name, *QUICK, "--res", "6,7,8,9", "--channels", "8", "--min-time-ms", "1000",
                 "--out", out, env=env)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend((time.monotonic(), x) for x in proc.stderr), daemon=True)
    reader.start()
    wait_until(lambda: (out / "latency.csv").exists() and len(rows(out)) >= 1, proc, what="a first row")
    t0 = time.monotonic()
    fault()
    proc.wait(timeout=120)
    reader.join(30)
    noticed = next((t - t0 for t, x in lines if says in x), None)
    return proc, "".join(x for _, x in lines), time.monotonic() - t0, noticed


def test_a_coordinator_that_goes_away_mid_sweep_keeps_the_rows(sshd_server, boards_file, tmp_path):
    lab = start_lab(tmp_path / "lab")
    try:
        lab.export("rack9", {"x86": (sshd_server.port, sshd_server.user)})
        lab.add_place("x86-c", "rack9/x86/*")
        work = tmp_path / "board-work"
        work.mkdir()
        name = boards_file.add("lab-c", sshd_server, transport="labgrid", place="x86-c", coordinator=lab.address,
                               workdir=str(work), host=None, port=None, user=None)
        env = labgrid_env(lab.address, BENCH_BOARDS_FILE=str(boards_file.path))
        out = tmp_path / "r"
        proc, err, took, noticed = _mid_sweep(env, name, work, out, lambda: os.kill(lab.coordinator.pid, signal.SIGKILL),
                                              "went away:")
        assert proc.returncode == 1, err
        got = rows(out)
        ok, lost = got[got["status"] == "ok"], got[got["status"] != "ok"]
        assert len(got) == 8 and 1 <= len(ok) < 8 and set(lost["error_kind"]) == {"connect"}
        assert all("its labgrid coordinator" in m and "went away" in m for m in lost["message"])
        said = [line for line in err.splitlines() if "went away:" in line]
        assert len(said) == 1 and said[0].startswith(f"bench: labgrid coordinator {lab.address} went away: place(s) x86-c")
        assert not runners_under(work) and nothing_left(work)
        print(f"\nLABGRID coordinator killed mid-sweep: {len(ok)} rows kept, {len(lost)} connect rows, said so "
              f"{noticed:.2f} s later, bench ended {took:.1f} s later")
    finally:
        lab.stop()


def test_a_place_taken_away_mid_sweep_stops_its_measurements(lab_user, tmp_path):
    env, lab = lab_user.env, lab_user.lab
    name, work = _exit_path_board(lab_user, tmp_path)
    out = tmp_path / "r"
    proc, err, took, noticed = _mid_sweep(env, name, work, out,
                                          lambda: lab.client("-p", "x86-a", "release", "--kick", user="alice"),
                                          "was taken from this run")
    assert proc.returncode == 1, err
    got = rows(out)
    assert 1 <= (got["status"] == "ok").sum() < 8 and set(got[got["status"] != "ok"]["error_kind"]) == {"connect"}
    said = [line for line in err.splitlines() if line.startswith("bench: place x86-a was taken")]
    assert said == ["bench: place x86-a was taken from this run (now free); its measurements stop (the rows measured are kept)"]
    assert nothing_left(work) and all_free(lab)
    print(f"\nLABGRID place kicked mid-sweep: {(got['status'] == 'ok').sum()} rows kept, said so {noticed:.2f} s "
          f"after `release --kick` was started, bench ended {took:.1f} s later")


def test_a_sweep_over_two_places_the_sshd_and_the_emulated_board(lab_user, vm, tmp_path):
    """The lab's two kinds of board at once: an x86 sshd and the emulated aarch64 board of `bench
    board up`, each a place tagged pool=demo; each measures every case (different kinds)."""
    import tomllib

    from tests.conftest import researcher_home

    env, lab = lab_user.env, lab_user.lab
    prof = tomllib.loads(vm.boards_file.read_text())["boards"][vm.name]
    lab.export("rack2", {"a53": (prof["port"], "root")})
    lab.add_place("sshd-demo", "rack1/x86-b/*", pool="demo")
    lab.add_place("vm-a53", "rack2/a53/*", pool="demo")
    researcher_home(lab_user.home, [SimpleNamespace(known_hosts=Path(prof["known_hosts"]), client_key=prof["identity"])])
    try:
        out = tmp_path / "r"
        before = lab.states()
        with StateLog(lab) as log:
            t0 = time.monotonic()
            res = bench("run", "--board", "labgrid:pool=demo", *QUICK, "--res", "4", "--channels", "4",
                        "--min-time-ms", "300", "--out", out, env=env, timeout=900)
            took = time.monotonic() - t0
        after = lab.states()
        assert res.returncode == 0, res.stderr
        got = rows(out)
        assert sorted(zip(got["board"], got["core"], got["emulated"])) == [
            ("sshd-demo", "host", False), ("sshd-demo", "host", False), ("vm-a53", "a53", True), ("vm-a53", "a53", True)]
        during = [s for _, s in log.seen if s["sshd-demo"][0] == s["vm-a53"][0] == "acquired"]
        assert during and all(after[p] == ("free", None) for p in ("sshd-demo", "vm-a53"))
        demo = lambda s: {p: s[p] for p in ("sshd-demo", "vm-a53")}
        print(f"\nLABGRID sshd + emulated board, {took:.1f} s: before {demo(before)}; during {demo(during[0])}; "
              f"after {demo(after)}")
        prep = bench("board", "prepare", "labgrid:name=vm-a53", env=env, timeout=300)
        assert prep.returncode == 0 and "cpufreq: none" in prep.stdout, prep.stderr
        back = bench("board", "restore", "labgrid:name=vm-a53", env=env, timeout=300)
        assert back.returncode == 0, back.stderr
        assert all_free(lab)
    finally:
        for place in ("sshd-demo", "vm-a53"):
            lab.client("-p", place, "delete")
