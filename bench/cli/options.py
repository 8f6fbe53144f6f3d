"""What several subcommands share: a subcommand's parser with its description and example
(`add_parser`), `--quiet`/`--verbose` (`add_verbosity`, on `bench` and on every subcommand), the
options that choose boards (`--board NAME`, repeatable where a command drives a farm, a group name
expanding to its boards, `labgrid:TAG=VALUE` the places of a labgrid coordinator; `--host
user@addr[:port]`; `--accept-new-host-key`; for labgrid boards `--coordinator HOST[:PORT]` and
`--acquire-timeout`), and where results go by default (`default_results_root`)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import textwrap
from pathlib import Path

from bench.boards.profiles import (ACQUIRE_TIMEOUT_S, DEFAULT_ENV, Board, default_board, load_board, load_boards,
                                   user_boards_file)
from bench.boards.schema import MAX_WAIT_S, is_host_port
from bench.errors import UsageError, shown

REPOSITORY = Path(__file__).resolve().parents[2]   # a source checkout's root (pyproject.toml, kernels_c/)
DATA_ENV = "XDG_DATA_HOME"


def add_parser(sub, name: str, summary: str, example: str, details: str = ""):
    """A subcommand's parser: `summary` (one line, in `bench --help`) opens its own --help, followed by
    `details`; `example` (one command per line) closes it. Every subcommand takes --quiet/--verbose."""
    text = summary[0].upper() + summary[1:] + "." + (" " + details if details else "")
    p = sub.add_parser(name, help=summary, description=textwrap.fill(text, 100),
                       epilog="example:\n" + "".join(f"  {line}\n" for line in example.splitlines()),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_verbosity(p, suppress=True)
    return p


def add_verbosity(parser, suppress: bool = False) -> None:
    """-q/--quiet and -v/--verbose. On subcommands their default is left out of the namespace, so
    that `bench -q run` and `bench run -q` both count."""
    default = argparse.SUPPRESS if suppress else False
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", default=default,
                       help="no progress bar or status lines (results, warnings and errors still print)")
    group.add_argument("-v", "--verbose", action="store_true", default=default,
                       help="a line per finished case, and the SSH connection's log")


def _default_board_help() -> str:
    """`default: NAME (where it comes from)` for --board's help: the board used without --board."""
    try:
        name, where = default_board()
    except (UsageError, OSError) as e:  # the command itself reports a bad boards file, if it needs one
        return f"default: none usable ({str(e)[:200]})".replace("%", "%%")
    how = (f"; set one with default = \"NAME\" in {user_boards_file()} or ${DEFAULT_ENV}"
           if where == "built in" else "")
    return f"default: {name}, {where}{how}".replace("%", "%%")


def add_board_arguments(parser, multiple: bool = False) -> None:
    if multiple:
        parser.add_argument("--board", action="append", metavar="NAME",
                            help=f"board profile or group, or labgrid:TAG=VALUE (every labgrid place with that tag); "
                                 f"repeat for a farm ({_default_board_help()}); see `bench boards`")
    else:
        parser.add_argument("--board", metavar="NAME", help=f"board profile ({_default_board_help()}); see `bench boards`")
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


def in_repository(cwd: Path | None = None) -> bool:
    """Whether the current directory is this project's source checkout (its root)."""
    try:
        cwd = (cwd or Path.cwd()).resolve()
    except OSError:  # the current directory was removed
        return False
    return cwd == REPOSITORY and (cwd / "kernels_c" / "kernels.toml").is_file() and (cwd / "pyproject.toml").is_file()


def default_results_root() -> Path:
    """Where `bench run` puts results without --out: `./tables` when run from this project's checkout,
    else the per-user data directory `$XDG_DATA_HOME/winobench/tables` (default
    `~/.local/share/winobench/tables`)."""
    if in_repository():
        return Path("tables")
    base = os.environ.get(DATA_ENV) or str(Path.home() / ".local" / "share")
    return Path(base) / "winobench" / "tables"
