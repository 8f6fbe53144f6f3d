"""Shared fixtures: a hermetic home for every test, real OpenSSH servers on 127.0.0.1
(tests/support.py) and user board files pointing at them, for the SSH, deploy, farm and `bench run`
tests.

- Hermetic: the suite never reads the user's own configuration. From the start of the session
  (`pytest_configure`, so that session fixtures and every `bench` subprocess see it too) HOME and
  the XDG_* directories point into a temporary directory, and BENCH_BOARD, BENCH_BOARDS_FILE and
  SSH_AUTH_SOCK are unset; `hermetic_home` (autouse) gives each test fresh ones on top. The one
  exception is explicit: `real_image_cache` points $BENCH_IMAGE_DIR at the user's cached emulated
  board images (found before anything changed, `REAL_IMAGE_DIR`), for the tests that boot that
  board, so that `make test` does not build the image again on every run.

- `sshd_server`, `sshd_server2`: session-scoped, independent sshd instances (own host key, port).
- `boards_file`: an empty user boards.toml in a temp dir with $BENCH_BOARDS_FILE pointing at it;
  `.add(name, server, **keys)` adds a `[boards.NAME]` entry (host, port, user, identity, known_hosts
  of that server, plus any profile keys), `.group(name, members)` a group.
- `ssh_board`: `boards_file` with board "sshtest" -> SimpleNamespace(name, path, server, file).
- `ssh_farm`: boards "sshtest1" and "sshtest2" (one per server) and group "testfarm".
- `labgrid_lab`: session-scoped labgrid coordinator and exporter on 127.0.0.1 (tests/support.py
  `start_lab`), with places "x86-a" and "x86-b" (tag pool=x86) on the two sshd servers.
- `lab_user`: a researcher of that lab: own HOME whose ~/.ssh knows both servers (known_hosts, keys),
  the `boards_file`, and `env` for a `bench` subprocess (LG_COORDINATOR set).

A subprocess `bench ... --board sshtest` sees the same file through the environment variable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.boards.vm_image import IMAGE_DIR_ENV
from bench.native import build
from tests.support import SSHD, SshServer, labgrid_env, optional_extra, start_lab, start_sshd

HERMETIC_DIRS = ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR")
HERMETIC_UNSET = ("BENCH_BOARD", "BENCH_BOARDS_FILE", "SSH_AUTH_SOCK", IMAGE_DIR_ENV)
# The user's image cache, as the code would find it before the tests change HOME and XDG_*.
REAL_IMAGE_DIR = Path(os.environ.get(IMAGE_DIR_ENV) or Path(
    os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "winobench" / "images")
_session_home = None


def _point_at(root: Path, setenv) -> None:
    for name in HERMETIC_DIRS:
        path = root / name.lower()
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        setenv(name, str(path))


def pytest_configure(config):
    global _session_home
    _session_home = Path(tempfile.mkdtemp(prefix="winobench-tests-home-"))
    _point_at(_session_home, os.environ.__setitem__)
    os.environ["MPLCONFIGDIR"] = str(_session_home / "matplotlib")   # its font cache: once per session
    for name in HERMETIC_UNSET:
        os.environ.pop(name, None)


def pytest_unconfigure(config):
    if _session_home is not None:
        shutil.rmtree(_session_home, ignore_errors=True)


@pytest.fixture(autouse=True)
def hermetic_home(tmp_path_factory, monkeypatch):
    """A fresh HOME and XDG_* per test (none of the user's files, none of another test's)."""
    _point_at(tmp_path_factory.mktemp("home"), monkeypatch.setenv)
    for name in HERMETIC_UNSET:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def real_image_cache() -> dict:
    """{$BENCH_IMAGE_DIR: the user's image cache} for the tests that boot the emulated board."""
    return {IMAGE_DIR_ENV: str(REAL_IMAGE_DIR)}

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
def labgrid_lab(tmp_path_factory, sshd_server, sshd_server2):
    pytest.importorskip("labgrid", reason="the labgrid package (in the test extras: pip install -e '.[test]')")
    lab = start_lab(tmp_path_factory.mktemp("labgrid"))
    try:
        lab.export("rack1", {"x86-a": (sshd_server.port, sshd_server.user), "x86-b": (sshd_server2.port, sshd_server2.user)})
        lab.add_place("x86-a", "rack1/x86-a/*", pool="x86")
        lab.add_place("x86-b", "rack1/x86-b/*", pool="x86")
        lab.servers = {"x86-a": sshd_server, "x86-b": sshd_server2}
        yield lab
    finally:
        lab.stop()


def researcher_home(home: Path, servers) -> Path:
    """A HOME whose ~/.ssh reaches `servers` (known_hosts and keys), as a lab hands them out."""
    ssh = home / ".ssh"
    ssh.mkdir(parents=True, mode=0o700, exist_ok=True)
    with open(ssh / "known_hosts", "a") as f:
        f.writelines(s.known_hosts.read_text() for s in servers)
    with open(ssh / "config", "a") as f:
        f.write("Host 127.0.0.1\n" + "".join(f"  IdentityFile {s.client_key}\n" for s in servers))
    return home


@pytest.fixture
def lab_user(labgrid_lab, boards_file, tmp_path):
    """A researcher of `labgrid_lab`; the places are free again after each test, whatever it did."""
    home = researcher_home(tmp_path / "home", labgrid_lab.servers.values())
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")   # the suite's runner builds
    env = labgrid_env(labgrid_lab.address, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                      XDG_CACHE_HOME=cache, BENCH_BOARDS_FILE=str(boards_file.path))
    env.pop("BENCH_BOARD", None)
    yield SimpleNamespace(lab=labgrid_lab, env=env, home=home, file=boards_file)
    for place, (state, _) in labgrid_lab.states().items():
        if state == "acquired":
            labgrid_lab.client("-p", place, "release", "--kick")
    labgrid_lab.cancel_reservations()


@pytest.fixture(scope="session")
def aarch64_driver(tmp_path_factory):
    """kernels_c/tests/q8_driver.c linked with the library sources for cortex-a53 (built once for
    the int8 tests of every scheme)."""
    out = tmp_path_factory.mktemp("driver") / "q8_driver"
    subprocess.run(["aarch64-linux-gnu-gcc", *build.flags("aarch64", "cortex-a53"),
                    *map(str, build.library_sources()), str(build.KERNELS / "tests" / "q8_driver.c"),
                    "-static", "-o", str(out), "-lm"], check=True, capture_output=True, timeout=600)
    return out


@pytest.fixture(scope="session")
def torch():
    """torch, installed from the registries on first use (tests.support.optional_extra); the test
    is skipped where it cannot be installed."""
    import importlib
    import sys

    try:
        return importlib.import_module("torch")
    except ImportError:
        pass
    where = optional_extra("torch==2.13.0")
    if where is None:
        pytest.skip("torch is not installed and could not be installed from the registries (pip install torch)")
    sys.path.append(str(where))   # appended: what the project already has wins
    importlib.invalidate_caches()
    return importlib.import_module("torch")


# The `slow` marker (pyproject.toml): `pytest -m "not slow"` is the inner loop, `make test` runs
# everything. Slow are the tests under tests/e2e/ (whole runs through the CLI, faults, the emulated
# board, the install), the tests marked slow in their module (qemu, cold builds, property tests) and
# every test that needs one of these fixtures (a real sshd, the aarch64 build):
SLOW_FIXTURES = {"sshd_server", "sshd_server2", "ssh_board", "ssh_farm", "qemu_ssh_board", "aarch64_driver",
                 "labgrid_lab", "lab_user"}
E2E = Path(__file__).resolve().parent / "e2e"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or E2E in item.path.parents:
            item.add_marker(pytest.mark.slow)
