"""Deploy and drive the real runner: natively on this machine, over SSH to a real sshd on 127.0.0.1
(natively and through qemu-user as an emulated Cortex-A53), and on the local emulated board.

The SSH server is this machine, so the remote directory and the runner's process can be inspected
on disk and in /proc. No Cortex-A73 can exist here: the aarch64 runner runs under
`qemu-aarch64-static -cpu cortex-a53`, and its results are (and must be) marked emulated.
"""

import dataclasses
import hashlib
import os
import signal
import socket
import stat
import time
from pathlib import Path

import pytest

from bench.boards.probe import probe_board
from bench.boards.profiles import Board, load_board, resolve_core
from bench.boards.topology import Cluster
from bench.errors import UsageError
from bench.measure.deploy import StreamOptions
from bench.measure.farm import run_runner
from bench.measure.protocol import CaseRecord, InfoRecord
from tests.support import spec

CASES = [spec("f4", 16, 16, id="a"), spec("im2row", 8, 8, id="b")]
FAST = ["--min-time-ms", "20", "--min-reps", "3"]   # keeps the suite quick; the runner's defaults are longer
QEMU = "qemu-aarch64-static -cpu cortex-a53"
ONLINE = sorted(os.sched_getaffinity(0))


def host_cluster():
    """This machine's biggest cluster: the SSH test server runs here, so it is the server's too."""
    return resolve_core(load_board("local"), "all")[-1]


def run(board, core="all", cases=CASES, **kw):
    kw.setdefault("extra_args", FAST)
    cluster = resolve_core(board, core)[0] if isinstance(core, str) else core
    return list(run_runner(board, cluster, cases, StreamOptions(**kw)))


def cases_of(lines):
    return [l for l in lines if isinstance(l, CaseRecord)]


def info_of(lines):
    (info,) = [l for l in lines if isinstance(l, InfoRecord)]
    return info


def processor_of(pid: int) -> set[int]:
    """CPUs the threads of `pid` last ran on (field 39 of /proc/PID/task/TID/stat)."""
    cpus = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(") ", 1)[1].split()
        cpus.add(int(fields[36]))   # 39th field overall; fields[0] is the 3rd (state)
    return cpus


def allowed_of(pid: int) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no Cpus_allowed_list")


def gone(pid: int, wait: float = 5.0) -> bool:
    """True once `pid` has exited (a zombie counts: only its parent has not collected it)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
        except FileNotFoundError:
            return True
        if state in "ZX":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


@pytest.fixture
def qemu_ssh_board(boards_file, sshd_server):
    """An ssh board whose runner is the aarch64 build run through qemu on the server (an emulated A53)."""
    return load_board(boards_file.add("sshqemu", sshd_server, arch="aarch64", exec_prefix=QEMU, emulated=True,
                                      clusters=[{"core": "a53", "mcpu": "cortex-a53"}]))


def test_local_board_runs_and_streams(tmp_path):
    board = load_board("local")
    lines = run(board)
    info = info_of(lines)
    assert lines[0] is info and info.where.board == "local"
    cases = cases_of(lines)
    assert [(c.line, c.id, c.status) for c in cases] == [(1, "a", "ok"), (2, "b", "ok")]
    host = board.clusters[-1]
    for c in cases:
        assert (c.where.board, c.where.core, list(c.where.cpus), c.where.emulated) == ("local", host.core, [host.cpus[-1]], False)
        assert c.stages["total"].median > 0
    d = info.deploy
    assert d.sha256 == hashlib.sha256(Path(d.binary).read_bytes()).hexdigest()
    assert not os.path.exists(d.remote_dir)


@pytest.mark.skipif(len(ONLINE) < 2, reason="pinning to two different CPUs needs two online CPUs")
@pytest.mark.parametrize("where", ["local", pytest.param("ssh", marks=pytest.mark.slow)])
@pytest.mark.parametrize("requested", [None, (ONLINE[0],)])
def test_pinning_really_runs_there(where, requested, request):
    """Default: one thread on the cluster's last CPU; a requested subset is honoured. Checked in the
    kernel's view of the runner process (Cpus_allowed_list, the CPU each thread last ran on) while it
    measures, not only in what the runner reports."""
    name = "local" if where == "local" else request.getfixturevalue("ssh_board").name
    board = load_board(name)
    host = host_cluster()
    cluster = host if requested is None else dataclasses.replace(host, cpus=requested)
    expected = cluster.cpus[-1]
    slow = [spec("f6", 32, 64, id="slow")]
    gen = run_runner(board, cluster, slow, StreamOptions(extra_args=["--min-time-ms", "3000"]))
    try:
        info = next(gen)
        pid = info.deploy.pid
        assert list(info.cpus) == [expected]                       # what the runner says
        time.sleep(0.3)                                         # let it get into the measurement
        assert allowed_of(pid) == str(expected)                 # what the kernel enforces
        assert processor_of(pid) == {expected}                  # where its threads actually ran
    finally:
        gen.close()
    assert gone(pid)


def test_two_threads_within_the_cluster():
    board = load_board("local")
    host = board.clusters[-1]
    if len(host.cpus) < 2:
        pytest.skip("needs a cluster of two CPUs")
    lines = run(board, threads=2)
    assert info_of(lines).raw["threads"] == 2
    assert all(list(c.where.cpus) == list(host.cpus[-2:]) and c.status == "ok" for c in cases_of(lines))
    with pytest.raises(UsageError, match=rf"bad --threads {len(host.cpus) + 1}: .*accepted: 1 to {len(host.cpus)}"):
        run(board, threads=len(host.cpus) + 1)


def test_a_core_the_board_lacks_is_refused():
    with pytest.raises(UsageError, match=r"has no core 'a73' \(read from the board: "):
        run(load_board("local"), Cluster(core="a73", cpus=(4, 5, 6, 7), mcpu="cortex-a73"))


def test_ssh_native_runner_private_dir_removed(ssh_board):
    board = load_board(ssh_board.name)
    gen = run_runner(board, host_cluster(), CASES, StreamOptions(extra_args=FAST))
    info = next(gen)
    remote = info.deploy.remote_dir
    # While the runner runs, the directory exists, is private and holds what was pushed.
    assert stat.S_IMODE(os.stat(remote).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(f"{remote}/wb-runner").st_mode) == 0o700
    assert info.raw["arch"] == os.uname().machine and info.deploy.transport == "ssh"
    rest = list(gen)
    assert [(c.line, c.status, c.where.board) for c in cases_of(rest)] == [(1, "ok", "sshtest"), (2, "ok", "sshtest")]
    assert not os.path.exists(remote)                           # removed, checked on disk


def test_ssh_board_without_clusters_probes_them(sshd_server, boards_file):
    """--host user@addr:port alone: the clusters come from the board."""
    board = load_board(ssh_host=f"{sshd_server.user}@127.0.0.1:{sshd_server.port}")
    board = dataclasses.replace(board, identity=str(sshd_server.client_key), known_hosts=str(sshd_server.known_hosts))
    with probe_board(board) as reached:
        probed = reached.board
    lines = run(probed)
    assert [c.status for c in cases_of(lines)] == ["ok", "ok"]


def test_ssh_aarch64_runner_through_qemu(qemu_ssh_board):
    lines = run(qemu_ssh_board, "a53")
    info = info_of(lines)
    assert info.raw["arch"] == "aarch64" and info.where.emulated is True
    assert info.deploy.argv[:3] == ["qemu-aarch64-static", "-cpu", "cortex-a53"]
    cases = cases_of(lines)
    assert [(c.status, c.where.core, c.where.emulated, c.where.board) for c in cases] == [("ok", "a53", True, "sshqemu")] * 2
    assert not os.path.exists(info.deploy.remote_dir)


def test_host_and_aarch64_runners_agree_bit_for_bit(qemu_ssh_board):
    """Same seeds, same case: the x86 build (SIMDe) and the aarch64 build under qemu give the same
    output bytes (FMA on both, no contraction by the compiler), so a checksum difference means a broken
    deployment or build."""
    native = cases_of(run(load_board("local")))
    emulated = cases_of(run(qemu_ssh_board, "a53"))
    assert [c.checksum for c in native] == [c.checksum for c in emulated]


@pytest.mark.slow   # the aarch64 build under qemu-user
def test_local_emulated_board():
    lines = run(load_board("qemu-a53"), "a53")
    assert info_of(lines).raw["arch"] == "aarch64"
    assert [(c.status, c.where.core, c.where.emulated) for c in cases_of(lines)] == [("ok", "a53", True)] * 2


def test_matrices_files_are_pushed(tmp_path):
    """A case's local transform file is pushed once (two cases share it) and .json is converted to
    the runner's text form; a missing or broken file is a bad_matrices row while the other cases run."""
    from bench.numerics.winograd import cook_toom, save_transform
    save_transform(cook_toom(4), tmp_path / "f4.txt")
    save_transform(cook_toom(4), tmp_path / "f4.json")
    (tmp_path / "broken.json").write_text("{}")
    learned = lambda name, path=None: spec("f4", 8, 8, transform="learned", id=name, matrices=path)
    lines = run(load_board("local"), cases=[
        learned("txt", tmp_path / "f4.txt"), learned("again", tmp_path / "f4.txt"), learned("json", tmp_path / "f4.json"),
        learned("missing", Path("/nonexistent/f9.txt")), learned("broken", tmp_path / "broken.json"), learned("default")])
    got = {c.id: c for c in cases_of(lines)}
    assert {k: got[k].status for k in ("txt", "again", "json", "default")} == dict.fromkeys(
        ("txt", "again", "json", "default"), "ok")
    # The default F(4,3) matrices sent as a file give the output the runner's built-in ones give.
    assert got["txt"].checksum == got["again"].checksum == got["json"].checksum == got["default"].checksum
    assert got["missing"].error_kind == "bad_matrices" and "/nonexistent/f9.txt" in got["missing"].message
    assert got["broken"].error_kind == "bad_matrices" and "broken.json" in got["broken"].message


def test_build_failure_is_a_row_per_case():
    board = load_board("qemu-a53")
    bad = Cluster(core="a53", mcpu="cortex-nonexistent")
    cases = cases_of(run(board, bad))
    assert [(c.line, c.id, c.status, c.error_kind) for c in cases] == [
        (1, "a", "error", "build"), (2, "b", "error", "build")]
    assert "cortex-nonexistent" in cases[0].message and cases[0].where.board == "qemu-a53"


def test_runner_failure_is_a_row_per_case():
    lines = run(load_board("local"), extra_args=["--no-such-option"])
    cases = cases_of(lines)
    assert [(c.line, c.error_kind) for c in cases] == [(1, "runtime"), (2, "runtime")]
    assert "exited with status 2" in cases[0].message


def test_timeout_kills_and_reports(ssh_board):
    board = load_board(ssh_board.name)
    # About 1 GFLOP per repetition, 10000 repetitions: several minutes on any machine.
    slow = [spec("im2row", 8, 8, id="quick"), spec("f4", 64, 256, reps=10000, id="slow"), spec("im2row", 4, 8, id="after")]
    gen = run_runner(board, host_cluster(), slow, StreamOptions(case_timeout=5, extra_args=FAST))
    info = next(gen)                                   # the build (maybe slow) is behind us here
    t0 = time.monotonic()
    lines = [info, *gen]
    assert time.monotonic() - t0 < 20
    # The hung case costs only itself: the runner is killed and started again on the case after it.
    assert [(c.id, c.status, c.error_kind) for c in cases_of(lines)] == [
        ("quick", "ok", None), ("slow", "error", "timeout"), ("after", "ok", None)]
    assert "deadline of 5 s" in cases_of(lines)[1].message
    infos = [l for l in lines if isinstance(l, InfoRecord)]
    assert len(infos) == 2 and all(gone(i.deploy.pid) for i in infos)
    assert not os.path.exists(info.deploy.remote_dir)


def test_stopping_early_cleans_up(ssh_board):
    board = load_board(ssh_board.name)
    gen = run_runner(board, host_cluster(),
                     [spec("f6", 32, 64)] * 3,
                     StreamOptions(extra_args=["--min-time-ms", "5000"]))
    info = next(gen)
    gen.close()                                   # the caller gives up: kill, then remove the dir
    assert gone(info.deploy.pid) and not os.path.exists(info.deploy.remote_dir)


def test_unreachable_board_gives_connect_rows(sshd_server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    board = Board(name="down", transport="ssh", host="127.0.0.1", port=port, connect_timeout=5,
                  known_hosts=str(sshd_server.known_hosts))
    cases = cases_of(list(run_runner(board, Cluster(core="a53"), CASES)))
    assert [(c.where.board, c.error_kind) for c in cases] == [("down", "connect")] * 2
    assert f"127.0.0.1:{port}" in cases[0].message


def test_push_failure_gives_push_rows(ssh_board):
    board = dataclasses.replace(load_board(ssh_board.name), workdir="/nonexistent/dir")
    cases = cases_of(run(board, host_cluster()))
    assert [c.error_kind for c in cases] == ["push", "push"] and "mktemp" in cases[0].message


def test_hostile_workdir_deploy(ssh_board, tmp_path):
    marker = tmp_path / "pwned"
    hostile = f"{tmp_path}/a b;touch {marker};'c' $(touch {marker}2)"
    os.makedirs(hostile)
    board = dataclasses.replace(load_board(ssh_board.name), workdir=hostile)
    lines = run(board, host_cluster())
    assert [c.status for c in cases_of(lines)] == ["ok", "ok"]
    assert info_of(lines).deploy.remote_dir.startswith(hostile + "/")
    assert os.listdir(hostile) == [] and not marker.exists() and not Path(f"{marker}2").exists()


@pytest.mark.parametrize("where", ["local", pytest.param("ssh", marks=pytest.mark.slow)])
def test_a_crashing_runner_costs_only_its_case(where, request):
    """A real SIGSEGV delivered to the running runner (standing in for a crashing kernel): the case in
    flight becomes a crash row naming the signal, the runner is started again on the case after it,
    and the directory is still removed."""
    name = "local" if where == "local" else request.getfixturevalue("ssh_board").name
    slow = [spec("f4", 64, 256, reps=1000, id="slow"), spec("im2row", 8, 8, id="after")]
    gen = run_runner(load_board(name), host_cluster(), slow, StreamOptions(extra_args=FAST))
    info = next(gen)
    os.kill(info.deploy.pid, signal.SIGSEGV)
    cases = cases_of(list(gen))
    assert [(c.id, c.status, c.error_kind) for c in cases] == [
        ("slow", "error", "crash"), ("after", "ok", None)]
    # Over SSH too: the board's shell reports the signal as its exit status.
    assert cases[0].message.startswith("runner killed by SIGSEGV")
    assert not os.path.exists(info.deploy.remote_dir)


def test_a_transform_path_with_any_characters_never_reaches_the_runner_line(tmp_path):
    """The spec carries the local path; the runner line names the copy in the deployment's own directory."""
    from bench.boards.transport import open_transport
    from bench.layers import Layer
    from bench.measure.cases import Case
    from bench.measure.deploy import Deployment
    from bench.native.build import record_digest
    from bench.numerics.winograd import cook_toom, save_transform

    odd = tmp_path / "a b#c h=4096 id=7.json"
    save_transform(cook_toom(4), odd)
    spec = Case(Layer(4, 4, 3, 3), "f4", str(odd), 32).spec(0)
    assert spec.matrices == odd and spec.transform == "learned"
    (tmp_path / "runner").write_bytes(b"not run")
    record_digest(tmp_path / "runner")
    board = load_board("local")
    with open_transport(board) as t, Deployment(t, board, tmp_path / "runner").open() as dep:
        line = dep.runner_line(spec)
        assert line.split()[-1] == f"matrices={dep.dir}/matrices-0.txt" and len(line.split()) == 9
        assert (Path(dep.dir) / "matrices-0.txt").read_text().startswith("4 3")
    assert not Path(dep.dir).exists()
