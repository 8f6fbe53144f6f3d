"""Transports: local, emulated and SSH against a real sshd on 127.0.0.1 (tests/conftest.py).

The SSH server runs on this machine, so what a command does "on the board" can be checked on disk
and in /proc here.
"""

import dataclasses
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.boards.profiles import Board, load_board
from bench.errors import UsageError
from bench.boards.transport import (HostKeyError, TransportError, TransportTimeout, open_transport)


@pytest.fixture(params=["local", pytest.param("ssh", marks=pytest.mark.slow)])   # ssh: a real sshd
def transport(request):
    if request.param == "local":
        board = load_board("local")
    else:
        board = load_board(request.getfixturevalue("ssh_board").name)
    with open_transport(board) as t:
        yield t


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not collected it yet.
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"


def test_put_run_get_cleanup(transport, tmp_path):
    src = tmp_path / "payload.bin"
    src.write_bytes(os.urandom(200_000))
    d = transport.mkdtemp()
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700        # private, checked on disk
    remote = f"{d}/payload.bin"
    transport.put(src, remote, mode=0o700)
    assert stat.S_IMODE(os.stat(remote).st_mode) == 0o700
    import hashlib
    assert transport.sha256(remote) == hashlib.sha256(src.read_bytes()).hexdigest()
    res = transport.run(["sh", "-c", 'echo out; echo err >&2; exit 3'])
    assert (res.returncode, res.stdout, res.stderr) == (3, "out\n", "err\n")
    back = tmp_path / "back.bin"
    transport.get(remote, back)
    assert back.read_bytes() == src.read_bytes()
    transport.cleanup(d)
    assert not os.path.exists(d)


def test_cleanup_only_removes_its_own_dirs(transport, tmp_path):
    victim = tmp_path / "keep"
    victim.mkdir()
    with pytest.raises(ValueError, match="not created by this transport"):
        transport.cleanup(str(victim))
    assert victim.exists()


def test_output_streams_while_the_command_runs(transport):
    proc = transport.start(["sh", "-c", "echo first; sleep 1.5; echo second"])
    t0 = time.monotonic()
    got = []
    for line in proc.lines():
        got.append((line, time.monotonic() - t0))
    assert [g[0] for g in got] == ["first", "second"]
    assert got[0][1] < 1.0 <= got[1][1]     # the first line came before the command ended
    assert proc.wait() == 0


def test_timeout_kills_the_command(transport):
    t0 = time.monotonic()
    proc = transport.start(["sleep", "60"])
    pid = proc.pid
    assert _alive(pid)
    with pytest.raises(TransportTimeout):
        list(proc.lines(deadline=time.monotonic() + 1))
    assert time.monotonic() - t0 < 10
    for _ in range(50):
        if not _alive(pid):
            break
        time.sleep(0.1)
    assert not _alive(pid)


def test_hostile_paths_are_quoted_not_executed(ssh_board, tmp_path):
    """Spaces, quotes, `;` and `$(...)` in the remote work dir arrive as one path and run nothing."""
    marker = tmp_path / "pwned"
    hostile = f"{tmp_path}/it's a dir;touch {marker};x $(touch {marker}2) `touch {marker}3`"
    os.makedirs(hostile)
    board = dataclasses.replace(load_board(ssh_board.name), workdir=hostile)
    with open_transport(board) as t:
        d = t.mkdtemp()
        assert d.startswith(hostile + "/") and os.path.isdir(d)
        name = f"{d}/file; echo INJECTED >&2 #'q"
        src = tmp_path / "src.txt"
        src.write_text("hello\n")
        t.put(src, name)
        res = t.run(["cat", name])
        assert (res.stdout, res.stderr) == ("hello\n", "")
        assert len(t.sha256(name)) == 64
        t.cleanup(d)
        assert not os.path.exists(d) and os.path.isdir(hostile)
    assert not any(Path(f"{marker}{s}").exists() for s in ("", "2", "3"))


def test_known_hosts_mismatch_is_refused(ssh_board, sshd_server2, tmp_path):
    # known_hosts claims server 1's address has server 2's key: what a reinstalled board or a
    # machine in the middle looks like.
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[127.0.0.1]:{ssh_board.server.port} {sshd_server2.host_pubkey}\n")
    board = dataclasses.replace(load_board(ssh_board.name), known_hosts=str(kh), accept_new_host_key=True)
    with pytest.raises(HostKeyError) as e:
        open_transport(board)
    msg = str(e.value)
    assert f"host key mismatch for [127.0.0.1]:{ssh_board.server.port}" in msg
    assert "refusing to connect" in msg and "ssh-keygen -R" in msg
    assert kh.read_text().count("\n") == 1          # opting in to new keys never replaces a known one


def test_known_hosts_mismatch_on_the_command_line(ssh_board, sshd_server2):
    kh = Path(ssh_board.path).parent / "wrong_known_hosts"
    kh.write_text(f"[127.0.0.1]:{ssh_board.server.port} {sshd_server2.host_pubkey}\n")
    ssh_board.file.add(ssh_board.name, ssh_board.server, known_hosts=str(kh))
    r = subprocess.run([sys.executable, "-m", "bench", "probe", "--board", ssh_board.name],
                       capture_output=True, text=True, env=dict(os.environ, BENCH_BOARDS_FILE=str(ssh_board.path)))
    assert r.returncode == 1   # the board cannot be reached (README): exit 1, naming the board
    assert r.stderr.startswith(f"bench: failed: board {ssh_board.name}: host key mismatch") and r.stderr.count("\n") == 1


def test_unknown_host_refused_unless_opted_in(ssh_board, tmp_path):
    kh = tmp_path / "ssh" / "known_hosts"           # does not exist yet
    board = dataclasses.replace(load_board(ssh_board.name), known_hosts=str(kh))
    with pytest.raises(HostKeyError, match=r"is not in .*--accept-new-host-key"):
        open_transport(board)
    assert not kh.exists()
    with open_transport(dataclasses.replace(board, accept_new_host_key=True)) as t:
        assert t.run(["true"]).returncode == 0
    assert kh.read_text().split() == [f"[127.0.0.1]:{ssh_board.server.port}", *ssh_board.server.host_pubkey.split()]
    with open_transport(board) as t:                # recorded: now known without the opt-in
        assert t.run(["echo", "ok"]).stdout == "ok\n"


def test_ssh_config_alias_just_works(sshd_server, tmp_path):
    """`--host benchalias` with only ~/.ssh/config and ~/.ssh/known_hosts set up, as a user would."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    (home / ".ssh" / "config").write_text(
        f"Host benchalias\n  HostName 127.0.0.1\n  Port {sshd_server.port}\n  User {sshd_server.user}\n"
        f"  IdentityFile {sshd_server.client_key}\n")
    (home / ".ssh" / "known_hosts").write_text(sshd_server.known_hosts.read_text())
    env = dict(os.environ, HOME=str(home), BENCH_BOARDS_FILE=str(tmp_path / "none.toml"))
    r = subprocess.run([sys.executable, "-m", "bench", "probe", "--host", "benchalias"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "board     benchalias (benchalias)" in r.stdout and "cluster" in r.stdout


def test_board_ssh_config_file(sshd_server, tmp_path):
    cfg = tmp_path / "ssh_config"
    cfg.write_text(f"Host lab-board\n  HostName 127.0.0.1\n  Port {sshd_server.port}\n  User {sshd_server.user}\n"
                   f"  IdentityFile {sshd_server.client_key}\n  UserKnownHostsFile {sshd_server.known_hosts}\n")
    board = Board(name="lab", transport="ssh", host="lab-board", ssh_config=str(cfg))
    with open_transport(board) as t:
        assert t.known_hosts == str(sshd_server.known_hosts)      # from the config's UserKnownHostsFile
        assert t.run(["echo", "hi"]).stdout == "hi\n"


def test_unreachable_and_unauthorized(sshd_server, tmp_path, monkeypatch):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    board = Board(name="gone", transport="ssh", host="127.0.0.1", port=closed, known_hosts=str(sshd_server.known_hosts),
                  connect_timeout=5)
    with pytest.raises(TransportError, match=f"cannot connect to .*127.0.0.1:{closed}: connection refused: nothing "
                                             f"listens on port {closed} of 127.0.0.1") as e:
        open_transport(board)
    assert "Errno" not in str(e.value)
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    board = Board(name="nokey", **sshd_server.profile(identity=str(stranger)))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)    # no agent offering other keys
    with pytest.raises(TransportError, match="authentication to .* failed"):
        open_transport(board)


def test_emulated_transport_needs_its_program():
    board = dataclasses.replace(load_board("qemu-a53"), exec_prefix="qemu-nonexistent-static -cpu cortex-a53")
    with pytest.raises(UsageError, match="'qemu-nonexistent-static' not found"):
        open_transport(board)
