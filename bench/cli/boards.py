"""`bench boards`: the board profiles (shipped in remote/boards/ and the user's) and groups."""

from __future__ import annotations

from bench.cli.options import add_parser
from bench.boards.profiles import SHIPPED_DIR, default_board, list_boards, list_groups, user_boards_file


def register(sub) -> None:
    p = add_parser(sub, "boards", "list the board profiles and groups",
                   "bench boards",
                   "Shipped profiles and yours, the groups, and the default board (marked *) with where it comes from.")
    p.set_defaults(func=_boards)


def _boards(args) -> int:
    default, where = default_board()
    rows = [("NAME", "TRANSPORT", "ADDRESS", "ARCH", "CLUSTERS", "SOURCE")]
    for b in list_boards():
        address = b.address if b.transport == "ssh" else (b.exec_prefix or "this machine")
        clusters = ", ".join(c.describe() for c in b.clusters) or "(probe to find out)"
        source = "shipped" if b.source.startswith(str(SHIPPED_DIR)) else b.source
        rows.append((b.name + (" *" if b.name == default else ""), b.transport + (" [emulated]" if b.emulated and b.transport != "emulated" else ""), address, b.arch or "?",
                     clusters, source))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(f"{v:<{w}}" for v, w in zip(r, widths)) + "  " + r[-1])
    groups = list_groups()
    for name, members in sorted(groups.items()):
        print(f"group {name}: {', '.join(members)}")
    print(f"default board: {default} ({where}); marked *")
    print(f"user profiles: {user_boards_file()}")
    return 0
