"""What a board is: its CPUs, their core types (from MIDR) grouped in clusters, frequencies and
temperatures (`Topology`, `Cluster`).

The parsers read a directory laid out like a Linux root (`root/proc/cpuinfo`,
`root/sys/devices/system/cpu/...`), so they run unchanged on this machine (root "/"), on recorded
trees of real boards (tests/fixtures/) and on what bench.boards.probe copies from a board.

Units as the kernel gives them: cpufreq in kHz, thermal zones in millidegrees Celsius.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.boards import cores
from bench.boards.cpus import format_cpulist, parse_cpulist
from bench.errors import UsageError

CPU_DIR = "sys/devices/system/cpu"
_ARCH_ALIASES = {"arm64": "aarch64", "armv8l": "aarch64", "amd64": "x86_64", "x64": "x86_64"}


@dataclass(frozen=True)
class Cluster:
    """CPUs of one core type.

    core: short core name (`a53`, `a73`, `host` on non-Arm machines); cpus: CPU numbers (may be empty
    in a profile whose CPUs are only known once probed); max_khz: highest cpufreq frequency;
    mcpu: the `-mcpu` the runner is built with for this cluster (None: the build's default);
    dotprod: build with +dotprod; capacity: the kernel's cpu_capacity (1024 = the biggest core);
    midr: MIDR_EL1 as read from the board (None in profiles).
    """

    core: str
    cpus: tuple[int, ...] = ()
    max_khz: int | None = None
    mcpu: str | None = None
    dotprod: bool = False
    capacity: int | None = None
    midr: int | None = None

    @property
    def cflags(self) -> list[str]:
        """The compiler flags this cluster's runner is built with (informational; build_runner builds them)."""
        if not self.mcpu:
            return []
        return [f"-mcpu={self.mcpu}{'+dotprod' if self.dotprod else ''}"]

    def rank(self) -> tuple[int, int]:
        """Sort key from little to big: capacity first (the kernel's own judgement), then frequency."""
        return (self.capacity or 0, self.max_khz or 0)

    def describe(self) -> str:
        mhz = f" @ {self.max_khz // 1000} MHz" if self.max_khz else ""
        cpus = f"cpus {format_cpulist(self.cpus)}" if self.cpus else "cpus from probe"
        return f"{self.core} ({cpus}{mhz})"


def label(cluster: Cluster, clusters) -> str:
    """The name a cluster's rows carry among a board's `clusters`: its core name, or, when another
    cluster of the board has the same core type (two A53 clusters at different frequencies, as on
    some phones), the core name with its CPUs (`a53@4-7`), so that their rows stay apart."""
    twins = [c for c in clusters if c.core == cluster.core and c.cpus != cluster.cpus]
    return f"{cluster.core}@{format_cpulist(cluster.cpus)}" if twins else cluster.core


@dataclass
class CpuInfo:
    """One logical CPU. midr/core are None/"host" on non-Arm machines; frequencies in kHz."""

    cpu: int
    online: bool
    midr: int | None = None
    core: str | None = None
    max_khz: int | None = None
    min_khz: int | None = None
    cur_khz: int | None = None
    governor: str | None = None
    capacity: int | None = None


@dataclass
class ThermalZone:
    zone: str           # thermal_zone0
    type: str           # the driver's name for it, e.g. cls0, cpu-thermal, x86_pkg_temp
    millicelsius: int

    @property
    def celsius(self) -> float:
        return self.millicelsius / 1000.0


@dataclass
class Topology:
    """What a board is, as read from it.

    machine: `uname -m` (or inferred from /proc/cpuinfo); arch: normalized (`aarch64`, `x86_64`);
    model: board or CPU model string; clusters: online CPUs grouped by core type (and max frequency),
    little to big, as `bench.boards.cpus.Cluster`; emulated: the board is emulated, so its timings are not
    real: a full-system emulator seen from inside (`emulation` lists the evidence, see
    `emulation_evidence`) or qemu-user on this machine (core type from qemu's CPU model; `real_machine`
    then holds the topology of the machine running it).
    """

    machine: str
    arch: str
    model: str
    cpus: list[CpuInfo]
    clusters: list[Cluster]
    thermal: list[ThermalZone] = field(default_factory=list)
    emulated: bool = False
    emulation: list[str] = field(default_factory=list)
    real_machine: "Topology | None" = None

    @property
    def online_cpus(self) -> tuple[int, ...]:
        return tuple(c.cpu for c in self.cpus if c.online)

    def cluster(self, core: str) -> list[Cluster]:
        return [c for c in self.clusters if c.core == core]

    def to_dict(self) -> dict:
        """JSON-friendly structured form (for result metadata and `bench probe --json`)."""
        d = asdict(self)
        d["clusters"] = [dict(asdict(c), cpus=list(c.cpus)) for c in self.clusters]
        return d

    def summary(self) -> str:
        """A readable multi-line description."""
        lines = [f"machine   {self.machine}" + (f", {self.model}" if self.model else "")
                 + ("  [EMULATED: timings are not real]" if self.emulated else "")]
        if self.emulation:
            lines.append("emulated  " + "; ".join(self.emulation))
        online = self.online_cpus
        offline = [c.cpu for c in self.cpus if not c.online]
        lines.append(f"cpus      {len(online)} online: {format_cpulist(online)}"
                     + (f"; offline: {format_cpulist(offline)}" if offline else ""))
        by_cpu = {c.cpu: c for c in self.cpus}
        for cl in self.clusters:
            members = [by_cpu[c] for c in cl.cpus if c in by_cpu]
            bits = []
            if cl.midr is not None:
                impl, var, part, rev = cores.midr_fields(cl.midr)
                bits.append(f"MIDR 0x{cl.midr:08x} (part 0x{part:03x}, r{var}p{rev})")
            if cl.max_khz:
                bits.append(f"max {cl.max_khz // 1000} MHz")
            curs = sorted({m.cur_khz for m in members if m.cur_khz})
            if curs:
                bits.append("now " + "/".join(str(k // 1000) for k in curs) + " MHz")
            govs = sorted({m.governor for m in members if m.governor})
            if govs:
                bits.append("governor " + "/".join(govs))
            if cl.capacity:
                bits.append(f"capacity {cl.capacity}")
            if cl.mcpu:
                bits.append(f"-mcpu={cl.mcpu}{'+dotprod' if cl.dotprod else ''}")
            if not cl.max_khz and self.real_machine is None:
                bits.append("no cpufreq")
            lines.append(f"cluster   {cl.core:<6} cpus {format_cpulist(cl.cpus):<8} " + ", ".join(bits))
        if self.thermal:
            lines.append("thermal   " + ", ".join(f"{z.type} {z.celsius:.1f} C" for z in self.thermal))
        else:
            lines.append("thermal   no readable thermal zones")
        if self.real_machine is not None:
            lines.append("emulated on this machine:")
            lines.extend("  " + line for line in self.real_machine.summary().splitlines())
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Parsers over a root directory

def _read(root: Path, rel: str) -> str | None:
    try:
        return (root / rel).read_text(errors="replace")
    except (FileNotFoundError, NotADirectoryError, PermissionError, IsADirectoryError, OSError):
        return None


def _read_int(root: Path, rel: str) -> int | None:
    text = _read(root, rel)
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def parse_cpuinfo(text: str) -> tuple[list[dict[str, str]], dict[str, str]]:
    """/proc/cpuinfo -> (one dict per `processor` block, the other key/values).

    Both formats: x86 (`processor : 0`, `model name`, `flags`...) and arm64 (`processor : 0`,
    `CPU implementer : 0x41`, `CPU part : 0xd03`..., then board lines such as `Hardware`, `Model`).
    Keys keep their spelling; separators (tabs, `:`) are stripped.
    """
    procs: list[dict[str, str]] = []
    extra: dict[str, str] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        if not line.strip():
            current = None
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "processor" and value.isdigit():
            current = {"processor": value}
            procs.append(current)
        elif current is not None:
            current[key] = value
        else:
            extra[key] = value
    return procs, extra


def _midr_from_cpuinfo(block: dict[str, str]) -> int | None:
    try:
        return cores.make_midr(int(block["CPU implementer"], 0), int(block["CPU variant"], 0),
                               int(block["CPU part"], 0), int(block["CPU revision"], 0))
    except (KeyError, ValueError):
        return None


def read_midrs(root, cpus) -> dict[int, int]:
    """cpu -> MIDR_EL1, from sysfs regs/identification/midr_el1, else /proc/cpuinfo's CPU fields."""
    root = Path(root)
    out: dict[int, int] = {}
    procs, _ = parse_cpuinfo(_read(root, "proc/cpuinfo") or "")
    by_cpu = {int(b["processor"]): b for b in procs}
    for cpu in cpus:
        text = _read(root, f"{CPU_DIR}/cpu{cpu}/regs/identification/midr_el1")
        if text is not None:
            try:
                out[cpu] = int(text.strip(), 16) & 0xFFFFFFFF
                continue
            except ValueError:
                pass
        if cpu in by_cpu:
            midr = _midr_from_cpuinfo(by_cpu[cpu])
            if midr is not None:
                out[cpu] = midr
    return out


def read_cpu_lists(root) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(all CPUs the kernel knows: `present`/`possible`, online ones); falls back to /proc/cpuinfo."""
    root = Path(root)
    online_text = _read(root, f"{CPU_DIR}/online")
    present_text = _read(root, f"{CPU_DIR}/present") or _read(root, f"{CPU_DIR}/possible")
    procs, _ = parse_cpuinfo(_read(root, "proc/cpuinfo") or "")
    listed = tuple(int(b["processor"]) for b in procs)
    online = parse_cpulist(online_text) if online_text else listed
    present = parse_cpulist(present_text) if present_text else online
    return tuple(sorted(set(present) | set(online))), online


def read_cpufreq(root, cpu: int) -> dict:
    """max_khz, min_khz, cur_khz, governor of one CPU (None where the kernel has no cpufreq)."""
    root = Path(root)
    base = f"{CPU_DIR}/cpu{cpu}/cpufreq"
    gov = _read(root, f"{base}/scaling_governor")
    return {
        "max_khz": _read_int(root, f"{base}/cpuinfo_max_freq"),
        "min_khz": _read_int(root, f"{base}/cpuinfo_min_freq"),
        "cur_khz": _read_int(root, f"{base}/scaling_cur_freq"),
        "governor": gov.strip() if gov else None,
    }


def read_thermal(root) -> list[ThermalZone]:
    """Thermal zones with a readable temperature, in zone order."""
    root = Path(root)
    zones = []
    tdir = root / "sys/class/thermal"
    names = sorted((p.name for p in tdir.glob("thermal_zone*")), key=lambda n: int(n[12:] or 0)) \
        if tdir.is_dir() else []
    for name in names:
        temp = _read_int(root, f"sys/class/thermal/{name}/temp")
        if temp is None:
            continue
        ztype = (_read(root, f"sys/class/thermal/{name}/type") or name).strip()
        zones.append(ThermalZone(zone=name, type=ztype, millicelsius=temp))
    return zones


def read_model(root) -> str:
    """Board model (device tree) or CPU model name (x86), else ""."""
    root = Path(root)
    for rel in ("proc/device-tree/model", "sys/firmware/devicetree/base/model"):
        text = _read(root, rel)
        if text:
            return text.replace("\x00", "").strip()
    procs, extra = parse_cpuinfo(_read(root, "proc/cpuinfo") or "")
    if extra.get("Model"):
        return extra["Model"]
    if procs and procs[0].get("model name"):
        return procs[0]["model name"]
    return extra.get("Hardware", "")


# Device-tree strings of QEMU's `virt` machine: its model and compatible, and the fw-cfg node every
# QEMU Arm machine has. A real board names itself (e.g. "HiKey960") and has no fw-cfg device.
_VIRT_MODEL = "linux,dummy-virt"
_FW_CFG = "qemu,fw-cfg-mmio"
_DT_DIRS = ("proc/device-tree", "sys/firmware/devicetree/base")


def emulation_evidence(root) -> list[str]:
    """Why the Linux tree under `root` looks like QEMU's `virt` machine (empty: no sign of it)."""
    root = Path(root)
    found: list[str] = []   # /proc/device-tree is a link to the other on a live board: one entry each
    for dt in _DT_DIRS:
        model = (_read(root, f"{dt}/model") or "").replace("\x00", "").strip()
        seen = [f"device-tree model {model!r}"] if model == _VIRT_MODEL else []
        for node in sorted((root / dt).glob("fw-cfg@*")) if (root / dt).is_dir() else []:
            if _FW_CFG in (_read(root, f"{dt}/{node.name}/compatible") or ""):
                seen.append(f"device-tree node {node.name} ({_FW_CFG})")
        found.extend(e for e in seen if e not in found)
    return found


def normalize_arch(machine: str) -> str:
    return _ARCH_ALIASES.get(machine, machine)


def _infer_machine(root: Path) -> str:
    procs, extra = parse_cpuinfo(_read(root, "proc/cpuinfo") or "")
    first = procs[0] if procs else {}
    if "CPU implementer" in first:
        return "aarch64" if first.get("CPU architecture", "8") == "8" else "armv7l"
    if "vendor_id" in first or "flags" in first:
        return "x86_64"
    raise UsageError(f"cannot tell the architecture from {root / 'proc/cpuinfo'}")


def read_topology(root="/", machine: str | None = None) -> Topology:
    """The topology of the Linux tree under `root`. `machine` is `uname -m` when known, else it is
    inferred from /proc/cpuinfo's format."""
    root = Path(root)
    machine = machine or _infer_machine(root)
    arch = normalize_arch(machine)
    all_cpus, online = read_cpu_lists(root)
    if not online:
        raise UsageError(f"no CPUs found under {root} (no {CPU_DIR}/online and no /proc/cpuinfo)")
    midrs = read_midrs(root, online) if arch != "x86_64" else {}
    cpus: list[CpuInfo] = []
    for cpu in all_cpus:
        info = CpuInfo(cpu=cpu, online=cpu in online, capacity=_read_int(root, f"{CPU_DIR}/cpu{cpu}/cpu_capacity"),
                       **read_cpufreq(root, cpu))
        if arch == "x86_64":
            info.core = cores.X86_CORE
        elif cpu in midrs:
            info.midr = midrs[cpu]
            info.core = cores.core_type_of_midr(midrs[cpu]).name
        cpus.append(info)
    evidence = emulation_evidence(root)
    return Topology(machine=machine, arch=arch, model=read_model(root), cpus=cpus,
                    clusters=group_clusters(cpus), thermal=read_thermal(root),
                    emulated=bool(evidence), emulation=evidence)


def group_clusters(cpus: list[CpuInfo]) -> list[Cluster]:
    """Online CPUs grouped by core type; on Arm also by max frequency (two clusters of one core type
    clocked differently stay apart), and by cpu_capacity (the kernel's own judgement: one core type
    in two clusters of different capacity, as on a two-cluster emulated board). Ordered little to big."""
    groups: dict[tuple, list[CpuInfo]] = {}
    for c in cpus:
        if not c.online or c.core is None:
            continue
        key = (c.core,) if c.core == cores.X86_CORE else (c.core, c.max_khz, c.capacity)
        groups.setdefault(key, []).append(c)
    clusters = []
    for key, members in groups.items():
        core = key[0]
        known = cores.core_type_by_name(core)
        freqs = [m.max_khz for m in members if m.max_khz]
        caps = [m.capacity for m in members if m.capacity]
        clusters.append(Cluster(
            core=core, cpus=tuple(m.cpu for m in members), max_khz=max(freqs) if freqs else None,
            mcpu=known.mcpu if known else None, dotprod=known.dotprod if known else False,
            capacity=max(caps) if caps else None, midr=members[0].midr))
    return sorted(clusters, key=lambda c: (c.rank(), c.cpus))
