"""TODO"""

from bench.cli.main import main

__all__ = ["main"]
