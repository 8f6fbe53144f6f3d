"""The `bench` command line. Each subcommand lives in its own module with a `register(subparsers)`
function that adds its parser and sets `func`; add a module here to add a subcommand."""

import argparse
import importlib
import signal
import sys
import threading

from bench.errors import MeasurementError, UsageError

SUBCOMMAND_MODULES = (
    "bench.cmd_run",
    "bench.cmd_verify",
    "bench.cmd_transforms",
    "bench.cmd_lut",
    "bench.cmd_plot",
    "bench.cmd_compare",
    "bench.cmd_network",
    "bench.cmd_probe",
    "bench.cmd_boards",
    "bench.cmd_board",
    "bench.cmd_hostbench",
    "bench.cmd_kernels",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench",
        description="Latency and error benchmarks of im2row and Winograd convolution on Arm boards.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _terminated(signum, frame):
    raise KeyboardInterrupt  # SIGTERM takes Ctrl-C's path: runners killed on their boards, dirs removed


def main(argv=None) -> int:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # recorded with results, as typed
    try:
        return args.func(args) or 0
    except UsageError as e:
        print(f"bench: error: {e}", file=sys.stderr)
        return 2
    except MeasurementError as e:
        print(f"bench: failed: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
