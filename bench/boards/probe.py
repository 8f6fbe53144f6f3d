"""Reading a board through its transport: `probe` copies the files the topology parsers read
(bench.boards.topology) in one shell command and parses them as a tree of their own; `reach` opens a
board's transport and probes it once, and is the one way any command reaches a board.

A board whose runner runs under qemu-user (an `exec_prefix`) presents its emulated CPU model
(`emulated_topology`), marked emulated, with the real machine's topology kept beside it.
"""

from __future__ import annotations

import posixpath
import re
import shlex
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.boards import cores
from bench.boards.profiles import Board, address_setting
from bench.boards.topology import CPU_DIR, Cluster, CpuInfo, Topology, read_topology
from bench.boards.transport import ConnectError, Transport, TransportError, TransportTimeout, open_transport
from bench.errors import MeasurementError, UsageError

# Prints `uname -m` and every file the parsers read, each after a marker line. sysfs/procfs files
# report size 0, so they are cat'ed rather than archived; unmatched globs stay literal and are skipped.
_MARK = "@@wb-probe@@"
_FILES = [
    "/proc/cpuinfo", "/proc/device-tree/model", "/sys/firmware/devicetree/base/model",
    "/sys/firmware/devicetree/base/fw-cfg@*/compatible",
    f"/{CPU_DIR}/online", f"/{CPU_DIR}/present", f"/{CPU_DIR}/possible",
    f"/{CPU_DIR}/cpu[0-9]*/regs/identification/midr_el1", f"/{CPU_DIR}/cpu[0-9]*/cpu_capacity",
    *(f"/{CPU_DIR}/cpu[0-9]*/cpufreq/{n}"
      for n in ("cpuinfo_max_freq", "cpuinfo_min_freq", "scaling_cur_freq", "scaling_governor")),
    "/sys/class/thermal/thermal_zone*/type", "/sys/class/thermal/thermal_zone*/temp",
]
PROBE_SCRIPT = (
    f'echo "{_MARK} uname"; uname -m; '
    f'for f in {" ".join(_FILES)}; do '
    f'[ -f "$f" ] && [ -r "$f" ] || continue; echo "{_MARK} file $f"; cat "$f" 2>/dev/null; echo; done'
)
_ALLOWED = re.compile(r"^/(proc|sys)/[A-Za-z0-9_.@,/-]+$")


def parse_probe_output(text: str) -> tuple[str | None, dict[str, str]]:
    """The probe script's output -> (uname -m, {absolute path: content}). Paths are checked: a board
    must not be able to make us write outside the temporary tree (no `..`, only /proc and /sys)."""
    machine = None
    files: dict[str, str] = {}
    current: str | None = None
    buf: list[str] = []

    def flush():
        if current is not None:
            content = "".join(buf)
            files[current] = content[:-1] if content.endswith("\n") else content  # the added `echo`

    for line in text.splitlines(keepends=True):
        if line.startswith(_MARK + " "):
            flush()
            buf = []
            what = line[len(_MARK) + 1:].rstrip("\n")
            if what == "uname":
                current = None
                machine = ""
            elif what.startswith("file "):
                path = what[5:]
                ok = _ALLOWED.match(path) and posixpath.normpath(path) == path and ".." not in path.split("/")
                current = path if ok else None
            continue
        if machine == "" and current is None:
            machine = line.strip()
            continue
        if current is not None:
            buf.append(line)
    flush()
    return machine or None, files


def probe(transport) -> Topology:
    """Read the topology of the board behind `transport` (a `bench.boards.transport.Transport`).

    On a board whose runner runs under qemu-user (emulated, with an exec_prefix) the result describes
    the emulated CPU: one cluster per profile cluster
    (core type from the `-cpu` model of exec_prefix), on the host's online CPUs (the runner is pinned
    there), with `emulated=True` and the real machine's topology in `.real_machine`.
    """
    result = transport.run(["sh", "-c", PROBE_SCRIPT], timeout=60)
    if result.returncode != 0 and not result.stdout:
        raise UsageError(f"probe of {transport.board.name} failed: {result.stderr.strip()[:300]}")
    machine, files = parse_probe_output(result.stdout)
    with tempfile.TemporaryDirectory(prefix="wb-probe-") as tmp:
        for path, content in files.items():
            dest = Path(tmp) / path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(content)
        topo = read_topology(tmp, machine)
    if transport.board.emulated and transport.board.exec_prefix:   # qemu-user here or on the board
        return emulated_topology(transport.board, topo)
    return topo


def emulated_cpu_model(exec_prefix: str) -> str | None:
    """The qemu `-cpu` model in an exec_prefix (`qemu-aarch64-static -cpu cortex-a53` -> cortex-a53)."""
    argv = shlex.split(exec_prefix)
    for i, a in enumerate(argv):
        if a == "-cpu" and i + 1 < len(argv):
            return argv[i + 1].split(",")[0]
        if a.startswith("-cpu="):
            return a[5:].split(",")[0]
    return None


def emulated_topology(board, real_machine: Topology) -> Topology:
    """The topology an emulated board presents: its CPU model on the real machine's online CPUs."""
    model = emulated_cpu_model(board.exec_prefix)
    profile = list(board.clusters) or [Cluster(core=cores.core_name_of_qemu_cpu(model or "max"))]
    clusters = []
    for c in profile:
        core = cores.core_name_of_qemu_cpu(model) if model else c.core
        known = cores.core_type_by_name(core)
        cpus = tuple(x for x in c.cpus if x in real_machine.online_cpus) or real_machine.online_cpus
        clusters.append(Cluster(core=core, cpus=cpus, mcpu=c.mcpu or (known.mcpu if known else None),
                                dotprod=c.dotprod, capacity=c.capacity))
    cpus = [CpuInfo(cpu=x, online=True, core=clusters[0].core) for x in real_machine.online_cpus]
    return Topology(machine=board.arch or "aarch64", arch=board.arch or "aarch64",
                    model=f"qemu-user {model or 'default cpu'} via {board.exec_prefix!r}",
                    cpus=cpus, clusters=clusters, thermal=real_machine.thermal, emulated=True,
                    emulation=[f"qemu-user on this machine ({board.exec_prefix})"], real_machine=real_machine)


@dataclass
class Reached:
    """A board reached and probed once: `profile` as configured, `board` as probed (architecture and
    clusters read from it, the profile's build settings kept; `Board.with_topology`), the open
    `transport`; or, for a board that could not be reached, `failure` (one line: board, address,
    cause). Use as a context manager: it closes the transport."""

    profile: Board
    transport: Transport | None = None
    topology: Topology | None = None
    failure: str = ""
    board: Board = field(init=False)

    def __post_init__(self):
        self.board = self.profile.with_topology(self.topology) if self.topology else self.profile

    @property
    def up(self) -> bool:
        return self.topology is not None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def __enter__(self) -> "Reached":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def reach(board: Board) -> Reached:
    """Open `board`'s transport and probe it. A board that cannot be reached or probed comes back
    with its `failure` (a farm goes on without it); host-key and configuration problems raise
    UsageError."""
    try:
        t = open_transport(board)
    except ConnectError as e:
        return Reached(board, failure=f"{e}; {address_setting(board)}")
    except TransportError as e:
        return Reached(board, failure=str(e))
    try:
        return Reached(board, t, probe(t))
    except (TransportError, TransportTimeout) as e:
        t.close()
        return Reached(board, failure=f"board {board.name}: probe failed: {e}")


def probe_board(board: Board) -> Reached:
    """`reach` for a command about one board: MeasurementError when it cannot be reached. The
    transport stays open until the Reached is closed."""
    r = reach(board)
    if not r.up:
        raise MeasurementError(r.failure)
    return r
