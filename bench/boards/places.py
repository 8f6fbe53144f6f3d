"""Boards on labgrid places: a board profile with `transport = "labgrid"` (or `--board
labgrid:TAG=VALUE`) is reached by reserving and acquiring its place on a labgrid coordinator
(bench.boards.coordinator), reading the place's NetworkService (address, user, port) and connecting
with this project's own SSH transport, host keys checked against known_hosts as for any SSH board.

- `hold` reserves the place (labgrid queues reservations fairly), waits for it up to the board's
  `acquire_timeout`, saying who holds it whenever that changes, and acquires it. A place is held
  once per process however many connections reach its board (the sweep's later connections share
  it) and released, with its reservation cancelled, when the last one closes.
- `PlaceTransport` is the SSH transport of a held place; closing it releases the place. Every exit
  path closes it (the callers' `finally`), an interrupted wait gives the place up at once
  (`stop_waiting`), and whatever is still held when the process ends is released then.
- A watcher notices when the coordinator goes away or the place is taken away (an admin's
  `release --kick`): one line says so, and the runners on those places are killed, since their
  board may no longer be this run's alone; rows already measured are kept.
- `expand` turns tag matches into one board per matching place, for farms.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import sys
import threading
import time
import weakref

from bench.boards import coordinator as lg
from bench.boards.coordinator import Attempt, Coordinator, CoordinatorError, PlaceState, Service
from bench.boards.profiles import Board
from bench.boards.transport import SSHTransport, TransportError, TransportTimeout

COORDINATOR_ENV = "LG_COORDINATOR"
POLL_S = 0.5        # how often a waiting reservation is polled
WATCH_S = 0.5       # how often held places are checked


def coordinator_of(board: Board) -> str:
    """The board's coordinator: its profile's (or --coordinator), else $LG_COORDINATOR, else labgrid's default."""
    return lg.with_port(board.coordinator or os.environ.get(COORDINATOR_ENV) or "127.0.0.1")


def wanted(board: Board) -> dict:
    """The reservation filter: the place by name, or the tags."""
    return {"name": board.place} if board.place else dict(board.tags)


def _say(line: str) -> None:
    print(f"bench: {line}", file=sys.stderr, flush=True)


class Lease:
    """A place this process holds: its reservation and acquisition (`attempt`), the NetworkService
    its board answers on, and the transports using it."""

    def __init__(self, coordinator: Coordinator, key: tuple, attempt: Attempt, service: Service):
        self.coordinator, self.key, self.attempt, self.service = coordinator, key, attempt, service
        self.users = 1
        self.lost = ""
        self.transports: weakref.WeakSet = weakref.WeakSet()

    @property
    def place(self) -> str:
        return self.attempt.place

    def ssh_board(self, board: Board) -> Board:
        """`board` as the SSH board its place's NetworkService names (the profile's `user` wins)."""
        s = self.service
        return dataclasses.replace(board, transport="ssh", host=s.address, port=s.port, user=board.user or s.username)

    def release(self) -> None:
        """One user less; the last one releases the place and cancels the reservation (bounded)."""
        with _lock:
            self.users -= 1
            if self.users:
                return
            _leases.pop(self.key, None)
        t0 = time.monotonic()
        try:
            if not self.coordinator.gone:
                self.coordinator.release(self.attempt)
        except CoordinatorError as e:
            if not self.lost:
                _say(f"warning: could not release place {self.place}: {e}; release it with: "
                     f"labgrid-client -x {self.coordinator.address} -p {self.place} release")
        finally:
            lg.unuse(self.coordinator)
        self.release_s = time.monotonic() - t0

    def lose(self, why: str) -> None:
        self.lost = why
        for t in list(self.transports):
            t.lose(why)


_lock = threading.Lock()
_leases: dict[tuple, Lease] = {}
_holding: dict[tuple, threading.Lock] = {}     # one hold at a time per place
_stop = threading.Event()
_watcher: threading.Thread | None = None


def stop_waiting() -> None:
    """Give up every wait for a place now (an interrupt): the waits end with an error at once."""
    _stop.set()


def resume_waiting() -> None:
    _stop.clear()


def hold(board: Board) -> Lease:
    """The lease of `board`'s place, shared if this process holds it already, else reserved and
    acquired now (waiting up to `board.acquire_timeout`). TransportError (one line) when it cannot be."""
    address = coordinator_of(board)
    key = (address, tuple(sorted(wanted(board).items())))
    with _lock:
        gate = _holding.setdefault(key, threading.Lock())
    with gate:
        with _lock:
            lease = _leases.get(key)
            if lease is not None and not lease.lost:
                lease.users += 1
                return lease
        if lease is not None:
            raise TransportError(f"board {board.name}: {lease.lost}")
        coordinator = lg.use(address)
        try:
            lease = _take(coordinator, board, key)
        except BaseException:
            lg.unuse(coordinator)
            raise
        with _lock:
            _leases[key] = lease
        _watch()
        return lease


def _take(coordinator: Coordinator, board: Board, key: tuple) -> Lease:
    """Reserve, wait for the allocation, acquire and read the NetworkService; on any failure or
    interruption undo exactly what was done (the reservation cancelled, the place released)."""
    attempt, t0 = Attempt(), time.monotonic()
    try:
        _wait_and_acquire(coordinator, board, attempt, t0 + board.acquire_timeout)
        service = _service(coordinator, board, attempt.place)
    except BaseException:
        try:
            coordinator.release(attempt)
        except CoordinatorError:
            pass   # unreachable: it drops the reservation by itself within a minute
        raise
    lease = Lease(coordinator, key, attempt, service)
    lease.acquire_s = time.monotonic() - t0
    if lease.acquire_s > 2 * POLL_S:
        _say(f"{board.name}: acquired place {attempt.place} after {lease.acquire_s:.0f} s")
    return lease


def _wait_and_acquire(coordinator: Coordinator, board: Board, attempt: Attempt, deadline: float) -> None:
    tags = wanted(board)
    coordinator.reserve(tags, attempt)
    shown = None
    while True:
        state, allocated = coordinator.poll(attempt)
        if allocated and coordinator.acquire(allocated, attempt):
            return
        if state in ("expired", "invalid"):   # e.g. the place was deleted: queue again
            coordinator.release(attempt)
            coordinator.reserve(tags, attempt)
        busy = _busy(coordinator, tags)
        if busy != shown:
            shown = busy
            left = max(0.0, deadline - time.monotonic())
            _say(f"{board.name}: {busy}; waiting up to {left:.0f} s (acquire_timeout)")
        if time.monotonic() >= deadline:
            raise TransportError(f"board {board.name}: {busy} at coordinator {coordinator.address}; gave up after "
                                 f"waiting {board.acquire_timeout:g} s (acquire_timeout; --acquire-timeout)")
        if _stop.wait(POLL_S):
            raise TransportError(f"board {board.name}: interrupted while waiting for a place")


def _busy(coordinator: Coordinator, tags: dict) -> str:
    """Why no place with `tags` is ours yet, in words: who has each one."""
    matching = [p for p in coordinator.places().values() if p.matches(tags)]
    if not matching:
        return f"no place matches {_tags_text(tags)}"
    mine = " (this user: another bench run, or one killed before it could release it)"
    said = [f"{p.name} is {p.who()}{mine if p.holder == coordinator.me else ''}" for p in matching]
    if len(matching) == 1:
        return f"place {said[0]}" if matching[0].state != "free" else f"place {matching[0].name} is being handed out"
    return f"every place matching {_tags_text(tags)} is busy: {', '.join(said)}"


def _tags_text(tags: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(tags.items()))


def _service(coordinator: Coordinator, board: Board, place: str) -> Service:
    """The acquired place's one NetworkService; TransportError naming what is wrong otherwise."""
    state = coordinator.places().get(place)
    services = state.services if state else ()
    where = f"board {board.name}: place {place} at coordinator {coordinator.address}"
    if not services:
        raise TransportError(f"{where} has no NetworkService (is its exporter running? does a match "
                             f"`labgrid-client -p {place} add-match EXPORTER/GROUP/NetworkService` cover one?)")
    if len(services) > 1:
        raise TransportError(f"{where} has {len(services)} NetworkServices ({', '.join(s.path for s in services)}); "
                             f"give it one (labgrid-client -p {place} del-match ...)")
    s = services[0]
    if s.proxy_required:
        raise TransportError(f"{where}: its NetworkService {s.path} ({s.address}) is reachable only through its "
                             f"exporter (a link-local address or an isolated exporter), which bench does not do")
    return s


# ---------------------------------------------------------------------------------------------
# Watching held places; releasing whatever is left at exit

def _watch() -> None:
    global _watcher
    with _lock:
        if _watcher is None or not _watcher.is_alive():
            _watcher = threading.Thread(target=_watch_loop, daemon=True, name="labgrid places")
            _watcher.start()


def _watch_loop() -> None:
    while True:
        time.sleep(WATCH_S)
        with _lock:
            held = [lease for lease in _leases.values() if not lease.lost]
        if not held:
            return
        gone = [lease for lease in held if lease.coordinator.gone]
        if gone:
            addresses = sorted({lease.coordinator.address for lease in gone})
            _say(f"labgrid coordinator {', '.join(addresses)} went away: place(s) "
                 f"{', '.join(sorted(lease.place for lease in gone))} no longer held by this run; their "
                 f"measurements stop (the rows measured are kept)")
        for lease in gone:
            lease.lose(f"place {lease.place} lost: its labgrid coordinator {lease.coordinator.address} went away")
        for lease in (lease for lease in held if lease not in gone):
            holder = lease.coordinator.holder_of(lease.place)
            if holder != lease.coordinator.me:
                why = f"place {lease.place} was taken from this run (now {'held by ' + holder if holder else 'free'})"
                _say(f"{why}; its measurements stop (the rows measured are kept)")
                lease.lose(why)


@atexit.register
def release_all() -> None:
    """Release every place still held (a process ending on a path that did not close its boards)."""
    with _lock:
        left = list(_leases.values())
    for lease in left:
        lease.users = 1
        lease.release()


# ---------------------------------------------------------------------------------------------

class PlaceTransport(SSHTransport):
    """The SSH transport of a board on a held labgrid place; `close` releases the place. When the
    place is lost (`lose`), the commands running on the board are killed and the transport is
    marked broken, so nothing more starts there; cleanup goes through a fresh SSH connection."""

    def __init__(self, board: Board):
        lease = hold(board)
        try:
            super().__init__(lease.ssh_board(board))
        except BaseException:
            lease.release()
            raise
        self.lease = lease
        self._started: weakref.WeakSet = weakref.WeakSet()
        lease.transports.add(self)
        if lease.lost:
            self.lose(lease.lost)

    def start(self, argv):
        proc = super().start(argv)
        self._started.add(proc)
        return proc

    def lose(self, why: str) -> None:
        self.broken = why
        running = []
        for proc in list(self._started):
            try:
                proc.wait(0)
            except TransportTimeout:
                running.append(proc)
            except Exception:
                pass
        if not running:
            return
        try:
            with self.fresh() as t:   # this link still works, but this transport is closed to new commands
                for proc in running:
                    if proc.pid is not None:
                        t.kill_remote(proc.pid)
        except (TransportError, TransportTimeout) as e:
            _say(f"warning: could not stop the commands on {self.board.name}: {e}")

    def close(self) -> None:
        lease, self.lease = getattr(self, "lease", None), None
        try:
            super().close()
        finally:
            if lease is not None:
                lease.release()


def expand(boards: list[Board]) -> tuple[list[Board], list[tuple[Board, str]]]:
    """Boards for a farm: each labgrid tag match becomes one board per matching place (named after
    the place, its `matched` true); other boards stay. Returns (boards, [(board, one-line failure)]) for tag matches
    whose coordinator cannot be asked or that match no place."""
    out: list[Board] = []
    failed: list[tuple[Board, str]] = []
    for b in boards:
        if b.transport != "labgrid" or b.place:
            out.append(b)
            continue
        try:
            places = list_places(coordinator_of(b))
        except CoordinatorError as e:
            failed.append((b, f"board {b.name}: {e}"))
            continue
        found = sorted(n for n, p in places.items() if p.matches(dict(b.tags)))
        if not found:
            known = "; ".join(f"{n} [{_tags_text(p.tags)}]" for n, p in sorted(places.items())) or "none"
            failed.append((b, f"board {b.name}: no place at coordinator {coordinator_of(b)} has tags "
                              f"{_tags_text(dict(b.tags))} (its places: {known})"))
        out += [dataclasses.replace(b, name=n, place=n) for n in found]   # `tags` kept: found by a match
    return out, failed


def list_places(address: str) -> dict[str, PlaceState]:
    """The places of the coordinator at `address`, as of now."""
    coordinator = lg.use(address)
    try:
        return coordinator.places()
    finally:
        lg.unuse(coordinator)
