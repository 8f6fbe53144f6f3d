"""Deploy and drive the on-board runner (kernels_c/RUNNER.md) on one cluster of one board.

`run_runner` builds the runner for the board's architecture and the cluster's -mcpu, pushes it into
a fresh private directory on the board (mode 0700), checks its sha256 there, runs the whole sweep in
one invocation pinned to the cluster, and yields each JSON line as the runner prints it. The
directory is removed in a `finally`, also when the caller stops iterating early.

Failures that should not stop a sweep (TVM runner lesson) come back as case-like dicts, one per
affected case: {"type": "case", "line", "id", <case fields>, "status": "error", "error_kind",
"message", "board", "core", "cpus", "threads", "emulated"} with error_kind one of ERROR_KINDS.
Bad usage (a core the board lacks, more threads than the cluster has CPUs, host-key problems)
raises UsageError instead: nothing could be measured until the user changes something.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
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

from bench.boards import Board, Cluster, format_cpulist
from bench.errors import UsageError
from bench.probe import normalize_arch, probe
from bench.transport import Transport, TransportError, TransportTimeout, open_transport

# connect: the board could not be reached or probed; build: the runner did not build; push: the
# remote directory, upload or sha256 check failed; runtime: the runner failed or skipped the case;
# timeout: the invocation ran past its deadline (killed); bad_matrices: a matrices file is missing.
ERROR_KINDS = ("connect", "build", "push", "runtime", "timeout", "bad_matrices")
RUNNER_NAME = "wb-runner"
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
    for n, raw in enumerate(cases_text.splitlines(), start=1):
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


def error_row(case: CaseLine, kind: str, message: str, context: dict) -> dict:
    """A case-like dict for a case that could not be measured."""
    fields = {k: v for k, v in case.fields.items() if k != "matrices"}
    row = {"type": "case", "line": case.line, "id": case.fields.get("id"), **fields,
           "status": "error", "error_kind": kind, "message": " ".join(message.split())[:500]}
    row.update(context)
    return row


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
    """The runner binary for this board and cluster (bench.build caches by sources and flags)."""
    from bench.build import build_runner

    target = build_target(board)
    with _build_lock:
        if target == "host":
            return Path(build_runner("host"))
        return Path(build_runner("aarch64", cluster.mcpu, dotprod=cluster.dotprod))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------------

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


def _runner_matrices(local: Path, tmpdir: str, n: int) -> Path:
    """The runner reads transforms as text (RUNNER.md); .json/.npz transform files are converted."""
    if local.suffix.lower() == ".txt":
        return local
    from bench.winograd import load_transform, save_transform

    return Path(save_transform(load_transform(local), Path(tmpdir) / f"matrices-{n}.txt"))


def _rewrite_cases(cases: list[CaseLine], remote_dir: str, files: dict[str, Path], tmpdir: str):
    """Runner input lines with `matrices=` pointing into the remote dir, the (local, remote) files to
    push, and (case, message) for cases whose matrices file is missing or unreadable."""
    pushes: dict[str, tuple[Path, str]] = {}
    lines, bad = [], []
    for c in cases:
        toks = c.text.split()
        ok = True
        for i, tok in enumerate(toks):
            if not tok.startswith("matrices="):
                continue
            name = tok[len("matrices="):]
            local = files.get(name) or Path(name)
            key = str(local.resolve())
            if key not in pushes:
                if not local.is_file():
                    bad.append((c, f"matrices file {name!r} not found on this machine"))
                    ok = False
                    break
                try:
                    src = _runner_matrices(local, tmpdir, len(pushes))
                except ValueError as e:
                    bad.append((c, f"matrices file {name!r}: {e}"))
                    ok = False
                    break
                pushes[key] = (src, f"{remote_dir}/matrices-{len(pushes)}.txt")
            toks[i] = f"matrices={pushes[key][1]}"
        if ok:
            lines.append((c, " ".join(toks)))
    return lines, list(pushes.values()), bad


def run_runner(board: Board, cluster: Cluster, cases_text: str, *, threads: int = 1, verify: bool = False,
               extra_args: Sequence[str] = (), transport: Transport | None = None,
               timeout: float | None = None, files: Sequence[str | os.PathLike] = ()) -> Iterator[dict]:
    """Run the cases of `cases_text` (runner format) on `cluster` of `board`; yield every runner
    JSON line as a dict as soon as it arrives.

    - The cluster is looked up on the board itself (probe): the core name and CPU list in the results
      are the board's. `cluster.cpus` narrows the choice when it is a subset of the board's CPUs of
      that core. `threads` CPUs are used (default 1).
    - `info` lines gain board, core, emulated and `deploy` (remote dir, pid, sha256, argv, the probed
      topology); `case` lines gain board, core, cpus (the runner's own report when present), threads
      and emulated; their `line` is the line number in `cases_text`.
    - A case whose line the runner never printed gets an error row (runtime or timeout).
    - `transport`: an open transport to reuse (not closed here); else one is opened and closed.
    - `timeout`: seconds for the whole invocation (None: no limit); past it the runner is killed.
    - `files`: local files to push beside the runner; a case's `matrices=NAME` naming one of them by
      its file name (or naming any existing local path) is pointed at the pushed copy.
    - `extra_args`: more runner options (e.g. ["--min-time-ms", "50"]).
    """
    cases = parse_cases(cases_text)
    files_by_name = {Path(f).name: Path(f) for f in files}
    context = {"board": board.name, "core": cluster.core, "cpus": list(cluster.cpus[-threads:]),
               "threads": threads, "emulated": bool(board.emulated)}
    own = transport is None
    if own:
        try:
            transport = open_transport(board)
        except TransportError as e:
            yield from (error_row(c, "connect", str(e), context) for c in cases)
            return
    remote_dir = None
    proc = None
    local_tmp = tempfile.TemporaryDirectory(prefix="wb-deploy-")
    try:
        try:
            topo = probe(transport)
        except (TransportError, TransportTimeout) as e:
            yield from (error_row(c, "connect", f"probe failed: {e}", context) for c in cases)
            return
        found = topo.cluster(cluster.core)
        if not found:
            has = ", ".join(f"{c.core} (cpus {format_cpulist(c.cpus)})" for c in topo.clusters)
            raise UsageError(f"board {board.name!r} has no core {cluster.core!r} (read from the board: {has})")
        probed = next((c for c in found if set(cluster.cpus) & set(c.cpus)), found[-1])
        cpus = pick_cpus(board.name, cluster, probed, threads)
        context.update(core=probed.core, cpus=list(cpus))
        run_board = board.with_topology(topo)
        context["emulated"] = run_board.emulated   # the board's own evidence counts, not only its profile
        build_cluster = dataclasses.replace(probed, mcpu=cluster.mcpu or probed.mcpu,
                                            dotprod=cluster.dotprod or probed.dotprod)

        try:
            binary = build_for(run_board, build_cluster)
        except Exception as e:  # any build failure is reported per case; the sweep goes on
            yield from (error_row(c, "build", f"runner build failed: {e}", context) for c in cases)
            return

        try:
            remote_dir = transport.mkdtemp("wb-runner.")
            lines, pushes, bad = _rewrite_cases(cases, remote_dir, files_by_name, local_tmp.name)
            remote_bin = f"{remote_dir}/{RUNNER_NAME}"
            transport.put(binary, remote_bin, mode=0o700)
            digest = _sha256(binary)
            there = transport.sha256(remote_bin)
            if there != digest:
                raise TransportError(f"sha256 mismatch after upload: sent {digest}, board has {there}")
            for local, remote in pushes:
                transport.put(local, remote, mode=0o600)
            with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
                f.write("".join(text + "\n" for _, text in lines))
            try:
                remote_cases = f"{remote_dir}/cases.txt"
                transport.put(f.name, remote_cases, mode=0o600)
            finally:
                os.unlink(f.name)
        except (TransportError, TransportTimeout, OSError) as e:
            yield from (error_row(c, "push", str(e), context) for c in cases)
            return
        for c, why in bad:
            yield error_row(c, "bad_matrices", why, context)

        argv = board.exec_prefix_argv + [remote_bin, "--cpus", ",".join(map(str, cpus)),
                                         "--threads", str(threads), "--cases", remote_cases]
        if verify:
            argv.append("--verify")
        argv += list(extra_args)
        by_runner_line = {i: c for i, (c, _) in enumerate(lines, start=1)}
        reported: set[int] = set()
        deadline = None if timeout is None else time.monotonic() + timeout
        proc = transport.start(argv)
        deploy_info = {"remote_dir": remote_dir, "pid": proc.pid, "sha256": digest, "argv": argv,
                       "binary": str(binary), "transport": board.transport, "address": board.address,
                       "topology": topo.to_dict()}
        try:
            for text in proc.lines(deadline):
                try:
                    msg = json.loads(text)
                except json.JSONDecodeError:
                    yield {"type": "diagnostic", "text": text, **context}
                    continue
                if not isinstance(msg, dict):
                    yield {"type": "diagnostic", "text": text, **context}
                    continue
                kind = msg.get("type")
                if kind == "case":
                    case = by_runner_line.get(msg.get("line"))
                    if case is not None:
                        reported.add(msg["line"])
                        msg["line"] = case.line
                    for k, v in context.items():
                        msg.setdefault(k, v)
                    msg["board"], msg["core"], msg["emulated"] = board.name, probed.core, context["emulated"]
                elif kind == "info":
                    msg.update(board=board.name, core=probed.core, emulated=context["emulated"], deploy=deploy_info)
                else:
                    msg.update(board=board.name, core=probed.core, emulated=context["emulated"])
                yield msg
            rc = proc.wait(None if deadline is None else max(1.0, deadline - time.monotonic()))
        except TransportTimeout:
            for i, c in by_runner_line.items():
                if i not in reported:
                    yield error_row(c, "timeout", f"runner killed after {timeout} s", context)
            return
        if len(reported) < len(by_runner_line):
            err = " | ".join(proc.stderr.strip().splitlines()[-3:])
            if rc < 0:
                why = "runner killed by " + (signal.Signals(-rc).name if -rc in signal.valid_signals() else "a signal (or the connection dropped)")
            elif rc != 0:
                why = f"runner exited with status {rc}"
            else:
                why = "runner exited without reporting this case"
            for i, c in by_runner_line.items():
                if i not in reported:
                    yield error_row(c, "runtime", f"{why}: {err}" if err else why, context)
    finally:
        if proc is not None:
            proc.kill()
            try:
                proc.wait(5)  # gone before its directory is removed (and reaped, when local)
            except Exception:
                pass
        if remote_dir is not None:
            try:
                transport.cleanup(remote_dir)
            except (TransportError, OSError) as e:
                print(f"bench: warning: could not remove {remote_dir} on {board.name}: {e}", file=sys.stderr)
        local_tmp.cleanup()
        if own:
            transport.close()
