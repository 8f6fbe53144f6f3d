"""Emulated full-system aarch64 boards: `bench board up NAME` boots the cached Debian image
(bench.boards.vm_image) under qemu-system-aarch64 in the background and registers a plain SSH profile for
it in the user's boards file; `bench board down NAME` stops it and removes the profile.

The VM forwards a free 127.0.0.1 port to its sshd. Its host key was made at image build time, so the
profile's own known_hosts file names it before the first connection (no trust on first use). The
per-VM files (pidfile, serial log, known_hosts, device tree) live in `user_cache_dir()/vms/NAME/`, a
directory marked as the project's own (bench.files.make_owned_dir): NAME is checked
(bench.files.check_name) before any path is made of it, and `down` removes only a marked directory.

A two-cluster VM (`--clusters 2`) runs one CPU model on `-smp N,clusters=2` with a device tree whose
`capacity-dmips-mhz` is 462 on the first cluster and 1024 on the second (HiKey 960's values), so the
kernel's cpu_capacity tells `little` from `big`. QEMU 7.2 cannot mix CPU models in one machine.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.boards.profiles import Board, load_board, remove_board, save_board
from bench.errors import MeasurementError, UsageError, choice_error
from bench.files import check_name, make_owned_dir, refuse_unowned, remove_owned_dir, replacing, user_cache_dir
from bench.boards.vm_image import Image, ensure_image
from bench.boards.probe import probe_board

QEMU = "qemu-system-aarch64"
CPU_MODELS = ("cortex-a35", "cortex-a53", "cortex-a57", "cortex-a72", "cortex-a76", "neoverse-n1", "max")
CAPACITIES = (462, 1024)   # capacity-dmips-mhz of the little and the big cluster
BOOT_TIMEOUT_S = 180       # to sshd; about 14 s on an idle machine, far more with the CPUs shared
MEMORY_MB = 1024


@dataclass(frozen=True)
class VmSpec:
    cpu: str = "cortex-a53"
    smp: int = 4
    clusters: int = 1

    def check(self) -> "VmSpec":
        if self.cpu not in CPU_MODELS:
            raise choice_error("--cpu", self.cpu, CPU_MODELS)
        if not 1 <= self.smp <= 16:
            raise UsageError(f"bad --smp {self.smp}; accepted: 1 to 16")
        if self.clusters not in (1, 2):
            raise UsageError(f"bad --clusters {self.clusters}; accepted: 1 or 2")
        if self.smp % self.clusters:
            raise UsageError(f"bad --smp {self.smp} for --clusters {self.clusters}; accepted: a multiple of {self.clusters}")
        return self

    def describe(self) -> str:
        split = f" in {self.clusters} clusters (capacity {'/'.join(map(str, CAPACITIES))})" if self.clusters > 1 else ""
        return f"qemu-system-aarch64 -cpu {self.cpu}, {self.smp} CPUs{split} (emulated: timings are not real)"


def vm_dir(name: str) -> Path:
    """The VM's own directory; UsageError for a name that is no safe path component."""
    return user_cache_dir() / "vms" / check_name(name, "board")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def up(name: str, spec: VmSpec, log=print) -> tuple[Board, dict]:
    """Build (once) and boot the VM `name`, wait for its sshd, probe it and save its profile.
    Returns the saved board and timings {"build_s": float|None, "boot_s": float}. On any failure
    the VM is stopped again before the error propagates."""
    spec.check()
    run = vm_dir(name)
    refuse_unowned(run)   # before anything is built
    _refuse_other_profile(name, run)
    if running_pid(run) is not None:
        raise UsageError(f"board {name!r} is already up (pid {running_pid(run)}); `bench board down {name}` first")
    # SIGTERM unwinds like Ctrl-C, so neither a half-built image's mmdebstrap nor a VM is left behind.
    old_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        image, build_s = ensure_image(log)
        if build_s is not None:
            prune_images(keep=image.dir, log=log)
        remove_owned_dir(run)   # a stopped VM's files, if any: only a directory `up` made
        run.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        make_owned_dir(run)
        (run / "image").write_text(f"{image.dir}\n")  # in use: prune_images keeps it
        port = _free_port()
        start = time.monotonic()
        try:
            _boot(run, image, spec, port)
            _wait_for_sshd(run, port, start + BOOT_TIMEOUT_S)
            board = _register(name, run, image, spec, port)
        except BaseException:
            stop(run)
            raise
    finally:
        signal.signal(signal.SIGTERM, old_term)
    return board, {"build_s": build_s, "boot_s": time.monotonic() - start}


def prune_images(keep: Path, log=print) -> list[Path]:
    """Remove the cached images other than `keep` that no brought-up VM uses (a VM's profile names
    its image's client key; a recipe change leaves the old ~70 MB image behind otherwise)."""
    vms = user_cache_dir() / "vms"
    in_use = {keep.resolve()}
    for marker in vms.glob("*/image"):
        in_use.add(Path(marker.read_text().strip()).resolve())
    for run in vms.glob("*"):  # VMs brought up before the marker existed: their qemu command line
        pid = running_pid(run)
        if pid is None or (run / "image").exists():
            continue
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:  # it stopped meanwhile: nothing of it to keep
            continue
        in_use.update(Path(a).parent.resolve() for a in args if a.endswith("initrd.cpio.zst"))
    removed = [d for d in keep.parent.glob("debian-*-arm64-*") if d.is_dir() and d.resolve() not in in_use]
    removed = [d for d in removed if _removed(d)]
    if removed:
        log(f"removed {len(removed)} older cached image(s): {', '.join(d.name for d in removed)}")
    return removed


def _removed(image_dir: Path) -> bool:
    """Remove an image directory if the project made it (an unmarked one stays)."""
    try:
        return remove_owned_dir(image_dir)
    except (UsageError, OSError):
        return False


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _refuse_other_profile(name: str, run: Path) -> None:
    """`up` may replace the profile of an earlier `up` of that name, never any other profile."""
    try:
        other = load_board(name)
    except UsageError:
        return
    if not run.is_dir():
        raise UsageError(f"board {name!r} already exists ({other.source}); choose another name for the emulated board")


def _boot(run: Path, image: Image, spec: VmSpec, port: int) -> None:
    smp = f"{spec.smp},clusters={spec.clusters}" if spec.clusters > 1 else str(spec.smp)
    machine = ["-M", "virt", "-cpu", spec.cpu, "-smp", smp, "-m", str(MEMORY_MB)]
    dtb = ["-dtb", str(_cluster_dtb(run, machine, spec))] if spec.clusters > 1 else []
    argv = [QEMU, *machine, *dtb, "-kernel", str(image.kernel), "-initrd", str(image.initrd),
            "-append", "console=ttyAMA0 panic=-1",
            "-netdev", f"user,id=n,hostfwd=tcp:127.0.0.1:{port}-:22", "-device", "virtio-net-device,netdev=n",
            "-device", "virtio-rng-device", "-display", "none", "-monitor", "none",
            "-serial", f"file:{run / 'serial.log'}", "-no-reboot", "-daemonize", "-pidfile", str(run / "pid")]
    done = _run(argv, 60, "start qemu")
    if done.returncode != 0:
        raise MeasurementError(f"{QEMU} did not start: {done.stderr.strip()[:300]}")


def _run(argv: list[str], timeout: float, what: str) -> subprocess.CompletedProcess:
    if shutil.which(argv[0]) is None:
        raise MeasurementError(f"cannot {what}: {argv[0]} is not installed; run `make setup`")
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise MeasurementError(f"cannot {what}: {argv[0]} did not finish within {timeout} s") from None


def _cluster_dtb(run: Path, machine: list[str], spec: VmSpec) -> Path:
    """qemu's own device tree for this machine, with capacity-dmips-mhz per cluster added."""
    raw, dts, dtb = run / "virt.dtb", run / "virt-clusters.dts", run / "virt-clusters.dtb"
    machine = [f"{a},dumpdtb={raw}" if a == "virt" else a for a in machine]
    done = _run([QEMU, *machine, "-display", "none"], 60, "dump the device tree")
    if done.returncode != 0 or not raw.is_file():
        raise MeasurementError(f"{QEMU} -machine dumpdtb failed: {done.stderr.strip()[:300]}")
    text = _run(["dtc", "-q", "-I", "dtb", "-O", "dts", str(raw)], 30, "decompile the device tree").stdout
    per_cluster = spec.smp // spec.clusters
    caps = CAPACITIES[-spec.clusters:]

    def add_capacity(m: re.Match) -> str:
        cpu = int(m.group(2), 16)
        return f"{m.group(1)}\t\t\tcapacity-dmips-mhz = <{caps[cpu // per_cluster]}>;\n"

    patched, n = re.subn(r"(\n\t\tcpu@([0-9a-f]+) \{\n)", add_capacity, text)
    if n != spec.smp:
        raise MeasurementError(f"device tree of {QEMU} has {n} cpu nodes, expected {spec.smp}")
    dts.write_text(patched)
    done = _run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(dtb), str(dts)], 30, "compile the device tree")
    if done.returncode != 0:
        raise MeasurementError(f"dtc failed on {dts}: {done.stderr.strip()[:300]}")
    return dtb


def _wait_for_sshd(run: Path, port: int, deadline: float) -> None:
    """Until sshd's banner comes through the forwarded port. qemu accepts the TCP connection itself
    long before the guest listens, so only the banner counts."""
    while time.monotonic() < deadline:
        if running_pid(run) is None:
            raise MeasurementError(f"the VM exited while booting; last serial line: {_last_serial_line(run)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.settimeout(3)
                if s.recv(64).startswith(b"SSH-2.0"):
                    return
        except OSError:
            pass
        time.sleep(1)
    raise MeasurementError(f"the VM's sshd did not answer on 127.0.0.1:{port} within {BOOT_TIMEOUT_S} s; "
                           f"last serial line: {_last_serial_line(run)}")


def _last_serial_line(run: Path) -> str:
    try:
        lines = [ln for ln in (run / "serial.log").read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "(no serial log)"
    return lines[-1][:200] if lines else "(empty serial log)"


def _register(name: str, run: Path, image: Image, spec: VmSpec, port: int) -> Board:
    known_hosts = run / "known_hosts"
    with replacing(known_hosts) as tmp:
        tmp.write_text(f"[127.0.0.1]:{port} {image.host_pubkey}\n")
    board = Board(name=name, transport="ssh", host="127.0.0.1", port=port, user="root",
                  identity=str(image.client_key), known_hosts=str(known_hosts), arch="aarch64",
                  emulated=True, connect_timeout=30.0, description=spec.describe(), source="bench board up")
    with probe_board(board) as reached:
        save_board(reached.board)
    return reached.board


def running_pid(run: Path) -> int | None:
    """The pid of this VM's qemu if it is running (checked against /proc, not only the pidfile)."""
    try:
        pid = int((run / "pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if str(run).encode() in cmdline else None


def stop(run: Path, timeout: float = 15.0) -> bool:
    """Stop the VM whose files are in `run` (SIGTERM, then SIGKILL); True if one was running."""
    pid = running_pid(run)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and running_pid(run) is not None:
        time.sleep(0.1)
    if running_pid(run) is not None:
        os.kill(pid, signal.SIGKILL)
    (run / "pid").unlink(missing_ok=True)
    return True


def down(name: str) -> tuple[bool, bool]:
    """Stop VM `name` and remove its profile; the cached image stays. (was running, profile removed)"""
    run = vm_dir(name)
    if not os.path.lexists(run):
        try:
            board = load_board(name)
        except UsageError:
            raise UsageError(f"no emulated board {name!r} was brought up (no {run})") from None
        raise UsageError(f"board {name!r} ({board.source}) was not made by `bench board up`; nothing to stop")
    refuse_unowned(run)
    was_running = stop(run)
    removed = remove_board(name)
    remove_owned_dir(run)
    return was_running, removed
