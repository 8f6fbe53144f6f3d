"""remote/prepare.sh on copies of recorded trees (tests/fixtures): what it changes, what it reports,
that a restore gives back the tree byte for byte, that the record lives in a private directory, and
that a record tampered with is refused before anything is written. The script runs under /bin/sh
(dash here), as `bench board prepare` runs it on a board; the live emulated board is in
test_vm.py, the whole command against a real sshd in tests/e2e/test_faults.py."""

import filecmp
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from bench.boards.prepare import check_record
from bench.errors import UsageError
from bench.files import remote_dir
from tests.support import FIXTURES

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


def prepared(hikey, tmp_path, *cpus):
    """Prepare `cpus` of the tree; returns (state dir, the host's copy of the record)."""
    state_dir = tmp_path / "state"
    res = sh("prepare", hikey, state_dir, *cpus)
    assert res.returncode == 0, res.stderr
    record = tmp_path / "record"
    shutil.copy(state_dir / "prepare.state", record)
    return state_dir, record


def test_prepare_locks_the_a73_cluster_at_its_maximum_and_restore_undoes_it(hikey, tmp_path):
    state_dir = tmp_path / "state"
    res = sh("prepare", hikey, state_dir, 4, 5, 6, 7)
    assert res.returncode == 0, res.stderr
    for cpu in (4, 5, 6, 7):
        assert (read(hikey, cpu, "scaling_governor"), read(hikey, cpu, "scaling_min_freq"),
                read(hikey, cpu, "scaling_max_freq")) == ("performance", "2362000", "2362000")
    for cpu in (0, 1, 2, 3):   # the A53s were not asked for
        assert (read(hikey, cpu, "scaling_governor"), read(hikey, cpu, "scaling_min_freq")) == ("schedutil", "533000")
    assert "cpufreq cpu4: governor schedutil -> performance, min 903000 -> 2362000 kHz" in res.stdout
    assert "thermal thermal_zone0 (cls0): no trip points" in res.stdout
    assert "idle: no cpuidle states on cpus 4 5 6 7" in res.stdout
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700   # private to the login user
    text = (state_dir / "prepare.state").read_text()
    lines = text.splitlines()
    assert len(lines) == 12 and lines[0] == f"{hikey / CPUFREQ.format(4, 'scaling_governor')}\tschedutil"

    record = tmp_path / "record"   # what the host pushes back: its own copy
    record.write_text(text)
    res = sh("restore", hikey, state_dir, record)
    assert res.returncode == 0, res.stderr
    assert same_tree(FIXTURES / "hikey960", hikey)
    assert not (state_dir / "prepare.state").exists()


def test_a_second_prepare_is_refused_so_the_originals_are_never_lost(hikey, tmp_path):
    state_dir, record = prepared(hikey, tmp_path, 0)
    again = sh("prepare", hikey, state_dir, 0)
    assert again.returncode == 2 and "already prepared" in again.stderr
    assert sh("restore", hikey, state_dir, record).returncode == 0
    assert same_tree(FIXTURES / "hikey960", hikey)


def test_a_tree_without_cpufreq_says_so_and_changes_nothing(tmp_path):
    root = tmp_path / "qemu-virt"
    shutil.copytree(FIXTURES / "qemu-virt", root)
    res = sh("prepare", root, tmp_path / "state", 0, 1, 2, 3)
    assert res.returncode == 0, res.stderr
    assert "cpufreq: none on cpus 0 1 2 3" in res.stdout and "thermal: no thermal zones" in res.stdout
    assert (tmp_path / "state" / "prepare.state").read_text() == ""
    assert same_tree(FIXTURES / "qemu-virt", root)


def test_restore_without_a_record_and_bad_usage_exit_2(tmp_path):
    res = sh("restore", tmp_path, tmp_path / "state", tmp_path / "missing")
    assert res.returncode == 2 and "nothing to restore" in res.stderr
    assert sh("frobnicate", tmp_path, tmp_path / "s").returncode == 2
    assert sh("prepare", tmp_path, tmp_path / "s", "1;2").returncode == 2


def planted_lines(root: Path, victim: Path) -> list[str]:
    cpufreq = root / "sys/devices/system/cpu/cpu4/cpufreq"
    return [
        f"{victim}\tpwned",                                            # any file, as in the report
        f"{cpufreq}/../../../../../../../{victim.name}\t1",             # climbing out of the tree
        f"{cpufreq}/scaling_governor\tperformance; touch {victim}",   # a value with a command
        f"{cpufreq}/scaling_max_freq\t$(id)",
        f"{root}/sys/devices/system/cpu/cpuX/cpufreq/scaling_governor\tperformance",
        f"{cpufreq}/scaling_setspeed\t1000",                           # a cpufreq file prepare never writes
        f"{cpufreq}/scaling_governor",                                 # no value
    ]


def test_a_planted_line_in_the_record_is_refused_and_nothing_is_written(hikey, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    state_dir, record = prepared(hikey, tmp_path, 4)
    good = record.read_text()
    after_prepare = tmp_path / "after"
    shutil.copytree(hikey, after_prepare)
    for line in planted_lines(hikey, victim):
        record.write_text(good + line + "\n")
        res = sh("restore", hikey, state_dir, record)
        assert res.returncode == 2 and "nothing restored" in res.stderr, (line, res.stderr)
        assert victim.read_text() == "precious\n" and same_tree(after_prepare, hikey), line
    record.write_text(good)
    assert sh("restore", hikey, state_dir, record).returncode == 0
    assert same_tree(FIXTURES / "hikey960", hikey)


def test_the_host_checks_a_record_by_the_scripts_rule(tmp_path):
    good = "/sys/devices/system/cpu/cpu4/cpufreq/scaling_governor\tschedutil\n" \
           "/sys/devices/system/cpu/cpu4/cpufreq/scaling_min_freq\t903000\n"
    assert check_record(good, "r") == good
    for line in planted_lines(Path("/"), tmp_path / "victim"):
        with pytest.raises(UsageError, match="line 3 is not a cpufreq value"):
            check_record(good + line.replace("//", "/") + "\n", "r")


def test_a_state_directory_that_is_a_symlink_or_another_users_is_refused(hikey, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "link").symlink_to(elsewhere)
    res = sh("prepare", hikey, tmp_path / "link", 4)
    assert res.returncode == 2 and "symlink" in res.stderr and os.listdir(elsewhere) == []
    if os.geteuid() == 0:   # a directory of another user (root can make one)
        theirs = tmp_path / "theirs"
        theirs.mkdir(mode=0o777)
        os.chown(theirs, 65534, 65534)
        res = sh("prepare", hikey, theirs, 4)
        assert res.returncode == 2 and "not a directory of this user" in res.stderr and os.listdir(theirs) == []
    assert same_tree(FIXTURES / "hikey960", hikey)


def test_an_existing_state_directory_is_made_private(hikey, tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o755)
    state_dir.chmod(0o755)
    assert sh("prepare", hikey, state_dir, 4).returncode == 0
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700


def test_the_boards_state_directory_is_under_the_workdir_or_the_login_users_home(tmp_path):
    import dataclasses

    from bench.boards.prepare import board_state_dir
    from bench.boards.profiles import load_board
    from bench.boards.transport import open_transport

    board = load_board("local")
    with open_transport(board) as t:
        assert board_state_dir(t) == os.path.join(os.environ["HOME"], ".local", "state", "winobench")
    with open_transport(dataclasses.replace(board, workdir=str(tmp_path))) as t:
        assert board_state_dir(t) == str(tmp_path / "winobench-state")
