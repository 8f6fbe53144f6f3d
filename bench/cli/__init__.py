"""The `bench` command line: `main` (argument parsing, exit codes, one-line errors), one module per
subcommand with a `register(subparsers)` function, and the options several subcommands share
(`options`). The only part of the package that reads argv or prints for the user. May import every
other part of the package."""

from bench.cli.main import main

__all__ = ["main"]
