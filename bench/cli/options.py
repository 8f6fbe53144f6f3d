"""Command-line options that choose boards, shared by `bench probe`, `bench run` and the like:
`--board NAME` (repeatable where a command drives a farm; a group name expands to its boards),
`--host user@addr[:port]` and `--accept-new-host-key`."""

from __future__ import annotations

import dataclasses

from bench.boards.profiles import Board, load_board, load_boards
from bench.errors import UsageError


def add_board_arguments(parser, multiple: bool = False) -> None:
    if multiple:
        parser.add_argument("--board", action="append", metavar="NAME",
                            help="board profile or group (repeat for a farm; default: local); see `bench boards`")
    else:
        parser.add_argument("--board", metavar="NAME", help="board profile (default: local); see `bench boards`")
    parser.add_argument("--host", metavar="USER@ADDR[:PORT]",
                        help="reach the board over SSH at this address or ~/.ssh/config alias")
    parser.add_argument("--accept-new-host-key", action="store_true",
                        help="accept and record the host key of an SSH board never seen before "
                             "(a changed key is still refused)")


def _opt_in(board: Board, args) -> Board:
    if getattr(args, "accept_new_host_key", False):
        return dataclasses.replace(board, accept_new_host_key=True)
    return board


def board_from_args(args) -> Board:
    """The one board the options name."""
    name = args.board[0] if isinstance(args.board, list) else args.board
    if isinstance(args.board, list) and len(args.board) > 1:
        raise UsageError(f"this command takes one --board, got {len(args.board)}: {', '.join(args.board)}")
    return _opt_in(load_board(name, args.host), args)


def boards_from_args(args) -> list[Board]:
    """Every board the options name (groups expanded); [local] when none."""
    names = args.board if isinstance(args.board, list) else ([args.board] if args.board else [])
    if not names:
        return [board_from_args(args)]
    return [_opt_in(b, args) for b in load_boards(names, args.host)]
