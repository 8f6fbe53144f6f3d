"""Boards on labgrid places, against a real labgrid coordinator and exporter on 127.0.0.1
(tests/conftest.py `labgrid_lab`) whose NetworkServices are the test sshd servers: holding a place
(reserve, acquire, NetworkService, SSH with host keys checked), sharing it, waiting for a busy one,
giving up at the deadline, tag matches, and the coordinator's failures. Whole `bench` runs through
places are in tests/e2e/test_labgrid.py."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from bench.boards.coordinator import CoordinatorError
from bench.boards.places import PlaceTransport, expand, hold, list_places
from bench.boards.probe import reach
from bench.boards.profiles import Board
from bench.boards.transport import HostKeyError, TransportError

pytest.importorskip("labgrid", reason="the labgrid package (in the test extras: pip install -e '.[test]')")
pytestmark = pytest.mark.slow   # real coordinators, exporters and sshd servers


def place_board(lab, place=None, name="lab", **keys) -> Board:
    """A labgrid board of `lab` reached with the key and known_hosts of the place's sshd."""
    server = lab.servers.get(place, lab.servers["x86-a"])
    keys = {"identity": str(server.client_key), "known_hosts": str(server.known_hosts), **keys}
    return Board(name=name, transport="labgrid", place=place, coordinator=lab.address, **keys)


def free(lab) -> bool:
    return all(state == "free" for state, _ in lab.states().values()) and lab.client("reservations").stdout == ""


def test_a_place_is_reserved_acquired_reached_over_ssh_and_released(labgrid_lab, capsys):
    lab = labgrid_lab
    t0 = time.monotonic()
    with PlaceTransport(place_board(lab, "x86-a")) as t:
        acquired = time.monotonic() - t0
        me = t.lease.coordinator.me
        assert lab.states()["x86-a"] == ("acquired", me) and lab.states()["x86-b"] == ("free", None)
        assert (t.board.host, t.board.port) == ("127.0.0.1", lab.servers["x86-a"].port)   # its NetworkService
        assert t.run(["echo", "on the board"], timeout=30).stdout == "on the board\n"
        lease = t.lease
        t1 = time.monotonic()
    released = time.monotonic() - t1
    assert free(lab)
    assert "waiting" not in capsys.readouterr().err   # a free place is taken without a word
    with capsys.disabled():
        print(f"\nLABGRID place x86-a: acquired in {lease.acquire_s * 1000:.0f} ms (transport up in {acquired * 1000:.0f} ms "
              f"with SSH), released in {lease.release_s * 1000:.0f} ms ({released * 1000:.0f} ms with SSH closed)")


def test_every_connection_of_a_process_shares_its_place(labgrid_lab):
    lab = labgrid_lab
    b = place_board(lab, "x86-a")
    with PlaceTransport(b) as first:
        with reach(b) as again:   # as the sweep's after-state probe, or a cleanup, does
            assert again.up and again.transport.lease is first.lease and first.lease.users == 2
        assert lab.states()["x86-a"][0] == "acquired"
    assert free(lab)


def test_a_busy_place_is_waited_for_saying_who_holds_it_then_given_up_in_one_line(labgrid_lab, capsys):
    lab = labgrid_lab
    lab.client("-p", "x86-a", "acquire", user="alice")
    try:
        t0 = time.monotonic()
        with pytest.raises(TransportError) as e:
            PlaceTransport(place_board(lab, "x86-a", acquire_timeout=2))
        waited = time.monotonic() - t0
        assert "\n" not in str(e.value)
        assert "place x86-a is held by" in str(e.value) and "/alice since" in str(e.value)
        assert "gave up after waiting 2 s (acquire_timeout" in str(e.value) and 2 <= waited < 6
        err = capsys.readouterr().err
        assert "lab: place x86-a is held by" in err and "/alice" in err and "waiting up to 2 s" in err
        assert lab.states()["x86-a"][1].endswith("/alice")          # untouched
        assert lab.client("reservations").stdout == ""             # ours is cancelled
    finally:
        lab.client("-p", "x86-a", "release", user="alice")
    assert free(lab)


def test_a_place_released_while_waiting_is_taken(labgrid_lab, capsys):
    lab = labgrid_lab
    lab.client("-p", "x86-b", "acquire", user="bob")
    later = threading.Timer(2.0, lambda: lab.client("-p", "x86-b", "release", user="bob"))
    later.start()
    try:
        t0 = time.monotonic()
        with PlaceTransport(place_board(lab, "x86-b", acquire_timeout=60)) as t:
            assert 2 <= time.monotonic() - t0 < 20 and lab.states()["x86-b"] == ("acquired", t.lease.coordinator.me)
        assert "/bob since" in capsys.readouterr().err
    finally:
        later.join()
    assert free(lab)


def test_a_tag_match_takes_one_free_place_for_one_board_and_every_place_for_a_farm(labgrid_lab):
    lab = labgrid_lab
    lab.client("-p", "x86-a", "acquire", user="alice")
    try:
        one = Board(name="labgrid:pool=x86", transport="labgrid", tags=(("pool", "x86"),), coordinator=lab.address,
                    identity=str(lab.servers["x86-b"].client_key), known_hosts=str(lab.servers["x86-b"].known_hosts))
        with PlaceTransport(one) as t:
            assert t.lease.place == "x86-b"   # the free one
    finally:
        lab.client("-p", "x86-a", "release", user="alice")
    boards, failed = expand([one, place_board(lab, "x86-a", name="named")])
    assert [(b.name, b.place, b.matched) for b in boards] == \
        [("x86-a", "x86-a", True), ("x86-b", "x86-b", True), ("named", "x86-a", False)] and failed == []
    none = Board(name="labgrid:pool=arm", transport="labgrid", tags=(("pool", "arm"),), coordinator=lab.address)
    assert expand([none]) == ([], [(none, f"board labgrid:pool=arm: no place at coordinator {lab.address} has tags "
                                          f"pool=arm (its places: x86-a [pool=x86]; x86-b [pool=x86])")])
    assert free(lab)


def test_the_host_key_is_checked_against_known_hosts(labgrid_lab):
    lab = labgrid_lab
    other = lab.servers["x86-b"].known_hosts   # the other server's key only: this one is unknown
    with pytest.raises(HostKeyError, match=r"host key of \[127.0.0.1\]:\d+ is not in"):
        PlaceTransport(place_board(lab, "x86-a", known_hosts=str(other)))
    assert free(lab)   # given back on that path too


def test_a_place_without_a_network_service_is_one_line(labgrid_lab):
    lab = labgrid_lab
    lab.add_place("empty", "nowhere/none/*")
    try:
        with pytest.raises(TransportError) as e:
            hold(place_board(lab, "empty"))
        assert str(e.value) == f"board lab: place empty at coordinator {lab.address} has no NetworkService (is its " \
                               f"exporter running? does a match `labgrid-client -p empty add-match " \
                               f"EXPORTER/GROUP/NetworkService` cover one?)"
    finally:
        lab.client("-p", "empty", "delete")
    assert free(lab)


def test_a_coordinator_that_refuses_or_never_answers_is_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(CoordinatorError) as e:
        list_places(f"127.0.0.1:{closed}")
    assert str(e.value) == f"labgrid coordinator 127.0.0.1:{closed} cannot be reached; is labgrid-coordinator running there?"
    with socket.socket() as silent:   # accepts TCP, never speaks HTTP/2
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        t0 = time.monotonic()
        with pytest.raises(CoordinatorError, match="did not answer in time"):
            list_places(f"127.0.0.1:{silent.getsockname()[1]}")
        assert time.monotonic() - t0 < 20


def test_the_grpc_pollers_spurious_wakeup_is_not_printed_and_other_errors_are(caplog):
    """gRPC's asyncio poller raises BlockingIOError in a loop whose wake-up byte another loop took;
    the coordinator's loop drops exactly that, and reports any other exception as asyncio does."""
    import asyncio

    from bench.boards.coordinator import _quiet_grpc_poller

    class PollerCompletionQueue:   # stands for gRPC's handle, named as the real one is
        pass

    loop = asyncio.new_event_loop()
    try:
        _quiet_grpc_poller(loop, {"message": "Exception in callback", "exception": BlockingIOError(11, "again"),
                                  "handle": PollerCompletionQueue()})
        assert not caplog.records
        _quiet_grpc_poller(loop, {"message": "Exception in callback", "exception": ValueError("real")})
        assert [r.name for r in caplog.records] == ["asyncio"] and "ValueError: real" in caplog.text
    finally:
        loop.close()
