"""Where cases run: each board reached and probed once (`connect_all`, bench.boards.probe.reach),
its core selection resolved once into (board, cluster, CPUs) targets (`plan_targets`,
`resolve_target`), and the cases shared between boards of one kind (`split`).

A `Target` is one cluster of one reached board: where a runner runs and what its rows say
(`Target.where()`).
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Sequence

from bench.boards import places
from bench.boards.cpus import format_cpulist
from bench.boards.probe import Reached, reach
from bench.boards.profiles import Board, board_hint, resolve_core
from bench.boards.topology import Cluster, label
from bench.errors import UsageError
from bench.measure.protocol import Where


@dataclass
class Target:
    """One cluster of one reached board, as probed: the cluster (with the profile's -mcpu/dotprod),
    the CPUs the runner is pinned to and its thread count."""

    reached: Reached
    cluster: Cluster
    cpus: tuple[int, ...]
    threads: int

    @property
    def board(self) -> Board:
        """The board as probed."""
        return self.reached.board

    @property
    def emulated(self) -> bool:
        """The profile says so, or the board does (its probed topology)."""
        return bool(self.board.emulated)

    def where(self) -> Where:
        core = label(self.cluster, self.reached.topology.clusters)
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


def resolve_target(r: Reached, requested: Cluster, threads: int) -> Target:
    """The requested cluster looked up among the clusters read from the board (UsageError when it
    lacks the core type); a requested CPU list narrows the CPUs, a requested -mcpu or dotprod wins."""
    found = [c for c in r.board.clusters if c.core == requested.core]
    if not found:
        has = ", ".join(f"{c.core} (cpus {format_cpulist(c.cpus)})" for c in r.topology.clusters)
        raise UsageError(f"board {r.board.name!r} has no core {requested.core!r} (read from the board: {has})"
                         f"{board_hint(r.board)}")
    probed = next((c for c in found if set(requested.cpus) & set(c.cpus)), found[-1])
    cpus = pick_cpus(r.board.name, requested, probed, threads)
    cluster = dataclasses.replace(probed, mcpu=requested.mcpu or probed.mcpu, dotprod=requested.dotprod or probed.dotprod)
    return Target(r, cluster, cpus, threads)


def connect_all(boards: Sequence[Board]) -> dict[str, Reached]:
    """Every board reached and probed once, in parallel; a labgrid tag match is every place with
    those tags (bench.boards.places.expand). Host-key and configuration problems (UsageError) are
    raised once all attempts are over, after closing what was opened; so is an interrupt, which
    first ends the waits for busy places."""
    names = [b.name for b in boards]
    if not boards:
        raise UsageError("no boards given")
    if len(set(names)) != len(names):
        raise UsageError(f"a board is listed twice: {', '.join(names)}")
    boards, unmatched = places.expand(list(boards))
    boards = list({b.name: b for b in boards}.values())   # a place two tag matches share is reached once
    ex = ThreadPoolExecutor(max_workers=max(1, len(boards)))
    futures = [ex.submit(reach, b) for b in boards]
    try:
        wait(futures)
    except BaseException:
        places.stop_waiting()
        ex.shutdown(wait=True)
        places.resume_waiting()
        close_all({b.name: f.result() for b, f in zip(boards, futures) if f.exception() is None})
        raise
    ex.shutdown()
    reached = {b.name: Reached(b, failure=why) for b, why in unmatched}
    usage = None
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
        r.close()


def plan_targets(reached: dict[str, Reached], core_arg: str | None, threads: int) -> list[Target]:
    """The (board, cluster) targets of the reachable boards, cores and CPUs resolved once."""
    targets = []
    for r in (r for r in reached.values() if r.up):
        r.profile.check_cpus(r.topology)  # a profile CPU the board lacks is refused, not measured elsewhere
        targets += [resolve_target(r, cluster, threads) for cluster in resolve_core(r.board, core_arg)]
    return targets


def split(reached: dict[str, Reached], items: list) -> dict[str, list]:
    """Items (cases) per board name: boards of one kind (`Board.farm_kind()`, as probed) split them
    round-robin among the reachable ones; boards of different kinds each get every item. A place
    found by a tag match that could not be had gets none (it is not part of the farm)."""
    kinds: dict[str, list[Reached]] = {}
    for r in reached.values():
        kinds.setdefault(r.board.farm_kind(), []).append(r)
    out: dict[str, list] = {}
    for members in kinds.values():
        up = [r for r in members if r.up] or [r for r in members if not r.board.matched]
        for i, r in enumerate(up):
            out[r.board.name] = items[i::len(up)]
    return out
