"""remote/prepare.sh on copies of recorded trees (tests/fixtures): what it changes, what it reports,
and that a restore gives back the tree byte for byte. The script runs under /bin/sh (dash here), as
`bench board prepare` runs it on a board; the live emulated board is in test_vm.py."""

import filecmp
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import FIXTURES
from bench.files import remote_dir

SCRIPT = remote_dir() / "prepare.sh"
CPUFREQ = "sys/devices/system/cpu/cpu{}/cpufreq/{}"


def sh(*args):
    return subprocess.run(["sh", str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60)


@pytest.fixture
def hikey(tmp_path):
    root = tmp_path / "hikey960"
    shutil.copytree(FIXTURES / "hikey960", root)
    return root


def same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)
    stack = [cmp]
    while stack:
        c = stack.pop()
        if c.left_only or c.right_only or filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)[1:] != ([], []):
            return False
        stack.extend(c.subdirs.values())
    return True


def read(root, cpu, name):
    return (root / CPUFREQ.format(cpu, name)).read_text().strip()


def test_prepare_locks_the_a73_cluster_at_its_maximum_and_restore_undoes_it(hikey, tmp_path):
    state = tmp_path / "state"
    res = sh("prepare", hikey, state, 4, 5, 6, 7)
    assert res.returncode == 0, res.stderr
    for cpu in (4, 5, 6, 7):
        assert (read(hikey, cpu, "scaling_governor"), read(hikey, cpu, "scaling_min_freq"),
                read(hikey, cpu, "scaling_max_freq")) == ("performance", "2362000", "2362000")
    for cpu in (0, 1, 2, 3):   # the A53s were not asked for
        assert (read(hikey, cpu, "scaling_governor"), read(hikey, cpu, "scaling_min_freq")) == ("schedutil", "533000")
    assert "cpufreq cpu4: governor schedutil -> performance, min 903000 -> 2362000 kHz" in res.stdout
    assert "thermal thermal_zone0 (cls0): no trip points" in res.stdout
    assert "idle: no cpuidle states on cpus 4 5 6 7" in res.stdout
    lines = state.read_text().splitlines()
    assert len(lines) == 12 and lines[0] == f"{hikey / CPUFREQ.format(4, 'scaling_governor')}\tschedutil"

    res = sh("restore", hikey, state)
    assert res.returncode == 0, res.stderr
    assert same_tree(FIXTURES / "hikey960", hikey)
    assert not state.exists()


def test_a_second_prepare_is_refused_so_the_originals_are_never_lost(hikey, tmp_path):
    state = tmp_path / "state"
    assert sh("prepare", hikey, state, 0).returncode == 0
    again = sh("prepare", hikey, state, 0)
    assert again.returncode == 2 and "already prepared" in again.stderr
    assert sh("restore", hikey, state).returncode == 0
    assert same_tree(FIXTURES / "hikey960", hikey)


def test_a_tree_without_cpufreq_says_so_and_changes_nothing(tmp_path):
    root = tmp_path / "qemu-virt"
    shutil.copytree(FIXTURES / "qemu-virt", root)
    res = sh("prepare", root, tmp_path / "state", 0, 1, 2, 3)
    assert res.returncode == 0, res.stderr
    assert "cpufreq: none on cpus 0 1 2 3" in res.stdout and "thermal: no thermal zones" in res.stdout
    assert (tmp_path / "state").read_text() == ""
    assert same_tree(FIXTURES / "qemu-virt", root)


def test_restore_without_state_and_bad_usage_exit_2(tmp_path):
    res = sh("restore", tmp_path, tmp_path / "missing")
    assert res.returncode == 2 and "nothing to restore" in res.stderr
    assert sh("frobnicate", tmp_path, tmp_path / "s").returncode == 2
