"""Command-line options that choose boards, shared by `bench probe`, `bench run` and the like:
`--board NAME` (repeatable where a command drives a farm; a group name expands to its boards;
`labgrid:TAG=VALUE` the places of a labgrid coordinator), `--host user@addr[:port]`,
`--accept-new-host-key`, and for labgrid boards `--coordinator HOST[:PORT]` and `--acquire-timeout`."""

from __future__ import annotations

import dataclasses

from bench.boards.profiles import ACQUIRE_TIMEOUT_S, Board, load_board, load_boards
from bench.boards.schema import MAX_WAIT_S, is_host_port
from bench.errors import UsageError, shown


def add_board_arguments(parser, multiple: bool = False) -> None:
    if multiple:
        parser.add_argument("--board", action="append", metavar="NAME",
                            help="board profile or group, or labgrid:TAG=VALUE (every labgrid place with that tag); "
                                 "repeat for a farm; default: local; see `bench boards`")
    else:
        parser.add_argument("--board", metavar="NAME", help="board profile (default: local); see `bench boards`")
    parser.add_argument("--host", metavar="USER@ADDR[:PORT]",
                        help="reach the board over SSH at this address or ~/.ssh/config alias")
    parser.add_argument("--accept-new-host-key", action="store_true",
                        help="accept and record the host key of an SSH board never seen before "
                             "(a changed key is still refused)")
    add_coordinator_argument(parser)
    parser.add_argument("--acquire-timeout", type=float, metavar="SECONDS",
                        help=f"labgrid boards: seconds to wait for a busy place (default: the profile's, "
                             f"else {ACQUIRE_TIMEOUT_S:g})")


def add_coordinator_argument(parser, profile: bool = True) -> None:
    default = "the profile's, else " if profile else ""
    parser.add_argument("--coordinator", metavar="HOST[:PORT]",
                        help=f"labgrid coordinator (default: {default}$LG_COORDINATOR, else 127.0.0.1:20408)")


def _opt_in(board: Board, args) -> Board:
    if getattr(args, "accept_new_host_key", False):
        board = dataclasses.replace(board, accept_new_host_key=True)
    labgrid = {k: v for k, v in (("coordinator", getattr(args, "coordinator", None)),
                                 ("acquire_timeout", getattr(args, "acquire_timeout", None))) if v is not None}
    if labgrid and board.transport == "labgrid":
        board = dataclasses.replace(board, **labgrid)
    return board


def _check_labgrid_options(args, boards: list[Board]) -> list[Board]:
    """--coordinator and --acquire-timeout: well-formed, and only for labgrid boards."""
    given = [f for f, v in (("--coordinator", getattr(args, "coordinator", None)),
                            ("--acquire-timeout", getattr(args, "acquire_timeout", None))) if v is not None]
    if not given:
        return boards
    if getattr(args, "coordinator", None) is not None and not is_host_port(args.coordinator):
        raise UsageError(f"bad --coordinator {shown(args.coordinator)}; expected HOST or HOST:PORT, e.g. lab.example.org:20408")
    t = getattr(args, "acquire_timeout", None)
    if t is not None and not 0 < t <= MAX_WAIT_S:
        raise UsageError(f"bad --acquire-timeout {t:g}; accepted: more than 0 and at most {MAX_WAIT_S:g} seconds")
    if not any(b.transport == "labgrid" for b in boards):
        raise UsageError(f"{' and '.join(given)} go with labgrid boards (--board labgrid:TAG=VALUE, or a profile with "
                         f"transport = \"labgrid\"); {', '.join(b.name for b in boards)} is not one")
    return boards


def board_from_args(args) -> Board:
    """The one board the options name."""
    name = args.board[0] if isinstance(args.board, list) else args.board
    if isinstance(args.board, list) and len(args.board) > 1:
        raise UsageError(f"this command takes one --board, got {len(args.board)}: {', '.join(args.board)}")
    return _check_labgrid_options(args, [_opt_in(load_board(name, args.host), args)])[0]


def boards_from_args(args) -> list[Board]:
    """Every board the options name (groups expanded); [local] when none."""
    names = args.board if isinstance(args.board, list) else ([args.board] if args.board else [])
    if not names:
        return [board_from_args(args)]
    return _check_labgrid_options(args, [_opt_in(b, args) for b in load_boards(names, args.host)])
