"""`bench board up|down|prepare|restore|clean NAME`: emulated full-system boards (bench.boards.vm),
board preparation for measuring (bench.boards.prepare), and removing what killed runs left on a board
(bench.boards.leftovers)."""

from __future__ import annotations

import sys

from bench.cli.options import add_parser
from bench.boards.leftovers import clean_board
from bench.boards.prepare import prepare, restore
from bench.boards.profiles import load_board, user_boards_file
from bench.boards.transport import open_transport
from bench.files import remove_dead_scratch
from bench.boards.vm import VmSpec, down, up


def register(sub) -> None:
    p = add_parser(sub, "board", "bring emulated boards up and down; prepare a board for measuring",
                   "bench board up vm --cpu cortex-a53 --smp 4\nbench board prepare hikey960 --core a73")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    up = add_parser(verbs, "up", "boot an emulated aarch64 board (qemu-system) and register its profile",
                    "bench board up vm2 --smp 8 --clusters 2",
                    "The image is built once (a few minutes) and cached in ~/.cache/winobench; its timings are "
                    "qemu's, never a LUT's.")
    up.add_argument("name", metavar="NAME")
    up.add_argument("--cpu", default="cortex-a53", help="qemu CPU model (default cortex-a53)")
    up.add_argument("--smp", type=int, default=4, help="number of CPUs (default 4)")
    up.add_argument("--clusters", type=int, default=1,
                    help="1, or 2: two clusters with capacity 462 and 1024 (little and big)")
    up.set_defaults(func=_up)
    down = add_parser(verbs, "down", "stop an emulated board and remove its profile (the image stays cached)",
                      "bench board down vm")
    down.add_argument("name", metavar="NAME")
    down.set_defaults(func=_down)
    prep = add_parser(verbs, "prepare", "governor performance and maximum frequency on the measured "
                      "clusters; report idle states and thermal trip points", "bench board prepare hikey960 --core a73",
                      "Every value changed is recorded on the board; `bench board restore` puts it back.")
    prep.add_argument("name", metavar="NAME")
    prep.add_argument("--core", help="core type, big, little or all (default: all)")
    prep.set_defaults(func=_prepare)
    restore = add_parser(verbs, "restore", "put back what `bench board prepare` changed", "bench board restore hikey960")
    restore.add_argument("name", metavar="NAME")
    restore.set_defaults(func=_restore)
    clean = add_parser(verbs, "clean", "remove the private directories killed runs left on a board "
                       "(and this machine's scratch directories of ended runs)", "bench board clean hikey960")
    clean.add_argument("name", metavar="NAME")
    clean.set_defaults(func=_clean)


def _up(args) -> int:
    board, times = up(args.name, VmSpec(args.cpu, args.smp, args.clusters),
                      log=(lambda m: None) if args.quiet else (lambda m: print(f"bench board up: {m}", file=sys.stderr)))
    built = f"image built in {times['build_s']:.0f} s, " if times["build_s"] is not None else "image cached, "
    print(f"board {board.name} up at {board.address}: {built}booted to sshd in {times['boot_s']:.1f} s")
    print(f"clusters  {', '.join(c.describe() for c in board.clusters)}  [emulated]")
    print(f"profile   saved to {user_boards_file()}; stop it with: bench board down {board.name}")
    return 0


def _down(args) -> int:
    was_running, removed = down(args.name)
    print(f"board {args.name}: {'stopped' if was_running else 'was not running'}, "
          f"profile {'removed' if removed else 'already gone'} (the cached image stays)")
    return 0


def _prepare(args) -> int:
    print(prepare(load_board(args.name), args.core))
    print(f"undo with: bench board restore {args.name}")
    return 0


def _restore(args) -> int:
    print(restore(load_board(args.name)))
    return 0


def _clean(args) -> int:
    board = load_board(args.name)
    local = remove_dead_scratch("wb-deploy-")
    with open_transport(board) as t:
        removed, kept = clean_board(t)
    for path in removed:
        print(f"removed {board.name}:{path}")
    for path in kept:
        print(f"kept {board.name}:{path} (in use)")
    print(f"board {board.name}: {len(removed)} leftover director{'y' if len(removed) == 1 else 'ies'} removed, "
          f"{len(kept)} in use kept; {len(local)} scratch director{'y' if len(local) == 1 else 'ies'} "
          f"of ended runs removed here")
    return 0
