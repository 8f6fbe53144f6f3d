"""`bench probe [--board NAME | --host USER@ADDR[:PORT]] [--save [NAME]] [--json]`: read a board's
topology (CPUs, core types from MIDR, cpufreq, thermal zones) and print it; `--save` writes it as a
profile into the user's boards file."""

from __future__ import annotations

import json

from bench.boards.probe import probe_board
from bench.boards.profiles import check_save_name, save_board
from bench.cli.options import add_board_arguments, add_parser, board_from_args


def register(sub) -> None:
    p = add_parser(sub, "probe", "read a board's CPU topology, frequencies and temperatures",
                   "bench probe --host linaro@192.168.1.7 --save myboard",
                   "Core names come from the MIDR registers; --save writes the probed profile to your boards file.")
    add_board_arguments(p)
    p.add_argument("--save", nargs="?", const=True, metavar="NAME",
                   help="save the probed profile to the user's boards file (as NAME; default: the board's name)")
    p.add_argument("--json", action="store_true", help="print the topology as JSON")
    p.set_defaults(func=_probe)


def _probe(args) -> int:
    board = board_from_args(args)
    if args.save is not None:   # before connecting to the board; `--save` alone: the board's name
        save_as = check_save_name(board.name if args.save is True else args.save)
    with probe_board(board) as reached:
        topo = reached.topology
    if args.json:
        print(json.dumps({"board": board.name, "address": board.address, "topology": topo.to_dict()}, indent=1))
    else:
        print(f"board     {board.name} ({board.address})")
        print(topo.summary())
    if args.save is not None:
        path = save_board(reached.board, save_as)
        print(f"saved board {save_as!r} to {path}")
    return 0
