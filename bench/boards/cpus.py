"""CPU lists in the kernel's own notation of sysfs: "0-3,5" <-> (0, 1, 2, 3, 5)."""

from __future__ import annotations

import re

from bench.errors import UsageError, shown

MAX_CPU_ID = 4096   # arm64 Linux: CONFIG_NR_CPUS is at most 4096, so CPU ids are 0..4095


def parse_cpulist(text: str) -> tuple[int, ...]:
    """Parse a kernel CPU list such as "0-3,6" (also accepts spaces as separators: "0 1 2 3").
    CPU numbers are bounded by what a kernel can have (< MAX_CPU_ID), checked before a range is expanded."""
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
        if hi >= MAX_CPU_ID:
            raise UsageError(f"bad CPU list {shown(text)}; CPU {hi} is beyond what a kernel has (0..{MAX_CPU_ID - 1})")
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
