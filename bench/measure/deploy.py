"""Deploy and drive the on-board runner (kernels_c/RUNNER.md) on one cluster of one board.

The steps, each its own function: `resolve_target` (the cluster and CPUs as read from the board,
once), `build_for` (the runner binary), `Deployment` (a context manager: a private directory on the
board, the runner pushed and its sha256 checked there; on every exit path the runner is killed on
the board first, then the directory removed), `stream` (runs the cases, one deadline per case; a
case that hangs or crashes becomes a `timeout` or `crash` row and the runner is restarted on the
cases after it). `run_runner` chains them for one (board, cluster).

Everything comes back typed (bench.measure.protocol): the runner's lines as InfoRecord / PeakRecord /
CaseRecord (or Diagnostic for a line that is not a record) with their board context (`Where`), and
failures that should not stop a sweep as `CaseRecord.failed` records, one per affected case. Bad
usage (a core the board lacks, more threads than the cluster has CPUs, host-key problems) raises
UsageError.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import platform
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from bench.boards.profiles import Board
from bench.boards.cpus import Cluster, format_cpulist, label
from bench.native.build import build_runner
from bench.measure.cases import matrices_token
from bench.errors import UsageError
from bench.boards.topology import Topology, normalize_arch, probe
from bench.measure.protocol import (CaseRecord, DeployInfo, Diagnostic, ErrorKind, InfoRecord, Record, Repetition,
                            Where, case_deadline_s, parse_record)
from bench.boards.transport import Process, Transport, TransportError, TransportTimeout, open_transport
from bench.numerics.winograd import load_transform, save_transform

RUNNER_NAME = "wb-runner"
PEAK_S = 15.0       # the --peak measurement before the first case
_INT_FIELDS = ("bits", "h", "w", "cin", "cout", "reps")


@dataclass
class CaseLine:
    """One case of a cases text: its 1-based line number there, its text (comment stripped) and its
    key=value fields."""

    line: int
    text: str
    fields: dict = field(default_factory=dict)


def parse_cases(cases_text: str) -> list[CaseLine]:
    """Case lines of a runner cases text (`key=value` tokens, `#` comments, blank lines skipped)."""
    out = []
    for n, raw in enumerate(cases_text.split("\n"), start=1):  # as the runner: only \n ends a line
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        fields = {}
        for tok in text.split():
            k, sep, v = tok.partition("=")
            if sep:
                fields[k] = int(v) if k in _INT_FIELDS and v.isdigit() else v
        out.append(CaseLine(n, text, fields))
    return out


def failed_all(cases, kind: ErrorKind, message: str, where: Where) -> Iterator[CaseRecord]:
    """One error record per case (CaseLine) that could not be measured."""
    for c in cases:
        yield CaseRecord.failed(c.line, c.fields, kind, message, where)


# ---------------------------------------------------------------------------------------------
# Plan: what runs where, read from the board once

@dataclass
class Target:
    """One cluster of one board, as probed: where a runner runs and what its rows say."""

    board: Board
    topology: Topology
    cluster: Cluster          # the probed cluster, with the profile's -mcpu/dotprod when given
    cpus: tuple[int, ...]
    threads: int

    @property
    def emulated(self) -> bool:
        """The profile says so, or the board does (its probed topology)."""
        return bool(self.board.emulated or getattr(self.topology, "emulated", False))

    def where(self) -> Where:
        core = label(self.cluster, self.topology.clusters)
        return Where(self.board.name, core, self.cpus, self.threads, self.emulated)


def pick_cpus(board_name: str, requested: Cluster, probed: Cluster, threads: int) -> tuple[int, ...]:
    """The CPUs to pin to: `threads` CPUs of the cluster as read from the board (restricted to the
    caller's CPU list when that is a subset), the highest-numbered ones, because CPU 0 of a system
    (and often the first CPU of a cluster) takes most interrupts."""
    if threads < 1:
        raise UsageError(f"bad --threads {threads}; accepted: 1 to {len(probed.cpus)} on {probed.core}")
    pool = tuple(c for c in requested.cpus if c in probed.cpus) or probed.cpus
    if threads > len(pool):
        raise UsageError(f"bad --threads {threads}: board {board_name!r} has {len(pool)} {probed.core} "
                         f"CPU(s) ({format_cpulist(pool)}); accepted: 1 to {len(pool)}")
    return pool[-threads:]


def resolve_target(board: Board, requested: Cluster, topo: Topology, threads: int) -> Target:
    """The requested cluster looked up in the board's probed topology; UsageError when it lacks it."""
    found = topo.cluster(requested.core)
    if not found:
        has = ", ".join(f"{c.core} (cpus {format_cpulist(c.cpus)})" for c in topo.clusters)
        raise UsageError(f"board {board.name!r} has no core {requested.core!r} (read from the board: {has})")
    probed = next((c for c in found if set(requested.cpus) & set(c.cpus)), found[-1])
    cpus = pick_cpus(board.name, requested, probed, threads)
    cluster = dataclasses.replace(probed, mcpu=requested.mcpu or probed.mcpu,
                                  dotprod=requested.dotprod or probed.dotprod)
    return Target(board.with_topology(topo), topo, cluster, cpus, threads)


# ---------------------------------------------------------------------------------------------
# Build (serialized: farm threads may ask for the same build at once, and the build dir is shared)

_build_lock = threading.Lock()


def build_target(board: Board) -> str:
    """build_runner's target for a board: the aarch64 (static, cross) build for Arm boards, emulated
    or not; `host` for a board of this machine's own architecture."""
    arch = normalize_arch(board.arch or "")
    here = normalize_arch(platform.machine())
    if arch == "aarch64":
        return "aarch64"
    if arch == here:
        return "host"
    raise ValueError(f"no runner build for architecture {board.arch!r} (this machine is {here}; "
                     f"builds: host, aarch64)")


def build_for(board: Board, cluster: Cluster) -> Path:
    """The runner binary for this board and cluster (bench.native.build caches by sources and flags)."""
    target = build_target(board)
    with _build_lock:
        if target == "host":
            return Path(build_runner("host"))
        return Path(build_runner("aarch64", cluster.mcpu, dotprod=cluster.dotprod))


# ---------------------------------------------------------------------------------------------
# Deployment

class Deployment:
    """The runner in a private directory on the board. On exit (normal, error, Ctrl-C, SIGTERM
    turned into an exception by the CLI) the running runner is killed on the board, then the
    directory removed."""

    def __init__(self, transport: Transport, board: Board, binary: Path):
        self.transport, self.board, self.binary = transport, board, binary
        self.dir: str | None = None
        self.proc: Process | None = None
        self.digest = hashlib.sha256(binary.read_bytes()).hexdigest()
        self._n = 0

    def open(self) -> "Deployment":
        """Make the directory, push the runner and check its digest there (cleaned up on failure)."""
        try:
            self.dir = self.transport.mkdtemp("wb-runner.")
            self.transport.put(self.binary, self.runner, mode=0o700)
            there = self.transport.sha256(self.runner)
            if there != self.digest:
                raise TransportError(f"sha256 mismatch after upload: sent {self.digest}, board has {there}")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __enter__(self) -> "Deployment":
        return self

    @property
    def runner(self) -> str:
        return f"{self.dir}/{RUNNER_NAME}"

    def put_file(self, local: Path, name: str) -> str:
        remote = f"{self.dir}/{name}"
        self.transport.put(local, remote, mode=0o600)
        return remote

    def start(self, lines: Sequence[str], args: Sequence[str]) -> Process:
        """Start the runner on these case lines (a new cases file per start)."""
        self._n += 1
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("".join(text + "\n" for text in lines))
        try:
            cases = self.put_file(Path(f.name), f"cases-{self._n}.txt")
        finally:
            os.unlink(f.name)
        argv = self.board.exec_prefix_argv + [self.runner, *args, "--cases", cases]
        self.proc = self.transport.start(argv)
        self.argv = argv
        return self.proc

    def kill(self) -> None:
        """Kill the running runner (on the board) and reap it; safe from another thread."""
        proc = self.proc
        if proc is not None:
            proc.kill()
            try:
                proc.wait(5)
            except Exception:  # gone with the connection: nothing more to wait for
                pass

    def __exit__(self, *exc) -> None:
        self.kill()
        if self.dir is None:
            return
        try:
            if self.transport.broken:
                self._clean_through_a_new_connection()
            else:
                self.transport.cleanup(self.dir)
        except (TransportError, TransportTimeout, OSError) as e:
            print(f"bench: warning: could not remove {self.dir} on {self.board.name}: {e}", file=sys.stderr)

    def _clean_through_a_new_connection(self) -> None:
        """The link froze or dropped: kill the runner and remove the directory over a fresh one."""
        with open_transport(self.board) as fresh:
            if self.proc is not None and self.proc.pid is not None:
                try:
                    fresh.kill_remote(self.proc.pid)
                except (TransportError, TransportTimeout):
                    pass  # gone already
            fresh.adopt(self.dir)
            fresh.cleanup(self.dir)


def _runner_matrices(local: Path, tmpdir: str, n: int) -> Path:
    """The runner reads transforms as text (RUNNER.md); .json/.npz transform files are converted."""
    if local.suffix.lower() == ".txt":
        return local
    return Path(save_transform(load_transform(local), Path(tmpdir) / f"matrices-{n}.txt"))


def push_matrices(dep: Deployment, cases: list[CaseLine], files: dict[str, Path], tmpdir: str):
    """Runner lines with `matrices=` pointing into the deployment, and (case, message) for cases
    whose matrices file is missing or unreadable."""
    pushed: dict[str, str] = {}
    lines, bad = [], []
    for c in cases:
        toks = c.text.split()
        try:
            for i, tok in enumerate(toks):
                if tok.startswith("matrices="):
                    toks[i] = "matrices=" + _push_one(dep, tok[len("matrices="):], files, tmpdir, pushed)
        except ValueError as e:
            bad.append((c, str(e)))
            continue
        lines.append((c, " ".join(toks)))
    return lines, bad


def _push_one(dep: Deployment, name: str, files: dict[str, Path], tmpdir: str, pushed: dict) -> str:
    local = files.get(name) or Path(name)
    key = str(local.resolve())
    if key not in pushed:
        if not local.is_file():
            raise ValueError(f"matrices file {name!r} not found on this machine")
        try:
            src = _runner_matrices(local, tmpdir, len(pushed))
        except ValueError as e:
            raise ValueError(f"matrices file {name!r}: {e}") from None
        pushed[key] = dep.put_file(src, f"matrices-{len(pushed)}.txt")
    return pushed[key]


# ---------------------------------------------------------------------------------------------
# Stream: one deadline per case; a hung or crashing case costs only itself

@dataclass
class StreamOptions:
    """How the runner measures the cases: run_runner, run_farm and the sweep pass one of these."""

    threads: int = 1
    files: Sequence[str | os.PathLike] = ()   # local transform files that cases' matrices= name
    verify: bool = False
    reps: Repetition = field(default_factory=Repetition)
    extra_args: Sequence[str] = ()
    case_timeout: float | None = None   # seconds per case; None: derived from the case's work
    peak: bool = False                  # measure the peak rates once, before the first case
    stop: threading.Event | None = None


def _deadline(case: CaseLine, opts: StreamOptions) -> float:
    if opts.case_timeout is not None:
        return opts.case_timeout
    return case_deadline_s(case.fields, opts.reps, opts.verify)


def _attach(rec: Record, target: Target, dep: Deployment) -> Record:
    """The board context on a runner record (the runner's own cpus and threads where it says them)."""
    where = target.where()
    if isinstance(rec, CaseRecord):
        rec.where = dataclasses.replace(where, cpus=rec.cpus or where.cpus,
                                        threads=rec.raw.get("threads", where.threads))
    elif isinstance(rec, InfoRecord):
        rec.where = where
        rec.deploy = DeployInfo(dep.dir, dep.proc.pid, dep.digest, dep.argv, str(dep.binary),
                                target.board.transport, target.board.address, target.topology.to_dict())
    else:
        rec.where = dataclasses.replace(where, cpus=tuple(rec.values.get("cpus", where.cpus)))
    return rec


def _drain(proc: Process, pending: list, target: Target, dep: Deployment, opts: StreamOptions, first: bool):
    """Yield the runner's lines for `pending` [(case, text)]; return (index of the first case not
    reported, why) when the runner stops early, or None when every case was reported."""
    done = 0
    deadline = time.monotonic() + _deadline(pending[0][0], opts) + (PEAK_S if first and opts.peak else 0)
    while True:
        try:
            text = proc.next_line(deadline)
        except TransportTimeout:
            limit = _deadline(pending[done][0], opts)
            return done, (ErrorKind.TIMEOUT, f"case ran past its deadline of {limit:.0f} s; runner killed")
        if text is None:
            break
        rec = parse_record(text)
        if rec is None:
            yield Diagnostic(text, target.where())
            continue
        if isinstance(rec, CaseRecord):
            n = rec.line
            if not 1 <= n <= len(pending):
                continue
            rec.line = pending[n - 1][0].line
            done = max(done, n)
            if done < len(pending):
                deadline = time.monotonic() + _deadline(pending[done][0], opts)
        yield _attach(rec, target, dep)
    if done == len(pending):
        return None
    return done, _exit_reason(proc)


def _exit_reason(proc: Process) -> tuple[ErrorKind, str]:
    try:
        rc = proc.wait(10)
    except TransportTimeout:
        proc.kill()
        rc = None
    err = " | ".join(proc.stderr.strip().splitlines()[-3:])
    if rc is not None and rc < 0:
        name = signal.Signals(-rc).name if -rc in signal.valid_signals() else "a signal (or the connection dropped)"
        return ErrorKind.CRASH, f"runner killed by {name} on this case"
    why = "runner did not exit" if rc is None else \
        f"runner exited with status {rc}" if rc else "runner exited without reporting this case"
    return ErrorKind.RUNTIME, f"{why}: {err}" if err else why


def stream(dep: Deployment, target: Target, jobs: list[tuple[CaseLine, str]], opts: StreamOptions) -> Iterator[Record]:
    """Run `jobs` [(case, runner line)] in the deployment and yield every line as it arrives. A case
    that times out or crashes gets its row and the runner starts again on the cases after it; a
    runner that fails otherwise (bad usage) fails every case left."""
    base = ["--cpus", ",".join(map(str, target.cpus)), "--threads", str(target.threads),
            *opts.reps.runner_args(), *(["--verify"] if opts.verify else []), *opts.extra_args]
    pending, first = list(jobs), True
    while pending and not (opts.stop and opts.stop.is_set()):
        try:
            proc = dep.start([t for _, t in pending], base + (["--peak"] if first and opts.peak else []))
        except (TransportError, TransportTimeout, OSError) as e:
            yield from failed_all([c for c, _ in pending], ErrorKind.CONNECT, f"cannot start the runner: {e}",
                                  target.where())
            return
        stopped = yield from _drain(proc, pending, target, dep, opts, first)
        dep.kill()
        first = False
        if stopped is None:
            return
        n, (kind, why) = stopped
        if opts.stop and opts.stop.is_set():
            return
        failing = pending[n:] if kind == ErrorKind.RUNTIME else pending[n:n + 1]
        yield from failed_all([c for c, _ in failing], kind, why, target.where())
        pending = pending[n + len(failing):]


# ---------------------------------------------------------------------------------------------

def run_runner(board: Board, cluster: Cluster, cases_text: str, opts: StreamOptions | None = None,
               transport: Transport | None = None) -> Iterator[Record]:
    """Run the cases of `cases_text` (runner format) on `cluster` of `board`; yield every runner line
    as a typed record as soon as it arrives, with its board context (a CaseRecord's `line` is the
    line number in `cases_text`; the InfoRecord has the deployment). `opts`: threads, repetitions,
    per-case timeout (None: derived from each case's work), transform files a case's
    `matrices=NAME` names by `bench.measure.cases.matrices_token`; `transport`: an open one to reuse."""
    opts = opts or StreamOptions()
    cases = parse_cases(cases_text)
    where = Where(board.name, cluster.core, cluster.cpus[-opts.threads:], opts.threads, bool(board.emulated))
    own = transport is None
    if own:
        try:
            transport = open_transport(board)
        except TransportError as e:
            yield from failed_all(cases, ErrorKind.CONNECT, str(e), where)
            return
    try:
        try:
            topo = probe(transport)
        except (TransportError, TransportTimeout) as e:
            yield from failed_all(cases, ErrorKind.CONNECT, f"probe failed: {e}", where)
            return
        target = resolve_target(board, cluster, topo, opts.threads)
        yield from deploy_and_stream(transport, target, cases, opts)
    finally:
        if own:
            transport.close()


def deploy_and_stream(transport: Transport, target: Target, cases: list[CaseLine], opts: StreamOptions,
                      on_deploy=None) -> Iterator[Record]:
    """Build, deploy, stream, clean up. `on_deploy(dep)`/`on_deploy(None)` lets a caller kill the
    runner from another thread while the deployment is up."""
    where = target.where()
    try:
        binary = build_for(target.board, target.cluster)
    except Exception as e:  # any build failure is reported per case; the sweep goes on
        yield from failed_all(cases, ErrorKind.BUILD, f"runner build failed: {e}", where)
        return
    with tempfile.TemporaryDirectory(prefix="wb-deploy-") as tmp:
        try:
            dep = Deployment(transport, target.board, binary).open()
        except (TransportError, TransportTimeout, OSError) as e:
            yield from failed_all(cases, ErrorKind.PUSH, str(e), where)
            return
        with dep:
            if on_deploy:
                on_deploy(dep)
            try:
                jobs, bad = push_matrices(dep, cases, {matrices_token(f): Path(f) for f in opts.files}, tmp)
            except (TransportError, TransportTimeout, OSError) as e:
                yield from failed_all(cases, ErrorKind.PUSH, str(e), where)
                return
            for c, why in bad:
                yield from failed_all([c], ErrorKind.BAD_MATRICES, why, where)
            if jobs:
                yield from stream(dep, target, jobs, opts)
        if on_deploy:
            on_deploy(None)
