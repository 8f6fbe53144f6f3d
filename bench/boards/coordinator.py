"""A labgrid coordinator as this process sees it: one client session per coordinator address
(labgrid's own `ClientSession`, over gRPC), the places and NetworkServices it publishes, and the
calls that reserve, acquire and release a place, each with a deadline.

Why labgrid's Python client and not `labgrid-client` processes: places and resources arrive typed,
not as text written for people; their state streams in, so who holds a place is known while
waiting without polling processes; a run costs one connection instead of a Python start-up per call
(about 0.7 s here); and no child process sits in the terminal's process group, where a Ctrl-C would
kill a release halfway. The price: `ClientSession` is labgrid's internal client, so the version is
pinned (pyproject.toml) and only its session, places, resources and the coordinator's gRPC calls
are used (nothing of its drivers: its SSHDriver turns host-key checking off).

The session runs on an event-loop thread of its own. A call is handed to it and waited for with a
deadline; a Ctrl-C or SIGTERM lands in the waiting thread, never inside the call, and the waiter
then lets the call finish (bounded) so that whoever cleans up knows what it did.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from dataclasses import dataclass

from bench.boards.transport import TransportError

# gRPC's fork handlers are not wanted: this process starts compilers, qemu and ssh while the
# session's threads run (set before grpc is first imported).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

DEFAULT_PORT = 20408        # labgrid's
CONNECT_TIMEOUT_S = 10.0
CALL_TIMEOUT_S = 10.0


def _quiet_grpc_poller(loop, context) -> None:
    """The loop's exception handler: gRPC's asyncio poller raises BlockingIOError in one loop when
    another loop of the process (one per coordinator) took the wake-up byte first; nothing is lost,
    so it is not printed. Anything else goes to the default handler."""
    if isinstance(context.get("exception"), BlockingIOError) and "PollerCompletionQueue" in repr(context.get("handle")):
        return
    loop.default_exception_handler(context)


class CoordinatorError(TransportError):
    """The coordinator cannot be reached, refused a call or did not answer in time (exit 1)."""


def with_port(address: str) -> str:
    """HOST[:PORT] with labgrid's default port filled in (IPv6 as [::1]:PORT)."""
    host, sep, port = address.rpartition(":")
    if sep and port.isdigit() and (not host.count(":") or host.endswith("]")):
        return address
    return f"{address}:{DEFAULT_PORT}"


@dataclass(frozen=True)
class Service:
    """A NetworkService resource: where a place's board answers SSH."""

    path: str             # exporter/group/NetworkService/name
    address: str
    port: int
    username: str
    proxy_required: bool  # a link-local address the exporter would have to forward


@dataclass(frozen=True)
class PlaceState:
    """One place as the coordinator publishes it."""

    name: str
    tags: dict
    holder: str | None          # "host/user" that acquired it
    reserved_for: str | None    # owner of a reservation it is allocated to, not yet acquired
    changed: float              # when it last changed (acquired, released, ...), epoch seconds
    services: tuple[Service, ...] = ()   # its NetworkServices (the acquired ones once acquired)
    comment: str = ""

    @property
    def state(self) -> str:
        return "acquired" if self.holder else "reserved" if self.reserved_for else "free"

    def matches(self, tags: dict) -> bool:
        """labgrid's reservation rule: every tag given is the place's (its name is tag `name`)."""
        own = {**self.tags, "name": self.name}
        return all(own.get(k) == v for k, v in tags.items())

    def who(self) -> str:
        """Who has it, in words, for waiting and failure messages."""
        since = time.strftime("%H:%M:%S", time.localtime(self.changed))
        if self.holder:
            return f"held by {self.holder} since {since}"
        if self.reserved_for:
            return f"reserved for {self.reserved_for} since {since}"
        return "free"


@dataclass
class Attempt:
    """What a reservation and acquisition did, filled in on the loop thread as each call succeeds,
    so that cleanup after an interruption undoes exactly that."""

    token: str | None = None
    acquired: bool = False
    place: str | None = None


class Coordinator:
    """A client session with one labgrid coordinator (see the module docstring). Close it when done."""

    def __init__(self, address: str):
        self.address = with_port(address)
        try:
            from labgrid.remote.client import ClientSession
            from labgrid.remote.generated import labgrid_coordinator_pb2 as pb
        except ImportError:
            raise CoordinatorError("labgrid places need the labgrid package: pip install 'winobench[labgrid]'") from None
        _quiet_labgrid_client_log()
        self._pb = pb
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(_quiet_grpc_poller)
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name=f"labgrid {self.address}")
        self._thread.start()

        async def start():
            session = ClientSession(self.address, asyncio.get_running_loop())
            try:
                await session.start()
            except BaseException:
                await session.close()
                raise
            return session

        try:
            self.session = self._call(start(), CONNECT_TIMEOUT_S, "connect")
        except BaseException:
            self._end_loop()
            raise
        self.me = f"{self.session.gethostname()}/{self.session.getuser()}"   # how the coordinator names us

    # -- calls
    def _call(self, coro, timeout: float, what: str):
        fut = asyncio.run_coroutine_threadsafe(asyncio.wait_for(coro, timeout), self._loop)
        try:
            return fut.result(timeout + 2)
        except BaseException as e:
            if not fut.done():   # interrupted here: the call goes on; wait for its end (bounded)
                try:
                    fut.result(timeout + 2)
                except BaseException:
                    pass
            if isinstance(e, Exception):
                raise self._error(e, what) from None
            raise

    def _error(self, e: Exception, what: str) -> CoordinatorError:
        if isinstance(e, CoordinatorError):
            return e
        status = _status(e)
        details = e.details() if hasattr(e, "details") else str(e)
        if isinstance(e, (TimeoutError, asyncio.TimeoutError)) or status == "DEADLINE_EXCEEDED":
            return CoordinatorError(f"labgrid coordinator {self.address} did not answer in time ({what})")
        if status == "UNAVAILABLE" or "Could not connect" in str(e):   # the latter: labgrid's ServerError
            why = f" ({details})" if status else ""
            return CoordinatorError(f"labgrid coordinator {self.address} cannot be reached{why}; "
                                    f"is labgrid-coordinator running there?")
        return CoordinatorError(f"labgrid coordinator {self.address} refused to {what}: {details}")

    @property
    def gone(self) -> bool:
        """The session's stream ended: the coordinator went away (or was restarted)."""
        return self.session.stopping.is_set()

    def places(self) -> dict[str, PlaceState]:
        """Every place the coordinator knows, as of now."""
        return self._call(self._places(), CALL_TIMEOUT_S, "list its places")

    async def _places(self) -> dict[str, PlaceState]:
        s, pb = self.session, self._pb
        res = await s.stub.GetReservations(pb.GetReservationsRequest(), timeout=CALL_TIMEOUT_S)
        owners = {r.token: r.owner for r in res.reservations}
        out = {}
        for name, p in s.places.items():
            paths = [tuple(r) for r in p.acquired_resources] if p.acquired else \
                [(e, g, r.cls, n) for e, groups in s.resources.items() for g, rs in groups.items()
                 for n, r in rs.items() if p.hasmatch((e, g, r.cls, n))]
            services = tuple(_service(s.resources, path) for path in sorted(paths) if path[2] == "NetworkService")
            out[name] = PlaceState(name, dict(p.tags), p.acquired, None if p.acquired else owners.get(p.reservation),
                                   p.changed, tuple(x for x in services if x), p.comment)
        return out

    def reserve(self, tags: dict, attempt: Attempt) -> None:
        """Queue a reservation for a place with these tags (`name` = a place's name)."""
        async def call():
            pb = self._pb
            req = pb.CreateReservationRequest(filters={"main": pb.Reservation.Filter(filter=tags)}, prio=0.0)
            attempt.token = (await self.session.stub.CreateReservation(req, timeout=CALL_TIMEOUT_S)).reservation.token
        self._call(call(), CALL_TIMEOUT_S, "reserve a place")

    def poll(self, attempt: Attempt) -> tuple[str, str | None]:
        """(state of the reservation: waiting, allocated, acquired, expired, invalid; the place it
        was allocated, if any). Polling keeps it alive: the coordinator drops it 60 s after the last poll."""
        from labgrid.remote.common import ReservationState

        async def call():
            req = self._pb.PollReservationRequest(token=attempt.token)
            r = (await self.session.stub.PollReservation(req, timeout=CALL_TIMEOUT_S)).reservation
            return ReservationState(r.state).name, r.allocations.get("main")
        return self._call(call(), CALL_TIMEOUT_S, "poll a reservation")

    def acquire(self, place: str, attempt: Attempt) -> bool:
        """Acquire `place` (exclusive); False when someone else got it first."""
        async def call():
            try:
                await self.session.stub.AcquirePlace(self._pb.AcquirePlaceRequest(placename=place), timeout=CALL_TIMEOUT_S)
            except Exception as e:
                if _status(e) in ("FAILED_PRECONDITION", "PERMISSION_DENIED"):
                    return False
                raise
            attempt.acquired, attempt.place = True, place
            await self.session.sync_with_coordinator()   # the place's update (its resources) has arrived
            return True
        return self._call(call(), CALL_TIMEOUT_S, f"acquire place {place}")

    def release(self, attempt: Attempt) -> None:
        """Release what `attempt` acquired and cancel its reservation; only this client's own
        acquisition is released (`fromuser`), never someone else's."""
        async def call():
            stub, pb = self.session.stub, self._pb
            if attempt.acquired:
                await stub.ReleasePlace(pb.ReleasePlaceRequest(placename=attempt.place, fromuser=self.me),
                                        timeout=CALL_TIMEOUT_S)
                attempt.acquired = False
            if attempt.token:
                try:
                    await stub.CancelReservation(pb.CancelReservationRequest(token=attempt.token), timeout=CALL_TIMEOUT_S)
                except Exception as e:   # expired and dropped already
                    if _status(e) != "FAILED_PRECONDITION":
                        raise
                attempt.token = None
        self._call(call(), 2 * CALL_TIMEOUT_S, f"release place {attempt.place}")

    def holder_of(self, place: str) -> str | None:
        """Who has `place` acquired, as the stream last said (readable from any thread)."""
        p = self.session.places.get(place)
        return p.acquired if p is not None else None

    def close(self) -> None:
        async def stop():
            await self.session.stop()
            await self.session.close()
            # gRPC leaves tasks behind on the loop; end them here, not as "destroyed but pending" at exit
            left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in left:
                t.cancel()
            await asyncio.gather(*left, return_exceptions=True)
        try:
            self._call(stop(), CALL_TIMEOUT_S, "close the session")
        except CoordinatorError:
            pass   # gone already
        finally:
            self._end_loop()

    def _end_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CALL_TIMEOUT_S)
        if not self._thread.is_alive():
            self._loop.close()


def _status(e: Exception) -> str:
    """The gRPC status name of a failed call ("UNAVAILABLE", ...), "" for other errors."""
    code = getattr(e, "code", None)
    return getattr(code(), "name", "") if callable(code) else ""


def _service(resources: dict, path: tuple) -> Service | None:
    exporter, group, _, name = path
    r = resources.get(exporter, {}).get(group, {}).get(name)
    if r is None or not r.avail:
        return None
    p = r.params
    return Service("/".join(path), str(p.get("address", "")), int(p.get("port") or 22), str(p.get("username") or ""),
                   bool(p.get("extra", {}).get("proxy_required")))


class _LabgridLogging:
    """What labgrid's client modules see as `logging`: they log through the module's functions
    (`logging.error(...)`), which go to the root logger and, on first use, configure it to print
    to stderr (after which every library's log records would be printed, paramiko's tracebacks
    among them). Here those calls go to a logger of their own that prints nothing: bench says in
    one line what went wrong. Everything else is the logging module's."""

    def __init__(self):
        self._log = logging.getLogger("labgrid.remote")
        self._log.addHandler(logging.NullHandler())
        self._log.propagate = False

    def __getattr__(self, name):
        if name in ("debug", "info", "warning", "error", "exception", "critical", "log"):
            return getattr(self._log, name)
        return getattr(logging, name)


def _quiet_labgrid_client_log() -> None:
    from labgrid.remote import client, common

    for module in (client, common):
        if not isinstance(module.logging, _LabgridLogging):
            module.logging = _LabgridLogging()


@dataclass
class _Shared:
    coordinator: Coordinator
    users: int = 0


_lock = threading.Lock()
_open: dict[str, _Shared] = {}
_users_of: dict[int, _Shared] = {}


def use(address: str) -> Coordinator:
    """The process's session with the coordinator at `address` (opened on first use, again after
    the coordinator went away); give it back with `unuse`."""
    address = with_port(address)
    with _lock:
        shared = _open.get(address)
        if shared is None or shared.coordinator.gone:
            shared = _Shared(Coordinator(address))
            _open[address] = shared
            _users_of[id(shared.coordinator)] = shared
        shared.users += 1
        return shared.coordinator


def unuse(coordinator: Coordinator) -> None:
    """One user less; the last one closes the session."""
    with _lock:
        shared = _users_of[id(coordinator)]
        shared.users -= 1
        if shared.users:
            return
        del _users_of[id(coordinator)]
        if _open.get(coordinator.address) is shared:
            del _open[coordinator.address]
    coordinator.close()
