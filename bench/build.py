"""The build of the C kernels, at the path the README promises (`python -m bench.build host`); the
code lives in bench.native.build."""

import sys

from bench.native.build import BuildError, build_hash, build_library, build_runner, main

__all__ = ["BuildError", "build_hash", "build_library", "build_runner", "main"]

if __name__ == "__main__":
    sys.exit(main())
