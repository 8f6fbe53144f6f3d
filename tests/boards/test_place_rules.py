"""The rules of labgrid boards that need no coordinator: profile keys, `--board labgrid:TAG=VALUE`,
where the coordinator address comes from, labgrid's tag matching, and a farm's share for a place
that could not be had. The real coordinator is in tests/boards/test_places.py."""

import dataclasses

import pytest

from bench.boards.coordinator import PlaceState, with_port
from bench.boards.places import coordinator_of, wanted
from bench.boards.probe import Reached
from bench.boards.profiles import board_to_table, load_board, load_boards
from bench.errors import UsageError
from bench.measure.deploy import jobs_of
from bench.measure.targets import split
from tests.support import spec


def test_a_profile_with_a_place_is_a_labgrid_board_with_the_ssh_keys_of_any_board(boards_file):
    boards_file.add("rk", place="rk3399-1", coordinator="lab:20408", identity="~/.ssh/lab", known_hosts="kh",
                    acquire_timeout=30, kind="rk3399")
    b = load_board("rk")
    assert (b.transport, b.place, b.tags, b.coordinator, b.acquire_timeout, b.matched) == \
        ("labgrid", "rk3399-1", (), "lab:20408", 30.0, False)
    assert b.known_hosts == str(boards_file.path.parent / "kh") and b.address == "labgrid place rk3399-1 at lab:20408"
    assert board_to_table(b) == {"transport": "labgrid", "identity": b.identity, "known_hosts": b.known_hosts,
                                 "kind": "rk3399", "place": "rk3399-1", "coordinator": "lab:20408", "acquire_timeout": 30.0}


def test_a_place_can_start_from_a_shipped_profile(boards_file):
    boards_file.add("lab-hikey", base="hikey960", place="hikey-1")
    b = load_board("lab-hikey")
    assert (b.transport, b.host, b.place, b.kind, [c.core for c in b.clusters]) == \
        ("labgrid", None, "hikey-1", "hikey960", ["a53", "a73"])


def test_labgrid_selectors_on_the_command_line_and_in_groups(boards_file):
    boards_file.add("named", transport="labgrid", tags={"soc": "rk3399", "lab": "b"})
    boards_file.group("shelf", ["named", "labgrid:soc=hikey960"])
    b = load_board("labgrid:soc=rk3399,lab=b")
    assert (b.name, b.transport, b.tags, b.place, b.source) == \
        ("labgrid:soc=rk3399,lab=b", "labgrid", (("lab", "b"), ("soc", "rk3399")), None, "--board")
    assert b.address == "labgrid places with lab=b,soc=rk3399" and load_board("labgrid:name=p1").address == "labgrid place p1"
    assert [(x.name, x.tags) for x in load_boards(["shelf"])] == \
        [("named", (("lab", "b"), ("soc", "rk3399"))), ("labgrid:soc=hikey960", (("soc", "hikey960"),))]
    for bad in ("labgrid:", "labgrid:soc", "labgrid:soc=", "labgrid:=x", "labgrid:SoC=x", "labgrid:s=x",
                "labgrid:soc=a b", "labgrid:soc=x,soc=y"):
        with pytest.raises(UsageError, match="expected labgrid:TAG=VALUE"):
            load_board(bad)
    with pytest.raises(UsageError, match="--host does not go with board"):
        load_board("labgrid:soc=x", "root@10.0.0.1")


def test_the_coordinator_is_the_profiles_then_lg_coordinator_then_labgrids_default(monkeypatch):
    board = load_board("labgrid:soc=x")
    monkeypatch.delenv("LG_COORDINATOR", raising=False)
    assert coordinator_of(board) == "127.0.0.1:20408"
    monkeypatch.setenv("LG_COORDINATOR", "lab.example.org")
    assert coordinator_of(board) == "lab.example.org:20408"
    assert coordinator_of(dataclasses.replace(board, coordinator="[::1]:5000")) == "[::1]:5000"
    assert [with_port(a) for a in ("h", "h:1", "[::1]", "[::1]:2")] == ["h:20408", "h:1", "[::1]:20408", "[::1]:2"]
    assert wanted(board) == {"soc": "x"} and wanted(dataclasses.replace(board, place="p")) == {"name": "p"}


def test_places_match_tags_as_labgrids_reservations_do():
    p = PlaceState("rk-1", {"soc": "rk3399", "lab": "b"}, None, None, 0.0)
    assert p.matches({"soc": "rk3399"}) and p.matches({"name": "rk-1", "lab": "b"}) and p.matches({})
    assert not p.matches({"soc": "hikey960"}) and not p.matches({"name": "rk-2"})
    assert (p.state, p.who()) == ("free", "free")
    held = dataclasses.replace(p, holder="host/alice")
    assert held.state == "acquired" and held.who().startswith("held by host/alice since ")
    assert dataclasses.replace(p, reserved_for="host/bob").state == "reserved"


def test_a_place_of_a_tag_match_that_could_not_be_had_takes_no_share():
    """A named board that cannot be reached still gets (connect) rows for its share; a place found
    by a tag match is just not part of the farm."""
    match = load_board("labgrid:pool=x86")
    a, b = (dataclasses.replace(match, name=n, place=n) for n in ("x86-a", "x86-b"))
    named = load_board("labgrid:name=x86-c")
    jobs = jobs_of([spec("im2row", 8, 8), spec("f2", 8, 8)])
    shares = split({"x86-a": Reached(a, failure="busy"), "x86-b": Reached(b, failure="busy"),
                    named.name: Reached(named, failure="busy")}, jobs)
    assert (a.matched, named.matched) == (True, False)
    assert shares.get("x86-a") is None and shares.get("x86-b") is None and len(shares[named.name]) == 2
