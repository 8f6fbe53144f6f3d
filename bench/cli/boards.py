"""`bench boards`: the board profiles (shipped in remote/boards/ and the user's) and groups;
`bench boards --labgrid`: the places of a labgrid coordinator, with their tags, state and holder."""

from __future__ import annotations

import os
import time

from bench.boards.profiles import SHIPPED_DIR, default_board, list_boards, list_groups, user_boards_file
from bench.cli.options import add_coordinator_argument, add_parser
from bench.errors import UsageError, shown


def register(sub) -> None:
    p = add_parser(sub, "boards", "list the board profiles and groups, or a labgrid coordinator's places",
                   "bench boards\nbench boards --labgrid --coordinator lab.example.org:20408",
                   "Shipped profiles and yours, the groups, and the default board (marked *) with where it comes "
                   "from; with --labgrid, every place of the coordinator with its tags, state and holder.")
    p.add_argument("--labgrid", action="store_true",
                   help="list the places of a labgrid coordinator (tags, state, holder, address)")
    add_coordinator_argument(p, profile=False)
    p.set_defaults(func=_boards)


def _table(rows) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(f"{v:<{w}}" for v, w in zip(r, widths)) + "  " + r[-1])


def _boards(args) -> int:
    if args.labgrid:
        return _places(args)
    if args.coordinator is not None:
        raise UsageError("--coordinator goes with --labgrid")
    default, where = default_board()
    rows = [("NAME", "TRANSPORT", "ADDRESS", "ARCH", "CLUSTERS", "SOURCE")]
    for b in list_boards():
        address = b.address if b.transport in ("ssh", "labgrid") else (b.exec_prefix or "this machine")
        clusters = ", ".join(c.describe() for c in b.clusters) or "(probe to find out)"
        source = "shipped" if b.source.startswith(str(SHIPPED_DIR)) else b.source
        rows.append((b.name + (" *" if b.name == default else ""), b.transport + (" [emulated]" if b.emulated and b.transport != "emulated" else ""), address, b.arch or "?",
                     clusters, source))
    _table(rows)
    groups = list_groups()
    for name, members in sorted(groups.items()):
        print(f"group {name}: {', '.join(members)}")
    print(f"default board: {default} ({where}); marked *")
    print(f"user profiles: {user_boards_file()}")
    return 0


def _places(args) -> int:
    from bench.boards.places import COORDINATOR_ENV, coordinator_of, list_places
    from bench.boards.profiles import Board
    from bench.boards.schema import is_host_port

    if args.coordinator is not None and not is_host_port(args.coordinator):
        raise UsageError(f"bad --coordinator {shown(args.coordinator)}; expected HOST or HOST:PORT, e.g. lab.example.org:20408")
    address = coordinator_of(Board("", transport="labgrid", coordinator=args.coordinator))
    where = "--coordinator" if args.coordinator else f"${COORDINATOR_ENV}" if os.environ.get(COORDINATOR_ENV) else "labgrid's default"
    places = list_places(address)
    print(f"labgrid coordinator {address} ({where}): {len(places)} place(s)")
    rows = [("PLACE", "TAGS", "STATE", "HOLDER", "SINCE", "ADDRESS")]
    for name, p in sorted(places.items()):
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(p.changed)) if p.state != "free" else "-"
        address = ", ".join(f"{s.username}@{s.address}:{s.port}" for s in p.services) or "(no NetworkService)"
        rows.append((name, ",".join(f"{k}={v}" for k, v in sorted(p.tags.items())) or "-", p.state,
                     p.holder or p.reserved_for or "-", since, address))
    _table(rows)
    print("use one: bench run --board labgrid:name=PLACE, or every place with a tag: --board labgrid:TAG=VALUE")
    return 0
