"""Shared fixtures: real OpenSSH servers on 127.0.0.1 (handbook section 3 recipe) and user board
files pointing at them, for the SSH, deploy, farm and `bench run` tests.

- `sshd_server`, `sshd_server2`: session-scoped, independent sshd instances (own host key, port).
- `boards_file`: an empty user boards.toml in a temp dir with $BENCH_BOARDS_FILE pointing at it;
  `.add(name, server, **keys)` adds a `[boards.NAME]` entry (host, port, user, identity, known_hosts
  of that server, plus any profile keys), `.group(name, members)` a group.
- `ssh_board`: `boards_file` with board "sshtest" -> SimpleNamespace(name, path, server, file).
- `ssh_farm`: boards "sshtest1" and "sshtest2" (one per server) and group "testfarm".

A subprocess `bench ... --board sshtest` sees the same file through the environment variable.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.native import build

SSHD = "/usr/sbin/sshd"


@dataclass
class SshServer:
    host: str
    port: int
    user: str
    dir: Path
    client_key: Path       # private key the server authorizes
    host_pubkey: str       # "ssh-ed25519 AAAA..." of the server's host key
    known_hosts: Path      # a known_hosts file holding exactly this server's key
    log: Path
    pid: int

    @property
    def known_hosts_name(self) -> str:
        return f"[{self.host}]:{self.port}"

    def profile(self, **keys) -> dict:
        """A board profile table reaching this server."""
        return {"transport": "ssh", "host": self.host, "port": self.port, "user": self.user,
                "identity": str(self.client_key), "known_hosts": str(self.known_hosts), **keys}


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "winobench-test", "-f", str(path)],
                   check=True, stdout=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_banner(port: int, proc: subprocess.Popen, log: Path, timeout=15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(64).startswith(b"SSH-2.0"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd on port {port} did not answer within {timeout}s: {log.read_text()[-2000:]}")


def start_sshd(workdir: Path) -> tuple[SshServer, subprocess.Popen]:
    """Start an sshd for the current user on a free 127.0.0.1 port; nothing under /etc changes."""
    user = os.environ.get("USER") or __import__("getpass").getuser()
    _keygen(workdir / "host_key")
    _keygen(workdir / "client_key")
    auth = workdir / "authorized"
    auth.mkdir()
    shutil.copy(workdir / "client_key.pub", auth / user)
    # sshd refuses to start as root without its privilege-separation directory.
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    host_pub = (workdir / "host_key.pub").read_text().split()
    last_error = None
    for _ in range(5):  # another process may grab the port between probing it and sshd binding it
        port = _free_port()
        cfg = workdir / "sshd_config"
        cfg.write_text("\n".join([
            f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {workdir / 'host_key'}",
            f"PidFile {workdir / 'sshd.pid'}", f"AuthorizedKeysFile {auth}/%u", "StrictModes no",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
            "PermitRootLogin prohibit-password", "Subsystem sftp internal-sftp", "LogLevel VERBOSE", "",
        ]))
        log = workdir / "sshd.log"
        proc = subprocess.Popen([SSHD, "-D", "-f", str(cfg), "-E", str(log)])
        try:
            _wait_for_banner(port, proc, log)
        except RuntimeError as e:
            last_error = e
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            continue
        known = workdir / "known_hosts"
        known.write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
        return SshServer("127.0.0.1", port, user, workdir, workdir / "client_key",
                         f"{host_pub[0]} {host_pub[1]}", known, log, proc.pid), proc
    raise RuntimeError(f"could not start sshd: {last_error}")


def _server_fixture(tmp_path_factory, name):
    if not os.path.exists(SSHD):
        pytest.skip(f"{SSHD} is absent (Debian package openssh-server; `make setup` installs it)")
    server, proc = start_sshd(tmp_path_factory.mktemp(name))
    try:
        yield server
    finally:
        proc.terminate()  # stop it by its own PID
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def sshd_server(tmp_path_factory):
    yield from _server_fixture(tmp_path_factory, "sshd1")


@pytest.fixture(scope="session")
def sshd_server2(tmp_path_factory):
    yield from _server_fixture(tmp_path_factory, "sshd2")


class BoardsFile:
    """A user boards.toml under construction (rewritten on each change)."""

    def __init__(self, path: Path):
        self.path = path
        self.boards: dict[str, dict] = {}
        self.groups: dict[str, list[str]] = {}
        self._write()

    def add(self, name: str, server: SshServer | None = None, **keys) -> str:
        self.boards[name] = server.profile(**keys) if server else dict(keys)
        self._write()
        return name

    def group(self, name: str, members: list[str]) -> str:
        self.groups[name] = list(members)
        self._write()
        return name

    def _write(self):
        import tomlkit

        from bench.boards.profiles import without_none
        self.path.write_text(tomlkit.dumps(without_none({"boards": self.boards, "groups": self.groups})))


@pytest.fixture
def boards_file(tmp_path, monkeypatch):
    from bench.boards.profiles import USER_FILE_ENV
    f = BoardsFile(tmp_path / "boards.toml")
    monkeypatch.setenv(USER_FILE_ENV, str(f.path))
    return f


@pytest.fixture
def ssh_board(boards_file, sshd_server):
    name = boards_file.add("sshtest", sshd_server)
    return SimpleNamespace(name=name, path=boards_file.path, server=sshd_server, file=boards_file)


@pytest.fixture
def ssh_farm(boards_file, sshd_server, sshd_server2):
    names = [boards_file.add("sshtest1", sshd_server), boards_file.add("sshtest2", sshd_server2)]
    boards_file.group("testfarm", names)
    return SimpleNamespace(names=names, group="testfarm", path=boards_file.path,
                           servers=[sshd_server, sshd_server2], file=boards_file)


@pytest.fixture(scope="session")
def aarch64_driver(tmp_path_factory):
    """kernels_c/tests/q8_driver.c linked with the library sources for cortex-a53 (built once for
    the int8 tests of every scheme)."""
    out = tmp_path_factory.mktemp("driver") / "q8_driver"
    subprocess.run(["aarch64-linux-gnu-gcc", *build.flags("aarch64", "cortex-a53"),
                    *map(str, build.library_sources()), str(build.KERNELS / "tests" / "q8_driver.c"),
                    "-static", "-o", str(out), "-lm"], check=True, capture_output=True, timeout=600)
    return out


# The `slow` marker (pyproject.toml): sshd and qemu tests, cold builds, whole `bench run` sweeps and
# the property tests (hypothesis: hundreds of generated inputs each), so that `pytest -m "not slow"`
# is the inner loop and `make test` still runs everything.
_SLOW_FIXTURES = {"sshd_server", "sshd_server2", "ssh_board", "ssh_farm", "qemu_ssh_board", "local_results",
                  "aarch64_driver"}
_SLOW_MODULES = {"test_build.py", "test_run_cli.py", "test_faults.py"}
_SLOW_WORDS = ("qemu", "aarch64", "emulated", "ssh")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if (_SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or item.path.name in _SLOW_MODULES
                or any(w in item.name for w in _SLOW_WORDS)
                or getattr(getattr(item, "obj", None), "is_hypothesis_test", False)):
            item.add_marker(pytest.mark.slow)
