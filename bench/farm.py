"""Board farms: one sweep over several boards at once, one thread per board.

Boards of the same kind (`Board.farm_kind()`: the profile's `kind`, else architecture + core types
and counts as probed) split the cases between them round-robin; boards of different kinds each run
every case. Every result carries its `board`, so the merged stream is one table. A board that
cannot be reached leaves its share to the reachable boards of its kind; when none of a kind is
reachable, its cases come back as `connect` error rows.

fabric's ThreadingGroup runs one command on many hosts; a deployment is a conversation (put, check,
stream, clean up), so plain threads drive one `bench.deploy.run_runner` per board and cluster.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Iterator, Sequence

from bench.boards import Board, resolve_core
from bench.deploy import CaseLine, error_row, parse_cases, run_runner
from bench.errors import UsageError
from bench.probe import probe
from bench.transport import TransportError, TransportTimeout, open_transport

_DONE = object()


def shard_text(cases_text: str, cases: list[CaseLine]) -> str:
    """`cases_text` keeping only `cases`, other lines blanked, so line numbers stay those of the
    whole sweep in every board's results."""
    keep = {c.line for c in cases}
    return "\n".join(l if n in keep else "" for n, l in enumerate(cases_text.splitlines(), start=1)) + "\n"


def _connect(board: Board):
    try:
        t = open_transport(board)
    except TransportError as e:
        return board, None, None, e
    except UsageError as e:  # host-key and configuration problems: raised once all are connected
        return board, None, None, e
    try:
        return board, t, probe(t), None
    except (TransportError, TransportTimeout) as e:
        t.close()
        return board, None, None, e


def plan(boards: Sequence[Board], topologies: dict[str, object], cases: list[CaseLine]) -> dict[str, list[CaseLine]]:
    """Cases per board name: shards for reachable boards of one kind, everything for each kind.
    `topologies` has the probed topology of each reachable board."""
    kinds: dict[str, list[Board]] = {}
    for b in boards:
        probed = b.with_topology(topologies[b.name]) if b.name in topologies else b
        kinds.setdefault(probed.farm_kind(), []).append(b)
    out: dict[str, list[CaseLine]] = {}
    for members in kinds.values():
        up = [b for b in members if b.name in topologies] or members
        for i, b in enumerate(up):
            out[b.name] = cases[i::len(up)]
    return out


def run_farm(boards: Sequence[Board], core_arg: str | None, cases: str | Iterable[str], *, threads: int = 1,
             verify: bool = False, extra_args: Sequence[str] = (), timeout: float | None = None,
             files: Sequence[str] = ()) -> Iterator[dict]:
    """Run the sweep `cases` (runner cases text, or its lines) on `core_arg` clusters of every board
    in parallel; yield every runner line (as `run_runner` augments it) as it arrives, from all boards.

    Before anything runs, every board is connected and probed and `core_arg` is resolved on each:
    a board lacking that core, or a host-key problem, raises UsageError naming the board.
    """
    if not boards:
        raise UsageError("no boards given")
    names = [b.name for b in boards]
    if len(set(names)) != len(names):
        raise UsageError(f"a board is listed twice: {', '.join(names)}")
    cases_text = cases if isinstance(cases, str) else "\n".join(cases)
    case_lines = parse_cases(cases_text)

    with ThreadPoolExecutor(max_workers=len(boards)) as ex:
        connected = list(ex.map(_connect, boards))
    transports = {b.name: t for b, t, _, _ in connected if t is not None}
    topologies = {b.name: topo for b, _, topo, _ in connected if topo is not None}
    failures = {b.name: e for b, _, _, e in connected if e is not None}
    try:
        usage = [e for e in failures.values() if isinstance(e, UsageError)]
        if usage:
            raise usage[0]
        clusters = {b.name: resolve_core(b.with_topology(topologies[b.name]), core_arg)
                    for b in boards if b.name in topologies}
    except BaseException:
        for t in transports.values():
            t.close()
        raise

    shares = plan(boards, topologies, case_lines)
    results: queue.Queue = queue.Queue()
    stop = threading.Event()

    def work(board: Board):
        t = transports.get(board.name)
        try:
            mine = shares.get(board.name, [])
            if t is None:
                ctx = {"board": board.name, "core": core_arg or "all", "cpus": [], "threads": threads,
                       "emulated": bool(board.emulated)}
                for c in mine:
                    results.put(error_row(c, "connect", str(failures[board.name]), ctx))
                return
            if not mine:
                return
            text = shard_text(cases_text, mine)
            for cluster in clusters[board.name]:
                gen = run_runner(board, cluster, text, threads=threads, verify=verify, extra_args=extra_args,
                                 transport=t, timeout=timeout, files=files)
                try:
                    for item in gen:
                        if stop.is_set():
                            return
                        results.put(item)
                finally:
                    gen.close()  # runs run_runner's cleanup now, in this thread
        except BaseException as e:  # handed to the consumer, which re-raises it
            results.put(e)
        finally:
            if t is not None:
                t.close()
            results.put(_DONE)

    workers = [threading.Thread(target=work, args=(b,), daemon=True, name=f"farm-{b.name}") for b in boards]
    for w in workers:
        w.start()
    pending = len(workers)
    try:
        while pending:
            item = results.get()
            if item is _DONE:
                pending -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
