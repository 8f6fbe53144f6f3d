"""Board farms: one sweep over several boards at once, one thread per board.

`connect_all` reaches and probes every board once, before any case (a board that cannot be reached
is one line naming it, its address and the cause). `plan_targets` resolves the cores and CPUs on
each reachable board (UsageError for a core a board lacks or too many threads). `split` shares the
cases: boards of the same kind (`Board.farm_kind()`) split them round-robin; boards of different
kinds each run every case. `run_targets` then drives one `bench.measure.deploy.deploy_and_stream` per
(board, cluster) in parallel and merges the streams; on any exit (Ctrl-C, SIGTERM, an error) it
kills the running runners on their boards and waits for every deployment to clean up.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from bench.boards.profiles import Board, resolve_core
from bench.measure.deploy import CaseLine, StreamOptions, Target, deploy_and_stream, failed_all, parse_cases, resolve_target
from bench.errors import UsageError
from bench.boards.topology import Topology, probe
from bench.measure.protocol import ErrorKind, Record, Where
from bench.boards.transport import Transport, TransportError, TransportTimeout, open_transport

_DONE = object()
CLEANUP_WAIT_S = 30.0


@dataclass
class Reached:
    """A board reached and probed (transport open), or why it could not be."""

    board: Board
    transport: Transport | None = None
    topology: Topology | None = None
    failure: str = ""


def _reach(board: Board) -> Reached:
    try:
        t = open_transport(board)
    except TransportError as e:
        return Reached(board, failure=str(e))
    try:
        return Reached(board, t, probe(t))
    except (TransportError, TransportTimeout) as e:
        t.close()
        return Reached(board, failure=f"board {board.name}: probe failed: {e}")


def connect_all(boards: Sequence[Board]) -> dict[str, Reached]:
    """Every board reached and probed once, in parallel. Host-key and configuration problems
    (UsageError) are raised once all attempts are over, after closing what was opened."""
    names = [b.name for b in boards]
    if not boards:
        raise UsageError("no boards given")
    if len(set(names)) != len(names):
        raise UsageError(f"a board is listed twice: {', '.join(names)}")
    with ThreadPoolExecutor(max_workers=len(boards)) as ex:
        futures = [ex.submit(_reach, b) for b in boards]
    reached, usage = {}, None
    for b, f in zip(boards, futures):
        try:
            reached[b.name] = f.result()
        except UsageError as e:
            usage = usage or e
            reached[b.name] = Reached(b, failure=str(e))
    if usage:
        close_all(reached)
        raise usage
    return reached


def close_all(reached: dict[str, Reached]) -> None:
    for r in reached.values():
        if r.transport is not None:
            r.transport.close()


def plan_targets(reached: dict[str, Reached], core_arg: str | None, threads: int) -> list[Target]:
    """The (board, cluster) targets of the reachable boards, cores and CPUs resolved once."""
    targets = []
    for r in reached.values():
        if r.topology is None:
            continue
        r.board.check_cpus(r.topology)  # a profile CPU the board lacks is refused, not measured elsewhere
        probed = r.board.with_topology(r.topology)
        for cluster in resolve_core(probed, core_arg):
            targets.append(resolve_target(r.board, cluster, r.topology, threads))
    return targets


def split(boards: Sequence[Board], topologies: dict[str, Topology], cases: list) -> dict[str, list]:
    """Cases per board name: shards for reachable boards of one kind, everything for each kind.
    `topologies` has the probed topology of each reachable board."""
    kinds: dict[str, list[Board]] = {}
    for b in boards:
        probed = b.with_topology(topologies[b.name]) if b.name in topologies else b
        kinds.setdefault(probed.farm_kind(), []).append(b)
    out: dict[str, list] = {}
    for members in kinds.values():
        up = [b for b in members if b.name in topologies] or members
        for i, b in enumerate(up):
            out[b.name] = cases[i::len(up)]
    return out


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


def run_targets(reached: dict[str, Reached], targets: list[Target], cases: list[CaseLine],
                opts: StreamOptions) -> Iterator[Record]:
    """Measure `cases` on `targets` (one thread per board; a board's clusters one after another);
    yield every runner line from all boards as it arrives. Boards that could not be reached give
    `connect` rows for their share when no board of their kind can take it."""
    boards = [r.board for r in reached.values()]
    shares = split(boards, {n: r.topology for n, r in reached.items() if r.topology is not None}, cases)
    results: queue.Queue = queue.Queue()
    opts.stop = stop = threading.Event()
    live = _Live()

    def work(board: Board, key: int):
        try:
            mine = shares.get(board.name, [])
            r = reached[board.name]
            if r.transport is None:
                for rec in failed_all(mine, ErrorKind.CONNECT, r.failure, Where(board.name, "?", (), 0, bool(board.emulated))):
                    results.put(rec)
                return
            for target in (t for t in targets if t.board.name == board.name):
                if stop.is_set() or not mine:
                    return
                for item in deploy_and_stream(r.transport, target, mine, opts, live.setter(key)):
                    results.put(item)
        except BaseException as e:  # handed to the consumer, which re-raises it
            results.put(e)
        finally:
            results.put(_DONE)

    workers = [threading.Thread(target=work, args=(b, i), daemon=True, name=f"farm-{b.name}")
               for i, b in enumerate(boards)]
    for w in workers:
        w.start()
    try:
        yield from _merge(results, len(workers))
    finally:
        stop.set()
        live.kill_all()   # runners die on their boards; each worker then removes its directory
        for w in workers:
            w.join(CLEANUP_WAIT_S)
        close_all(reached)


def _merge(results: queue.Queue, pending: int) -> Iterator[Record]:
    while pending:
        item = results.get()
        if item is _DONE:
            pending -= 1
        elif isinstance(item, BaseException):
            raise item
        else:
            yield item


def run_farm(boards: Sequence[Board], core_arg: str | None, cases: str | Iterable[str],
             opts: StreamOptions | None = None) -> Iterator[Record]:
    """Reach every board, plan, and run the sweep `cases` (runner cases text, or its lines) on the
    `core_arg` clusters of every board in parallel, as `opts` says (threads, repetitions, per-case
    timeout, transform files); yields typed records as run_runner does."""
    opts = opts or StreamOptions()
    cases_text = cases if isinstance(cases, str) else "\n".join(cases)
    reached = connect_all(boards)
    try:
        targets = plan_targets(reached, core_arg, opts.threads)
    except BaseException:
        close_all(reached)
        raise
    yield from run_targets(reached, targets, parse_cases(cases_text), opts)
