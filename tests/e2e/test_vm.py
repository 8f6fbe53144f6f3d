"""A real aarch64 Linux over SSH: the emulated full-system board of `bench board up` (qemu-system,
Debian arm64 kernel and userland), driven through the `bench` CLI as a user would.

One VM per session (cortex-a53 x4) and one two-cluster VM (8 CPUs, capacity 462/1024). The image is
built once into the per-user cache (a few minutes on a fresh machine) and reused afterwards: the
only real user path the suite uses, given explicitly as $BENCH_IMAGE_DIR (tests/conftest.py,
`real_image_cache`); everything else of the VMs lives under the session's own temporary HOME. Every
test here is slow; the fixtures bring the VMs down again whatever happens.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from bench.boards.profiles import DEFAULT_ENV, USER_FILE_ENV
from bench.measure.results import KEY_COLUMNS
from tests.e2e.conftest import bench, vm_run_dir   # the `vm`, `vm2` fixtures are there too (shared with test_labgrid.py)

pytestmark = pytest.mark.slow

FAST = ["--reps", "2", "--min-time-ms", "1", "--no-errors"]


def vm_board(vm):
    """The VM's profile as the harness loads it (from the session's own boards file)."""
    from bench.boards.profiles import load_board
    old = os.environ.get(USER_FILE_ENV)
    os.environ[USER_FILE_ENV] = vm.env[USER_FILE_ENV]
    try:
        return load_board(vm.name)
    finally:
        os.environ.pop(USER_FILE_ENV) if old is None else os.environ.__setitem__(USER_FILE_ENV, old)


def on_board(vm, *argv, timeout=60):
    """Run a command on the VM through the harness's own SSH transport."""
    from bench.boards.transport import open_transport
    with open_transport(vm_board(vm)) as t:
        return t.run(list(argv), timeout=timeout)


class PinWatcher:
    """Polls the board over one SSH connection for running wb-runner processes and records the CPUs
    the board's kernel lets each run on (Cpus_allowed_list)."""

    SCRIPT = "for p in $(pidof wb-runner); do grep Cpus_allowed_list /proc/$p/status; done; true"

    def __init__(self, vm):
        from bench.boards.transport import open_transport
        self.transport = open_transport(vm_board(vm))
        self.seen, self.stop, self.errors = set(), threading.Event(), []
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        while not self.stop.is_set():
            try:
                out = self.transport.run(["sh", "-c", self.SCRIPT], timeout=30).stdout
            except Exception as e:   # kept for the assertion message
                self.errors.append(repr(e))
                continue
            self.seen.update(line.split(":")[1].strip() for line in out.splitlines() if ":" in line)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(60)
        self.transport.close()


def read_rows(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "latency.csv", dtype={"cpus": str})


def no_runner_dirs_left(vm):
    left = on_board(vm, "sh", "-c", "ls -d /tmp/wb-* /var/tmp/wb-* 2>/dev/null; true").stdout.split()
    assert left == []


def test_up_registers_an_ssh_profile_marked_emulated(vm):
    import tomllib
    assert f"board {vm.name} up at root@127.0.0.1:" in vm.up.stdout
    prof = tomllib.loads(vm.boards_file.read_text())["boards"][vm.name]
    assert (prof["transport"], prof["host"], prof["user"], prof["arch"], prof["emulated"]) == \
        ("ssh", "127.0.0.1", "root", "aarch64", True)
    # the host key is known before the first connection: no trust on first use
    assert "accept_new_host_key" not in prof
    assert Path(prof["known_hosts"]).read_text().startswith(f"[127.0.0.1]:{prof['port']} ssh-ed25519 ")
    assert [(c["core"], c["cpus"]) for c in prof["clusters"]] == [("a53", [0, 1, 2, 3])]


def test_probe_reads_midr_no_cpufreq_and_detects_emulation(vm):
    res = bench("probe", "--board", vm.name, "--json", env=vm.env, timeout=120)
    assert res.returncode == 0, res.stderr
    topo = json.loads(res.stdout)["topology"]
    assert (topo["arch"], topo["model"], topo["emulated"]) == ("aarch64", "linux,dummy-virt", True)
    assert [(c["core"], c["cpus"], c["midr"], c["max_khz"]) for c in topo["clusters"]] == \
        [("a53", [0, 1, 2, 3], 0x410FD034, None)]
    assert topo["thermal"] == [] and all(c["governor"] is None for c in topo["cpus"])
    assert "device-tree model 'linux,dummy-virt'" in topo["emulation"]
    assert any("qemu,fw-cfg-mmio" in e for e in topo["emulation"])
    text = bench("probe", "--board", vm.name, env=vm.env, timeout=120).stdout
    assert "[EMULATED: timings are not real]" in text and "no cpufreq" in text


def test_emulation_is_detected_whatever_the_profile_says(vm):
    """The same VM reached as a plain `--host` board and as `--board hikey960 --host ...`."""
    import tomllib
    prof = tomllib.loads(vm.boards_file.read_text())["boards"][vm.name]
    env = dict(vm.env)
    with open(vm.boards_file, "a") as f:
        f.write(f'\n[boards.fake-hikey]\nbase = "hikey960"\nhost = "127.0.0.1"\nport = {prof["port"]}\n'
                f'user = "root"\nidentity = "{prof["identity"]}"\nknown_hosts = "{prof["known_hosts"]}"\n')
    try:
        res = bench("probe", "--board", "fake-hikey", "--json", env=env, timeout=120)
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["topology"]["emulated"] is True
    finally:
        from bench.boards.profiles import remove_board
        remove_board("fake-hikey", vm.boards_file)


def test_verify_passes_on_the_real_aarch64_userland(vm):
    res = bench("verify", "--board", vm.name, "--core", "a53", "--bits", "8,32", "--algo", "im2row,f4",
                "--transform", "static", "--res", "5", "--channels", "3", env=vm.env, timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr
    no_runner_dirs_left(vm)


def test_sweep_is_pinned_emulated_and_kept_out_of_the_lut(vm, tmp_path):
    out = tmp_path / "r"
    with PinWatcher(vm) as pins:
        res = bench("run", "--board", vm.name, "--core", "a53", "--bits", "8", "--algo", "f2", "--transform",
                    "static", "--res", "4,6", "--channels", "4", "--reps", "20", "--min-time-ms", "1500",
                    "--no-errors", "--out", out, env=vm.env)
    assert res.returncode == 0, res.stderr
    rows = read_rows(out)
    assert len(rows) == 2 and (rows["status"] == "ok").all() and rows["emulated"].all()
    assert set(rows["cpus"]) <= {"0", "1", "2", "3"}
    assert pins.seen and pins.seen <= {"0", "1", "2", "3"}, (pins.seen, pins.errors[-3:])   # as the board's kernel sees it
    lut = bench("lut", out, env=vm.env)
    assert lut.returncode == 2 and "no successful non-emulated" in lut.stderr
    no_runner_dirs_left(vm)


def test_prepare_on_a_board_without_cpufreq_says_so_and_restores(vm):
    res = bench("board", "prepare", vm.name, env=vm.env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "cpufreq: none on cpus 0 1 2 3" in res.stdout and "thermal: no thermal zones" in res.stdout
    state = on_board(vm, "sh", "-c", "stat -c %a ~/.local/state/winobench; ls ~/.local/state/winobench").stdout
    assert state.split() == ["700", "prepare.state"]   # the board's record, in a private directory
    res = bench("board", "restore", vm.name, env=vm.env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert on_board(vm, "ls", "/var/tmp").stdout.split() == []
    assert on_board(vm, "ls", "-A", "/root/.local/state/winobench").stdout.split() == []
    no_runner_dirs_left(vm)


def test_default_board_runs_the_command_as_written(vm, tmp_path):
    env = dict(vm.env, **{DEFAULT_ENV: vm.name})
    res = bench("run", "--core", "a53", "--bits", "8", "--algo", "im2row", "--transform", "static",
                "--res", "4", "--channels", "4", *FAST, "--out", tmp_path / "r", env=env)
    assert res.returncode == 0, res.stderr
    assert set(read_rows(tmp_path / "r")["board"]) == {vm.name}


def test_resume_after_the_board_is_killed_measures_only_the_missing_cases(vm, tmp_path):
    """Last of the single-cluster tests: it kills the VM mid-sweep and brings it back up."""
    from bench.boards.vm import running_pid
    out = tmp_path / "r"
    args = ["run", "--board", vm.name, "--core", "a53", "--bits", "8", "--algo", "im2row,f2",
            "--transform", "static", "--res", "4,5,6,7", "--channels", "4", "--reps", "2",
            "--min-time-ms", "500", "--no-errors", "--out", out]   # about 4 s of cases: time to kill it
    proc = subprocess.Popen([sys.executable, "-m", "bench", *map(str, args)], env=vm.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "latency.csv").exists() and len(read_rows(out)) >= 2:
            break
        time.sleep(0.2)
    os.kill(running_pid(vm_run_dir(vm)), signal.SIGKILL)     # the board dies mid-sweep
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    before = read_rows(out)
    ok_before = before[before["status"] == "ok"]
    assert 2 <= len(ok_before) < 8

    assert bench("board", "down", vm.name, env=vm.env, timeout=120).returncode == 0
    up = bench("board", "up", vm.name, "--cpu", "cortex-a53", "--smp", "4", env=vm.env, timeout=600)
    assert up.returncode == 0, up.stderr
    done = bench(*args, "--resume", env=vm.env)
    assert done.returncode == 0, done.stderr
    assert f"{8 - len(ok_before)} of 8 cases" in done.stderr
    after = read_rows(out)
    ok = after[after["status"] == "ok"]
    assert len(ok) == 8 and not ok.duplicated(KEY_COLUMNS).any()
    kept = ok.merge(ok_before, on=KEY_COLUMNS, suffixes=("", "_before"))
    assert len(kept) == len(ok_before) and (kept["total_ms"] == kept["total_ms_before"]).all()
    no_runner_dirs_left(vm)


def test_two_clusters_are_told_apart_and_built_and_pinned_per_cluster(vm2, tmp_path):
    res = bench("probe", "--board", vm2.name, "--json", env=vm2.env, timeout=120)
    assert res.returncode == 0, res.stderr
    clusters = json.loads(res.stdout)["topology"]["clusters"]
    assert [(c["core"], c["cpus"], c["capacity"]) for c in clusters] == \
        [("a53", [0, 1, 2, 3], 462), ("a53", [4, 5, 6, 7], 1024)]
    # Both clusters are "a53" (one qemu CPU model): their rows carry the core with its CPUs, so that
    # one table keeps both, each built for and pinned to its own cluster.
    out = tmp_path / "all"
    with PinWatcher(vm2) as pins:
        res = bench("run", "--board", vm2.name, "--core", "all", "--bits", "8", "--algo", "f2",
                    "--transform", "static", "--res", "4", "--channels", "4", "--reps", "20",
                    "--min-time-ms", "1500", "--no-errors", "--out", out, env=vm2.env)
    assert res.returncode == 0, res.stderr
    rows = read_rows(out)
    assert (rows["status"] == "ok").all() and rows["emulated"].all()
    cpus = dict(zip(rows["core"], rows["cpus"]))
    assert len(rows) == 2 and sorted(cpus) == ["a53@0-3", "a53@4-7"]
    assert int(cpus["a53@0-3"]) in range(0, 4) and int(cpus["a53@4-7"]) in range(4, 8)
    assert pins.seen == set(cpus.values()), (pins.seen, pins.errors[-3:])   # as the board's kernel reports it
    no_runner_dirs_left(vm2)
