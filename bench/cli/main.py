"""The `bench` command line. Each subcommand lives in its own module with a `register(subparsers)`
function that adds its parser and sets `func`; add a module here to add a subcommand."""

import argparse
import importlib
import io
import logging
import os
import select
import signal
import sys
import threading

from bench.cli.options import add_verbosity
from bench.errors import MeasurementError, UsageError

SUBCOMMAND_MODULES = (
    "bench.cli.run",
    "bench.cli.verify",
    "bench.cli.transforms",
    "bench.cli.lut",
    "bench.cli.plot",
    "bench.cli.compare",
    "bench.cli.network",
    "bench.cli.probe",
    "bench.cli.boards",
    "bench.cli.board",
    "bench.cli.hostbench",
    "bench.cli.kernels",
)


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one line (exit 2, like every other bad input)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


EXAMPLES = """examples:
  bench boards                                     # the boards you can measure on, and the default
  bench run --board hikey960 --core a73 --bits 8   # measure; results under the per-user data directory
  bench lut tables/latest --format lut,ofa         # the NAS lookup table (and once-for-all YAML)
  bench COMMAND --help                             # what each command does, with an example
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bench",
        description="Latency and error benchmarks of im2row and Winograd convolution on Arm boards.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an error instead of its one-line message")
    add_verbosity(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _verbosity(args) -> None:
    """--quiet and --verbose (on `bench` or on the subcommand); --verbose also shows the SSH library's
    log of each connection (paramiko, INFO) on stderr."""
    if args.quiet and args.verbose:
        raise UsageError("give --quiet or --verbose, not both")
    if args.verbose:
        logging.basicConfig(level=logging.WARNING, format="bench: %(name)s: %(message)s")
        logging.getLogger("paramiko").setLevel(logging.INFO)


def _terminated(signum, frame):
    raise KeyboardInterrupt  # SIGTERM takes Ctrl-C's path: runners killed on their boards, dirs removed


def main(argv=None) -> int:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
        # Ctrl-C always takes that path, also when started from a shell that ignores SIGINT in
        # background jobs (Python then leaves SIGINT ignored, and a sweep could not be stopped).
        signal.signal(signal.SIGINT, signal.default_int_handler)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # recorded with results, as typed
    try:
        _verbosity(args)
        return args.func(args) or 0
    except UsageError as e:
        return _fail(args, 2, f"bench: error: {e}")
    except MeasurementError as e:
        return _fail(args, 1, f"bench: failed: {e}")
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError as e:
        if _stdout_closed():  # the reader went away (`bench boards | head -1`): quiet, like other tools
            return 141
        return _fail(args, 1, f"bench: error: {environment_message(e)}")
    except (OSError, UnicodeError, MemoryError) as e:
        return _fail(args, 1, f"bench: error: {environment_message(e)}")
    except Exception as e:  # a bug: one line, and the traceback on request
        return _fail(args, 1, f"bench: internal error: {type(e).__name__}: {e} (run with --debug for the traceback)")


def environment_message(e: BaseException) -> str:
    """One line for an error of the machine rather than of the input: the path and the cause."""
    if isinstance(e, OSError) and e.strerror:
        paths = " -> ".join(str(p) for p in (e.filename, e.filename2) if p is not None)
        return f"{paths}: {e.strerror}" if paths else e.strerror
    if isinstance(e, UnicodeDecodeError):
        return f"input is not {e.encoding} text (byte {e.object[e.start]:#04x} at offset {e.start})"
    if isinstance(e, MemoryError):
        return "out of memory"
    return f"{type(e).__name__}: {e}"


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (then stdout is pointed at /dev/null, so the
    flush at exit does not fail a second time)."""
    try:
        fd = sys.stdout.fileno()
        poll = select.poll()
        poll.register(fd, select.POLLOUT)
        if not any(events & select.POLLERR for _, events in poll.poll(0)):
            return False
    except (ValueError, OSError, io.UnsupportedOperation):  # not a real file (tests capture it)
        return False
    os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
    return True


def _fail(args, code: int, message: str) -> int:
    if args.debug:
        raise
    print(message, file=sys.stderr)
    return code
