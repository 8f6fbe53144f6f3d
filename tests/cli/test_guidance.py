"""A CLI that guides: every subcommand's --help has a description and an example, --board's help
names the effective default board and where it comes from, a core this machine lacks points at
--board and the default-board setting, connection failures say in plain words what failed and which
setting holds the address, one clean progress bar, --quiet and --verbose, and results under the
per-user data directory unless the current directory is this checkout.

The connection failures are real: sockets on 127.0.0.1 that refuse, stay silent, or answer as
something other than an SSH server. A DNS failure cannot be made here without a query leaving the
machine, so its wording is checked on the exception the resolver raises (socket.gaierror)."""

import argparse
import os
import socket
import subprocess
import sys
import threading

import pytest

from bench.boards.profiles import DEFAULT_ENV
from bench.boards.transport import connect_failure
from bench.cli.main import SUBCOMMAND_MODULES, build_parser
from bench.cli.options import default_results_root, in_repository
from tests.support import ROOT


def bench(*args, env=None, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "bench", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or ROOT,   # wide help: argparse would wrap paths at hyphens
                          env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "2000", **(env or {})})


def _subcommands(parser=None, prefix=()):
    """(argv, parser) of every subcommand and of every verb under one (argparse keeps them as choices)."""
    for action in (parser or build_parser())._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield [*prefix, name], sub
                yield from _subcommands(sub, (*prefix, name))


def test_every_subcommand_has_a_description_and_an_example():
    seen = set()
    for argv, parser in _subcommands():
        seen.add(argv[0])
        text = parser.format_help()
        assert parser.description and len(parser.description) > 20, argv
        assert "example:\n  bench " + argv[0] in text, (argv, text)
        assert "--quiet" in text and "--verbose" in text, argv
    assert len(seen) == len(SUBCOMMAND_MODULES)
    top = bench("--help").stdout
    assert "examples:" in top and "bench COMMAND --help" in top


@pytest.fixture(autouse=True)
def no_env_default(monkeypatch):
    monkeypatch.delenv(DEFAULT_ENV, raising=False)


def test_board_help_names_the_effective_default_and_its_source(boards_file):
    out = bench("run", "--help").stdout
    assert f"default: local, built in; set one with default = \"NAME\" in {boards_file.path} or $BENCH_BOARD" in out
    boards_file.path.write_text('default = "rpi4"\n')
    out = bench("verify", "--help").stdout
    assert f"default: rpi4, default in {boards_file.path}" in out
    out = bench("probe", "--help", env={DEFAULT_ENV: "hikey960"}).stdout
    assert "default: hikey960, $BENCH_BOARD" in out
    boards_file.path.write_text("default = [1]\n")      # a bad file: --help still works, the command refuses
    done = bench("run", "--help")
    assert done.returncode == 0 and "default: none usable" in done.stdout


def test_a_core_this_machine_lacks_points_at_board_and_the_default_setting(boards_file):
    done = bench("run", "--core", "a73", "--bits", "8")
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip()
    assert "\n" not in line and line.startswith("bench: error: board 'local' has no core 'a73'; it has ")
    assert "name it with --board NAME (see bench boards)" in line
    assert f'default = "NAME" at the top of {boards_file.path}, or $BENCH_BOARD=NAME' in line


# ---------------------------------------------------------------------------------------------
# Connection failures

class Listener:
    """A TCP server on 127.0.0.1 that accepts and then says `greeting` and closes, or (None) stays
    silent until stopped; bounded: it serves a few connections and stops by itself."""

    def __init__(self, greeting: bytes | None):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(30)
        self.port = self.sock.getsockname()[1]
        self.greeting, self.held = greeting, []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        for _ in range(4):
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.greeting is None:
                self.held.append(conn)
            else:
                conn.sendall(self.greeting)
                conn.close()

    def close(self):
        for c in self.held:
            c.close()
        self.sock.close()


def _probe_fails(boards_file, port: int, timeout: float = 3) -> str:
    boards_file.add("desk", transport="ssh", host="127.0.0.1", port=port, user="root", connect_timeout=timeout)
    done = bench("probe", "--board", "desk", timeout=120)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"the address is host = '127.0.0.1' under [boards.desk] in {boards_file.path}" in lines[0]
    return lines[0]


def test_refused(boards_file):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = _probe_fails(boards_file, port)
    assert f"connection refused: nothing listens on port {port} of 127.0.0.1" in line


def test_not_an_ssh_server(boards_file):
    server = Listener(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    try:
        line = _probe_fails(boards_file, server.port)
    finally:
        server.close()
    assert f"port {server.port} of 127.0.0.1 took the connection but did not answer as an SSH server" in line
    assert "banner" not in line


def test_silent_server(boards_file):
    server = Listener(None)
    try:
        line = _probe_fails(boards_file, server.port, timeout=2)
    finally:
        server.close()
    assert f"port {server.port} of 127.0.0.1 took the connection but no SSH server answered within 2 s" in line


def test_dns_and_timeout_wording():
    dns = connect_failure(socket.gaierror(-2, "Name or service not known"), "hikey-b", 22, 0.1, 15)
    assert dns == "the host name 'hikey-b' does not resolve (DNS: Name or service not known); check the name or use an address"
    slow = connect_failure(TimeoutError("timed out"), "10.0.0.5", 22, 15.0, 15)
    assert slow.startswith("no answer within 15 s (connect_timeout 15 s): the board is off")


def test_a_shipped_profile_and_the_default_board_say_where_to_set_the_address(boards_file):
    from bench.boards.profiles import address_setting, load_board

    boards_file.path.write_text('default = "hikey960"\n')
    text = address_setting(load_board())
    assert text.startswith(f"'hikey960' is the default board (default in {boards_file.path}); the address 'hikey960' "
                           f"is the shipped profile's")
    assert f'host = "USER@ADDR" under [boards.hikey960] (with base = "hikey960") in {boards_file.path}' in text
    assert address_setting(load_board("hikey960", "root@10.0.0.5")).endswith("; the address came from --host")


# ---------------------------------------------------------------------------------------------
# Progress, verbosity, where results go

BAR_SCRIPT = """
import time
from types import SimpleNamespace as NS
from bench.layers import Layer
from bench.measure.sweep import progress_bar
bar, update = progress_bar(30.0, 3)
for i in range(3):
    time.sleep(0.3)
    update(NS(algo="f4", transform="static", bits=8, work=10.0, layer=Layer(8, 8, 16, 16)),
           {"board": "b", "core": "a73", "status": "ok", "total_ms": 0.5})
bar.close()
"""


def test_one_clean_progress_bar_on_a_terminal():
    """The bar as a terminal shows it (a pseudo-terminal): one percentage per refresh, the cases done
    and the case just finished after elapsed<remaining, no stray ', '."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))   # a 120-column terminal
    proc = subprocess.Popen([sys.executable, "-c", BAR_SCRIPT], stdin=slave, stdout=slave, stderr=slave, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"})
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=60)
    os.close(master)
    frames = [f.strip() for f in out.decode().replace("\r\n", "\r").split("\r") if "%" in f]
    assert frames and all(f.count("%") == 1 for f in frames), frames
    last = frames[-1]
    assert last.startswith("100% |") and "3/3 b/a73 f4 static int8 8x8x16->16" in last, last
    assert ", " not in last and "<00:00" in last, last


def test_results_go_to_the_checkout_tables_or_the_user_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(ROOT)
    assert in_repository() and default_results_root() == ROOT.joinpath("tables").relative_to(ROOT)
    monkeypatch.chdir(tmp_path)
    assert not in_repository() and default_results_root() == tmp_path / "data" / "winobench" / "tables"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_results_root() == tmp_path / "home" / ".local" / "share" / "winobench" / "tables"


@pytest.mark.slow
def test_quiet_verbose_and_the_default_results_directory(boards_file, tmp_path):
    run = ["run", "--algo", "f2", "--transform", "static", "--bits", "32", "--res", "4", "--channels", "4",
           "--reps", "2", "--min-time-ms", "1", "--no-errors"]
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    quiet = bench(*run, "--quiet", env=env, cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert "bench run:" not in quiet.stderr and "local / host (x86 host, NEON emulated through SIMDe):" in quiet.stdout
    tables = tmp_path / "data" / "winobench" / "tables"
    made = [p for p in tables.iterdir() if p.name.startswith("local-")]
    assert len(made) == 1 and (made[0] / "latency.csv").exists() and (tables / "latest").resolve() == made[0].resolve()
    assert not (tmp_path / "tables").exists()
    verbose = bench("-v", *run, "--out", tmp_path / "v", env=env, cwd=tmp_path)
    assert verbose.returncode == 0, verbose.stderr
    assert "bench run: local/host f2 static fp32 4x4x4->4: " in verbose.stderr and " ms" in verbose.stderr
    both = bench("-q", *run, "-v", env=env, cwd=tmp_path)
    assert both.returncode == 2 and "give --quiet or --verbose, not both" in both.stderr
