"""Topology parsers on recorded trees (tests/fixtures/), on this machine, and probing through the
local, emulated and SSH transports."""

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import FIXTURES
from bench.boards.cpus import format_cpulist, parse_cpulist
from bench.boards.profiles import load_board
from bench.errors import UsageError
from bench.boards.probe import PROBE_SCRIPT, emulated_cpu_model, parse_probe_output, probe
from bench.boards.topology import parse_cpuinfo, read_midrs, read_topology
from bench.boards.transport import open_transport



def clusters(topo):
    return [(c.core, format_cpulist(c.cpus), c.max_khz) for c in topo.clusters]


def test_hikey960_tree():
    t = read_topology(FIXTURES / "hikey960")
    assert (t.machine, t.arch, t.model) == ("aarch64", "aarch64", "HiKey960")
    assert clusters(t) == [("a53", "0-3", 1844000), ("a73", "4-7", 2362000)]
    a53, a73 = t.clusters
    assert (a53.midr, a73.midr) == (0x410FD034, 0x410FD092)
    assert (a53.capacity, a73.capacity) == (462, 1024)
    assert (a53.mcpu, a73.mcpu, a73.dotprod) == ("cortex-a53", "cortex-a73", False)
    assert {c.governor for c in t.cpus} == {"schedutil"}
    assert [c.cur_khz for c in t.cpus] == [999000] * 4 + [1421000] * 4
    assert [(z.type, z.celsius) for z in t.thermal] == [("cls0", 43.0)]


def test_hikey960_sysfs_and_cpuinfo_agree():
    root = FIXTURES / "hikey960"
    from_sysfs = read_midrs(root, range(8))
    assert from_sysfs == {c: (0x410FD034 if c < 4 else 0x410FD092) for c in range(8)}
    # Without the sysfs registers, /proc/cpuinfo's fields give the same values.
    procs, _ = parse_cpuinfo((root / "proc/cpuinfo").read_text())
    assert [p["CPU part"] for p in procs] == ["0xd03"] * 4 + ["0xd09"] * 4
    assert [int(p["CPU revision"]) for p in procs] == [4] * 4 + [2] * 4


def test_rpi4_tree_uses_the_cpuinfo_fallback():
    root = FIXTURES / "rpi4"
    assert not (root / "sys/devices/system/cpu/cpu0/regs").exists()  # the fallback is what is tested
    t = read_topology(root)
    assert clusters(t) == [("a72", "0-3", 1500000)]
    assert t.clusters[0].midr == 0x410FD083 and t.clusters[0].mcpu == "cortex-a72"
    assert t.model == "Raspberry Pi 4 Model B Rev 1.1"
    assert [(z.type, z.millicelsius) for z in t.thermal] == [("cpu-thermal", 47712)]
    procs, extra = parse_cpuinfo((root / "proc/cpuinfo").read_text())
    assert len(procs) == 4 and extra["Hardware"] == "BCM2835" and extra["Revision"] == "c03111"


def test_x86_tree():
    t = read_topology(FIXTURES / "x86-host")
    assert (t.arch, t.model) == ("x86_64", "Intel(R) Core(TM) i5-7500 CPU @ 3.40GHz")
    assert clusters(t) == [("host", "0-3", 3800000)]
    assert t.clusters[0].midr is None and t.clusters[0].mcpu is None
    assert [z.type for z in t.thermal] == ["acpitz", "x86_pkg_temp"]
    assert t.thermal[1].celsius == 39.0


def test_offline_cpus_leave_the_clusters(tmp_path):
    root = tmp_path / "hk"
    shutil.copytree(FIXTURES / "hikey960", root)
    (root / "sys/devices/system/cpu/online").write_text("0-5\n")
    t = read_topology(root)
    assert clusters(t) == [("a53", "0-3", 1844000), ("a73", "4-5", 2362000)]
    assert "offline: 6-7" in t.summary()


def test_unknown_parts_get_a_stable_name(tmp_path):
    root = tmp_path / "kryo"
    shutil.copytree(FIXTURES / "rpi4", root)
    text = (root / "proc/cpuinfo").read_text().replace("0x41", "0x51").replace("0xd08", "0x801")
    (root / "proc/cpuinfo").write_text(text)
    assert [c.core for c in read_topology(root).clusters] == ["unknown-0x51-0x801"]


def test_a_tree_without_cpuinfo_is_refused(tmp_path):
    with pytest.raises(UsageError, match="cannot tell the architecture"):
        read_topology(tmp_path)


def test_summary_reads_well():
    s = read_topology(FIXTURES / "hikey960").summary()
    assert "cluster   a53    cpus 0-3" in s and "max 1844 MHz" in s and "governor schedutil" in s
    assert "MIDR 0x410fd092 (part 0xd09, r0p2)" in s and "thermal   cls0 43.0 C" in s


def test_probe_output_cannot_write_outside_the_tree():
    out = ("@@wb-probe@@ uname\naarch64\n"
           "@@wb-probe@@ file /proc/cpuinfo\nprocessor\t: 0\n\n"
           "@@wb-probe@@ file /sys/../../etc/passwd\nroot::0:0\n\n"
           "@@wb-probe@@ file /home/x/.bashrc\nevil\n\n")
    machine, files = parse_probe_output(out)
    assert machine == "aarch64"
    assert list(files) == ["/proc/cpuinfo"] and files["/proc/cpuinfo"] == "processor\t: 0\n"


def test_probe_script_round_trips_this_machine():
    """The shell script + parser give what the parsers read directly from /."""
    r = subprocess.run(["sh", "-c", PROBE_SCRIPT], capture_output=True, text=True, check=True)
    machine, files = parse_probe_output(r.stdout)
    assert machine == platform.machine()
    assert files["/proc/cpuinfo"] == Path("/proc/cpuinfo").read_text()


def test_local_transport_probe_equals_direct_read():
    with open_transport(load_board("local")) as t:
        via = probe(t)
    direct = read_topology("/")
    assert clusters(via) == clusters(direct) and via.arch == platform.machine()


def test_emulated_board_probe():
    with open_transport(load_board("qemu-a53")) as t:
        topo = probe(t)
    assert topo.emulated and topo.arch == "aarch64"
    online = parse_cpulist(Path("/sys/devices/system/cpu/online").read_text())
    assert [(c.core, c.cpus, c.mcpu) for c in topo.clusters] == [("a53", online, "cortex-a53")]
    assert topo.real_machine.arch == platform.machine()          # the real machine is kept beside it
    assert "EMULATED" in topo.summary()
    assert emulated_cpu_model("qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu cortex-a72,sve=off") == "cortex-a72"


def test_bench_probe_prints_this_machines_real_topology():
    r = subprocess.run([sys.executable, "-m", "bench", "probe"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    online = Path("/sys/devices/system/cpu/online").read_text().strip()
    n = len(parse_cpulist(online))
    assert f"machine   {platform.machine()}" in r.stdout
    assert f"cpus      {n} online: {format_cpulist(parse_cpulist(online))}" in r.stdout
    # Facts read independently of bench: the CPU model name and the online CPU list.
    model = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                  if l.startswith("model name")), None)
    if model:
        assert model in r.stdout
    if platform.machine() == "x86_64":
        assert f"cluster   host   cpus {format_cpulist(parse_cpulist(online))}" in r.stdout


def test_probe_over_ssh(ssh_board):
    board = load_board(ssh_board.name)
    with open_transport(board) as t:
        topo = probe(t)
    # The server is this machine: the SSH path must find exactly what the local read finds.
    assert clusters(topo) == clusters(read_topology("/")) and topo.machine == platform.machine()


def test_bench_probe_over_ssh_and_save(ssh_board):
    env = dict(os.environ, BENCH_BOARDS_FILE=str(ssh_board.path))
    r = subprocess.run([sys.executable, "-m", "bench", "probe", "--board", ssh_board.name, "--save", "probed"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert f"board     {ssh_board.name} ({ssh_board.server.user}@127.0.0.1:{ssh_board.server.port})" in r.stdout
    saved = load_board("probed")
    assert saved.port == ssh_board.server.port and saved.known_hosts == str(ssh_board.server.known_hosts)
    assert [(c.core, c.cpus) for c in saved.clusters] == [(c.core, c.cpus) for c in read_topology("/").clusters]


# ---------------------------------------------------------------------------------------------
# Full-system emulation seen from inside (tests/fixtures/qemu-virt: recorded from `bench board up`)

def test_qemu_virt_tree_is_recognised_as_emulated():
    t = read_topology(FIXTURES / "qemu-virt")
    assert (t.arch, t.model, t.emulated) == ("aarch64", "linux,dummy-virt", True)
    assert t.emulation == ["device-tree model 'linux,dummy-virt'",
                           "device-tree node fw-cfg@9020000 (qemu,fw-cfg-mmio)"]
    assert clusters(t) == [("a53", "0-3", None)] and t.clusters[0].midr == 0x410FD034
    assert t.thermal == [] and {c.governor for c in t.cpus} == {None}
    assert "[EMULATED: timings are not real]" in t.summary() and "no cpufreq" in t.summary()


@pytest.mark.parametrize("tree", ["hikey960", "rpi4", "x86-host"])
def test_real_boards_show_no_sign_of_emulation(tree):
    t = read_topology(FIXTURES / tree)
    assert (t.emulated, t.emulation) == (False, [])


def test_a_profile_probed_as_emulated_becomes_emulated():
    """`--board hikey960 --host <a VM>`: the board's own evidence wins over the profile."""
    board = load_board("hikey960")
    assert board.emulated is False
    assert board.with_topology(read_topology(FIXTURES / "qemu-virt")).emulated is True
    assert board.with_topology(read_topology(FIXTURES / "hikey960")).emulated is False


def test_probe_output_carries_the_fw_cfg_node():
    path = "/sys/firmware/devicetree/base/fw-cfg@9020000/compatible"
    _, files = parse_probe_output(f"@@wb-probe@@ uname\naarch64\n@@wb-probe@@ file {path}\nqemu,fw-cfg-mmio\x00\n")
    assert files == {path: "qemu,fw-cfg-mmio\x00"}
