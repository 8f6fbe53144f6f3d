"""`bench board up|down|prepare|restore`: bad input is one line and exit 2 with nothing started or
written; the two-cluster device tree; an interrupted `up` leaves no VM. The booted VMs are in
test_vm.py."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from bench.boards.vm import VmSpec, _cluster_dtb, prune_images, running_pid, vm_dir
from bench.files import make_owned_dir


def bench(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "bench", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("args, message", [
    (["--cpu", "cortex-a73"], "unknown --cpu 'cortex-a73'; accepted: cortex-a35, cortex-a53"),
    (["--smp", "0"], "bad --smp 0; accepted: 1 to 16"),
    (["--smp", "6", "--clusters", "4"], "bad --clusters 4; accepted: 1 or 2"),
    (["--smp", "5", "--clusters", "2"], "bad --smp 5 for --clusters 2; accepted: a multiple of 2"),
])
def test_bad_up_arguments_are_one_line_exit_2(boards_file, args, message):
    before = boards_file.path.read_text()
    res = bench("board", "up", "pytest-bad", *args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"bench: error: {message}")
    assert not vm_dir("pytest-bad").exists() and boards_file.path.read_text() == before


def test_up_never_replaces_another_profile(boards_file):
    res = bench("board", "up", "hikey960")
    assert res.returncode == 2 and "board 'hikey960' already exists" in res.stderr


def test_down_and_restore_of_unknown_boards(boards_file):
    res = bench("board", "down", "pytest-never-up")
    assert res.returncode == 2 and "no emulated board 'pytest-never-up' was brought up" in res.stderr
    res = bench("board", "down", "rpi4")
    assert res.returncode == 2 and "was not made by `bench board up`" in res.stderr
    res = bench("board", "restore", "rpi4")
    assert res.returncode == 2 and "board 'rpi4' was not prepared from here" in res.stderr


@pytest.mark.slow
def test_two_cluster_device_tree_has_per_cluster_capacities(tmp_path):
    spec = VmSpec("cortex-a53", 8, 2)
    dtb = _cluster_dtb(tmp_path, ["-M", "virt", "-cpu", spec.cpu, "-smp", "8,clusters=2", "-m", "1024"], spec)
    dts = subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", str(dtb)], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    caps = re.findall(r"cpu@(\d+) \{[^}]*?capacity-dmips-mhz = <(0x[0-9a-f]+)>", dts)
    assert [(int(c), int(v, 16)) for c, v in caps] == [(i, 462 if i < 4 else 1024) for i in range(8)]
    assert "cluster0" in dts and "cluster1" in dts   # qemu's cpu-map: the kernel sees two clusters


@pytest.mark.slow
def test_sigterm_during_up_leaves_no_vm(boards_file, real_image_cache, monkeypatch):
    for key, value in real_image_cache.items():   # the image the emulated-board tests use
        monkeypatch.setenv(key, value)
    name = f"pytest-term-{os.getpid()}"
    proc = subprocess.Popen([sys.executable, "-m", "bench", "board", "up", name],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 1800   # the image may have to be built first
    while time.monotonic() < deadline and running_pid(vm_dir(name)) is None and proc.poll() is None:
        time.sleep(0.2)
    assert running_pid(vm_dir(name)) is not None, proc.stderr.read() if proc.poll() is not None else ""
    pid = running_pid(vm_dir(name))
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert not os.path.exists(f"/proc/{pid}") or running_pid(vm_dir(name)) is None
    assert name not in boards_file.path.read_text()
    bench("board", "down", name)   # removes the leftover run directory
    assert not vm_dir(name).exists()


def test_a_new_image_prunes_the_old_ones_no_vm_uses(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    images = tmp_path / "winobench" / "images"
    new, old, marked, booted, foreign = (images / f"debian-bookworm-arm64-{k}"
                                         for k in ("new", "old", "marked", "booted", "foreign"))
    images.mkdir(parents=True)
    for d in (new, old, marked, booted):
        make_owned_dir(d)
        (d / "initrd.cpio.zst").write_bytes(b"x")
    foreign.mkdir()   # not made by winobench: never removed
    (foreign / "initrd.cpio.zst").write_bytes(b"x")
    (images / "last-build.log").write_text("log")
    vm_dir("up").mkdir(parents=True)
    (vm_dir("up") / "image").write_text(f"{marked}\n")       # brought up with the marker
    old_vm = vm_dir("older")                                   # brought up before the marker: its qemu's argv
    old_vm.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(old_vm),
                             str(booted / "initrd.cpio.zst")])
    try:
        (old_vm / "pid").write_text(str(proc.pid))
        deadline = time.monotonic() + 10
        while running_pid(old_vm) is None and time.monotonic() < deadline:  # until it has exec'd
            time.sleep(0.05)
        seen = []
        assert prune_images(keep=new, log=seen.append) == [old]
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert sorted(p.name for p in images.iterdir()) == sorted([new.name, marked.name, booted.name, foreign.name,
                                                               "last-build.log"])
    assert seen == [f"removed 1 older cached image(s): {old.name}"]
