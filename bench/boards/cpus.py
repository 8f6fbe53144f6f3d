"""CPU lists and clusters: the kernel's CPU-list notation ("0-3,5" <-> (0, 1, 2, 3, 5)) and `Cluster`,
the CPUs of one core type. Board profiles (bench.boards.profiles) and what is read from a board
(bench.boards.topology) both build on these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bench.errors import UsageError
from bench.boards.schema import MAX_CPUS, shown


# ---------------------------------------------------------------------------------------------
# CPU lists ("0-3,5" <-> (0, 1, 2, 3, 5)), the kernel's own notation in sysfs.

def parse_cpulist(text: str) -> tuple[int, ...]:
    """Parse a kernel CPU list such as "0-3,6" (also accepts spaces as separators: "0 1 2 3").
    CPU numbers are bounded by what a kernel can have (< MAX_CPUS), checked before a range is expanded."""
    cpus: set[int] = set()
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        m = re.fullmatch(r"([0-9]{1,9})(?:-([0-9]{1,9}))?", part)
        if not m:
            raise UsageError(f"bad CPU list {shown(text)}; expected e.g. '0-3,6'")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        if hi < lo:
            raise UsageError(f"bad CPU list {shown(text)}; range {part!r} is reversed")
        if hi >= MAX_CPUS:
            raise UsageError(f"bad CPU list {shown(text)}; CPU {hi} is beyond what a kernel has (0..{MAX_CPUS - 1})")
        cpus.update(range(lo, hi + 1))
    return tuple(sorted(cpus))


def format_cpulist(cpus) -> str:
    """(0, 1, 2, 3, 5) -> "0-3,5"."""
    cpus = sorted(set(cpus))
    runs: list[str] = []
    i = 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        runs.append(str(cpus[i]) if i == j else f"{cpus[i]}-{cpus[j]}")
        i = j + 1
    return ",".join(runs)


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
