"""Board farms: one sweep over several boards at once, one thread per board.

`run_targets` drives one `deploy_all` per (board, cluster) target (the C runner's
`bench.measure.deploy.deploy_and_stream`, then the engine runner's for engine cases)
(bench.measure.targets) in parallel, each board its share of the cases (`split`), and merges the
streams; on any exit (Ctrl-C, SIGTERM, an error) it kills the running runners on their boards and
waits for every deployment to clean up. `run_farm` and `run_runner` reach the boards first (the
whole pipeline for a list of boards or one cluster of one board) and close them at the end.
"""

from __future__ import annotations

import queue
import threading
from typing import Iterator, Sequence

from bench.boards.probe import Reached
from bench.boards.profiles import Board
from bench.boards.topology import Cluster
from bench.measure.deploy import Job, StreamOptions, deploy_and_stream, failed_all, jobs_of
from bench.measure.engine_deploy import deploy_engines_and_stream
from bench.measure.protocol import CaseSpec, ErrorKind, Record, Where
from bench.measure.targets import Target, close_all, connect_all, plan_targets, resolve_target, split

_DONE = object()
CLEANUP_WAIT_S = 30.0


class _Live:
    """The deployments running now, so that the consumer's thread can kill them on exit."""

    def __init__(self):
        self._lock = threading.Lock()
        self._deps: dict[int, object] = {}

    def setter(self, key: int):
        def set_dep(dep):
            with self._lock:
                if dep is None:
                    self._deps.pop(key, None)
                else:
                    self._deps[key] = dep
        return set_dep

    def kill_all(self) -> None:
        with self._lock:
            deps = list(self._deps.values())
        for dep in deps:
            dep.kill()


def run_targets(reached: dict[str, Reached], targets: list[Target], jobs: list[Job],
                opts: StreamOptions) -> Iterator[Record]:
    """Measure `jobs` on `targets` (one thread per board; a board's clusters one after another);
    yield every runner line from all boards as it arrives. Boards that could not be reached give
    `connect` rows for their share when no board of their kind can take it."""
    shares = split(reached, jobs)
    results: queue.Queue = queue.Queue()
    opts.stop = stop = threading.Event()
    live = _Live()

    def work(r: Reached, key: int):
        try:
            mine = shares.get(r.board.name, [])
            if not r.up:
                where = Where(r.board.name, "?", (), 0, bool(r.board.emulated))
                for rec in failed_all(mine, ErrorKind.CONNECT, r.failure, where):
                    results.put(rec)
                return
            for target in (t for t in targets if t.reached is r):
                if stop.is_set() or not mine:
                    return
                for item in deploy_all(target, mine, opts, live.setter(key)):
                    results.put(item)
        except BaseException as e:  # handed to the consumer, which re-raises it
            results.put(e)
        finally:
            results.put(_DONE)

    workers = [threading.Thread(target=work, args=(r, i), daemon=True, name=f"farm-{r.board.name}")
               for i, r in enumerate(reached.values())]
    for w in workers:
        w.start()
    try:
        yield from _merge(results, len(workers))
    finally:
        stop.set()
        live.kill_all()   # runners die on their boards; each worker then removes its directory
        for w in workers:
            w.join(CLEANUP_WAIT_S)


def deploy_all(target: Target, jobs: list[Job], opts: StreamOptions, on_deploy) -> Iterator[Record]:
    """This project's cases on the C runner, then the production engines' on the engine runner."""
    ours = [j for j in jobs if not j.spec.on_engine]
    engines = [j for j in jobs if j.spec.on_engine]
    if ours:
        yield from deploy_and_stream(target, ours, opts, on_deploy)
    if engines and not (opts.stop and opts.stop.is_set()):
        yield from deploy_engines_and_stream(target, engines, opts, on_deploy)


def _merge(results: queue.Queue, pending: int) -> Iterator[Record]:
    while pending:
        item = results.get()
        if item is _DONE:
            pending -= 1
        elif isinstance(item, BaseException):
            raise item
        else:
            yield item


def run_farm(boards: Sequence[Board], core_arg: str | None, specs: Sequence[CaseSpec],
             opts: StreamOptions | None = None) -> Iterator[Record]:
    """Reach every board, plan, and run `specs` on the `core_arg` clusters of every board in
    parallel, as `opts` says (threads, repetitions, per-case timeout); yield typed records, each
    CaseRecord's `line` the 1-based position of its spec in `specs`."""
    opts = opts or StreamOptions()
    reached = connect_all(boards)
    try:
        targets = plan_targets(reached, core_arg, opts.threads)
        yield from run_targets(reached, targets, jobs_of(specs), opts)
    finally:
        close_all(reached)


def run_runner(board: Board, cluster: Cluster, specs: Sequence[CaseSpec],
               opts: StreamOptions | None = None) -> Iterator[Record]:
    """Run `specs` on `cluster` of `board` (a requested CPU list narrows its CPUs); yield every
    runner line as a typed record as soon as it arrives, with its board context. A board that
    cannot be reached gives a `connect` row per case."""
    opts = opts or StreamOptions()
    jobs = jobs_of(specs)
    reached = connect_all([board])
    try:
        r = reached[board.name]
        if not r.up:
            where = Where(board.name, cluster.core, cluster.cpus[-opts.threads:], opts.threads, bool(board.emulated))
            yield from failed_all(jobs, ErrorKind.CONNECT, r.failure, where)
            return
        yield from run_targets(reached, [resolve_target(r, cluster, opts.threads)], jobs, opts)
    finally:
        close_all(reached)
