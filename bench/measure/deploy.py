"""Deploy and drive the on-board runner (kernels_c/RUNNER.md) on one cluster of one board.

The steps, each its own function: `build_for` (the runner binary, checked against the digest
recorded when it was built), `Deployment` (a context manager: what killed runs left on the board
removed first (bench.boards.leftovers), a private directory on the board, the runner pushed and its
sha256 checked there, each transform file pushed once; on every exit path the runner is killed on
the board first, then the directory removed, and so is this machine's scratch directory), `stream` (runs the cases, one deadline per case; a case that hangs or crashes becomes a
`timeout` or `crash` row and the runner is restarted on the cases after it). `deploy_and_stream`
chains them for one target (bench.measure.targets); bench.measure.farm runs targets in parallel.

Cases go in as `Job`s (a CaseSpec and its 1-based position in the caller's list); the runner's case
lines are written only here, where the runner is started. Everything comes back typed
(bench.measure.protocol): InfoRecord / PeakRecord / CaseRecord (or Diagnostic for a line that is
not a record) with their board context (`Where`), and failures that should not stop a sweep as
`CaseRecord.failed` records, one per affected case.
"""

from __future__ import annotations

import dataclasses
import platform
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from bench.boards.leftovers import remove_leftovers
from bench.boards.profiles import Board
from bench.boards.topology import Cluster, normalize_arch
from bench.boards.transport import Process, Transport, TransportError, TransportTimeout
from bench.measure.protocol import (CaseRecord, CaseSpec, DeployInfo, Diagnostic, ErrorKind, InfoRecord, Record,
                                    Repetition, Where, case_deadline_s, parse_record)
from bench.measure.targets import Target
from bench.files import make_scratch_dir, remove_dead_scratch
from bench.native.build import BuildError, build_runner, verified_digest
from bench.numerics.winograd import load_transform, save_transform

RUNNER_NAME = "wb-runner"
PEAK_S = 15.0       # the --peak measurement before the first case
_INT_FIELDS = ("bits", "h", "w", "cin", "cout", "reps")


@dataclass(frozen=True)
class Job:
    """One case for a deployment: its spec and its 1-based position in the caller's list (the
    `line` of its records)."""

    line: int
    spec: CaseSpec


def jobs_of(specs: Sequence[CaseSpec]) -> list[Job]:
    return [Job(i, s) for i, s in enumerate(specs, start=1)]


def failed_all(jobs, kind: ErrorKind, message: str, where: Where) -> Iterator[CaseRecord]:
    """One error record per job that could not be measured."""
    for j in jobs:
        yield CaseRecord.failed(j.line, j.spec, kind, message, where)


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
        self.digest = verified_digest(binary)   # what was built, not what someone put there since
        self._n = 0
        self._matrices: dict[Path, str] = {}   # local transform file -> its path on the board
        self._scratch: Path | None = None      # this machine's files for the board (cases, matrices)

    def open(self) -> "Deployment":
        """Remove what killed runs left, make the directory, push the runner and check its digest
        there (cleaned up on failure)."""
        try:
            remove_leftovers(self.transport)
            remove_dead_scratch("wb-deploy-")
            self._scratch = make_scratch_dir("wb-deploy-")
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

    def put_matrices(self, local: Path) -> str:
        """A transform file on the board, pushed once, in the runner's text format (RUNNER.md):
        .json and .npz files are converted. ValueError naming the file when it is missing or unreadable."""
        key = local.resolve()
        if key not in self._matrices:
            if not local.is_file():
                raise ValueError(f"matrices file {str(local)!r} not found on this machine")
            name = f"matrices-{len(self._matrices)}.txt"
            try:
                text = local if local.suffix.lower() == ".txt" else \
                    save_transform(load_transform(local), self._scratch / name)
            except ValueError as e:
                raise ValueError(f"matrices file {str(local)!r}: {e}") from None
            self._matrices[key] = self.put_file(Path(text), name)
        return self._matrices[key]

    def runner_line(self, spec: CaseSpec) -> str:
        """The runner's line for a case, its transform file pushed (ValueError: see put_matrices)."""
        return spec.runner_line(self.put_matrices(spec.matrices) if spec.matrices else "")

    def start(self, lines: Sequence[str], args: Sequence[str]) -> Process:
        """Start the runner on these case lines (a new cases file per start)."""
        self._n += 1
        local = self._scratch / f"cases-{self._n}.txt"
        local.write_text("".join(text + "\n" for text in lines))
        try:
            cases = self.put_file(local, local.name)
        finally:
            local.unlink()
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
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
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
        with self.transport.fresh() as fresh:
            if self.proc is not None and self.proc.pid is not None:
                try:
                    fresh.kill_remote(self.proc.pid)
                except (TransportError, TransportTimeout):
                    pass  # gone already
            fresh.adopt(self.dir)
            fresh.cleanup(self.dir)


# ---------------------------------------------------------------------------------------------
# Stream: one deadline per case; a hung or crashing case costs only itself

@dataclass
class StreamOptions:
    """How the runner measures the cases: run_runner, run_farm and the sweep pass one of these."""

    threads: int = 1
    verify: bool = False
    reps: Repetition = field(default_factory=Repetition)
    extra_args: Sequence[str] = ()
    case_timeout: float | None = None   # seconds per case; None: derived from the case's work
    peak: bool = False                  # measure the peak rates once, before the first case
    stop: threading.Event | None = None


def _deadline(job: Job, opts: StreamOptions) -> float:
    if opts.case_timeout is not None:
        return opts.case_timeout
    return case_deadline_s(job.spec, opts.reps, opts.verify)


def _attach(rec: Record, target: Target, dep: Deployment) -> Record:
    """The board context on a runner record (the runner's own cpus and threads where it says them)."""
    where = target.where()
    if isinstance(rec, CaseRecord):
        rec.where = dataclasses.replace(where, cpus=rec.cpus or where.cpus,
                                        threads=rec.raw.get("threads", where.threads))
    elif isinstance(rec, InfoRecord):
        rec.where = where
        rec.deploy = DeployInfo(dep.dir, dep.proc.pid, dep.digest, dep.argv, str(dep.binary),
                                target.board.transport, target.board.address, target.reached.topology.to_dict())
    else:
        rec.where = dataclasses.replace(where, cpus=tuple(rec.values.get("cpus", where.cpus)))
    return rec


def _drain(proc: Process, pending: list, target: Target, dep: Deployment, opts: StreamOptions, first: bool):
    """Yield the runner's lines for `pending` [(job, text)]; return (index of the first job not
    reported, why) when the runner stops early, or None when every job was reported."""
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


def stream(dep: Deployment, target: Target, pending: list[tuple[Job, str]], opts: StreamOptions) -> Iterator[Record]:
    """Run `pending` [(job, runner line)] in the deployment and yield every line as it arrives. A
    case that times out or crashes gets its row and the runner starts again on the cases after it;
    a runner that fails otherwise (bad usage) fails every case left."""
    base = ["--cpus", ",".join(map(str, target.cpus)), "--threads", str(target.threads),
            *opts.reps.runner_args(), *(["--verify"] if opts.verify else []), *opts.extra_args]
    first = True
    while pending and not (opts.stop and opts.stop.is_set()):
        try:
            proc = dep.start([t for _, t in pending], base + (["--peak"] if first and opts.peak else []))
        except (TransportError, TransportTimeout, OSError) as e:
            yield from failed_all([j for j, _ in pending], ErrorKind.CONNECT, f"cannot start the runner: {e}",
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
        if dep.transport.broken and kind != ErrorKind.TIMEOUT:   # lost (e.g. its labgrid place): nothing more runs there
            yield from failed_all([j for j, _ in pending[n:]], ErrorKind.CONNECT,
                                  f"connection to {target.board.name} lost: {dep.transport.broken}", target.where())
            return
        failing = pending[n:] if kind == ErrorKind.RUNTIME else pending[n:n + 1]
        yield from failed_all([j for j, _ in failing], kind, why, target.where())
        pending = pending[n + len(failing):]


def deploy_and_stream(target: Target, jobs: list[Job], opts: StreamOptions, on_deploy=None) -> Iterator[Record]:
    """Build, deploy, push the transform files, stream, clean up, on the target's open transport.
    `on_deploy(dep)`/`on_deploy(None)` lets a caller kill the runner from another thread while the
    deployment is up."""
    where = target.where()
    try:
        binary = build_for(target.board, target.cluster)
    except Exception as e:  # any build failure is reported per case; the sweep goes on
        yield from failed_all(jobs, ErrorKind.BUILD, f"runner build failed: {e}", where)
        return
    try:
        dep = Deployment(target.reached.transport, target.board, binary).open()
    except (TransportError, TransportTimeout, OSError, BuildError) as e:
        yield from failed_all(jobs, ErrorKind.PUSH, str(e), where)
        return
    with dep:
        if on_deploy:
            on_deploy(dep)
        pending = []
        for i, job in enumerate(jobs):
            try:
                pending.append((job, dep.runner_line(job.spec)))
            except ValueError as e:
                yield from failed_all([job], ErrorKind.BAD_MATRICES, str(e), where)
            except (TransportError, TransportTimeout, OSError) as e:
                yield from failed_all([j for j, _ in pending] + jobs[i:], ErrorKind.PUSH, str(e), where)
                return
        if pending:
            yield from stream(dep, target, pending, opts)
    if on_deploy:
        on_deploy(None)
