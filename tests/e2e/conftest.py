"""Fixtures of the whole-run tests: the emulated aarch64 boards of `bench board up` (qemu-system,
Debian arm64), one per session of each shape, shared by tests/e2e/test_vm.py and test_labgrid.py."""

import os
from pathlib import Path
import subprocess
import sys
from types import SimpleNamespace

import pytest

from bench.boards.profiles import DEFAULT_ENV, USER_FILE_ENV


NEEDED = ("qemu-system-aarch64", "mmdebstrap", "dtc", "cpio", "zstd")


def bench(*args, env, timeout=900):
    return subprocess.run([sys.executable, "-m", "bench", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


def vm_run_dir(vm):
    """The VM's own directory, under the cache of the environment its `bench board up` ran in."""
    return Path(vm.env["XDG_CACHE_HOME"]) / "winobench" / "vms" / vm.name


def _vm(tmp_path_factory, real_image_cache, tag, *up_args):
    import shutil
    missing = [t for t in NEEDED if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (`make setup` installs them)")
    name = f"pytest-{tag}-{os.getpid()}"
    files = tmp_path_factory.mktemp(tag)
    env = {k: v for k, v in os.environ.items() if k != DEFAULT_ENV}
    env.update(real_image_cache, HOME=str(files / "home"), XDG_CACHE_HOME=str(files / "cache"))
    env[USER_FILE_ENV] = str(files / "boards.toml")
    up = bench("board", "up", name, *up_args, env=env, timeout=1800)
    vm = SimpleNamespace(name=name, env=env, up=up, boards_file=files / "boards.toml", dir=files)
    try:
        assert up.returncode == 0, up.stderr
        yield vm
    finally:
        down = bench("board", "down", name, env=env, timeout=120)
        assert down.returncode == 0 or "no emulated board" in down.stderr, down.stderr
        assert not vm_run_dir(vm).exists()


@pytest.fixture(scope="session")
def vm(tmp_path_factory, real_image_cache):
    yield from _vm(tmp_path_factory, real_image_cache, "vm", "--cpu", "cortex-a53", "--smp", "4")


@pytest.fixture(scope="session")
def vm2(tmp_path_factory, real_image_cache):
    yield from _vm(tmp_path_factory, real_image_cache, "vm2", "--cpu", "cortex-a53", "--smp", "8", "--clusters", "2")
