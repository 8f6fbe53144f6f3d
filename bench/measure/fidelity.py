"""Where a figure was measured, and what that makes it worth: every row, LUT entry, plot and summary
carries it (tables/README.md, column `where`).

- `native`: the aarch64 build on the board's own Arm cores (the core and the build's `-mcpu` say which);
- `emulated`: the aarch64 build under qemu: the pipeline runs, the timings say nothing about a core;
- `host-simde`: this x86 machine running the NEON kernels through SIMDe: the pipeline, not an Arm latency.

An empty `where` is a table written before the column existed (emulated rows are still known).
Which one a runner is follows from its build and board (bench.measure.targets.fidelity). Words only
here, so that bench.analysis can read them without reaching boards or builds.
"""

from __future__ import annotations

WHERE_MEANS = {
    "native": "the kernels ran natively on the board's cores",
    "emulated": "under qemu emulation: the timings say nothing about real cores",
    "host-simde": "on an x86 host, the NEON kernels through SIMDe: the pipeline, not an Arm core's latency",
}

# The one line a summary of host or emulated figures prints about what they mean.
CAVEATS = {
    "host-simde": ("host figures: NEON kernels emulated through SIMDe on x86; they show the pipeline works, "
                   "not Arm latencies (int8 vs fp32, or one Winograd variant vs another, here says nothing "
                   "about an A53 or an A73)"),
    "emulated": ("emulated figures: the aarch64 build under qemu; they show the pipeline works on Arm, "
                 "the timings say nothing about real cores and never enter a LUT"),
}


def where_of(row) -> str:
    """`where` of a row (a dict or a pandas row), reading `emulated` in a table without the column."""
    where = row.get("where")
    if isinstance(where, str) and where:
        return where
    return "emulated" if row.get("emulated") is True else ""


def label(where: str, core: str = "", flag: str = "") -> str:
    """Words for a title or a summary line: `Arm native a73 -mcpu=cortex-a73`, `Arm emulated (qemu) ...`,
    `x86 host, NEON through SIMDe`."""
    flag = f" {flag}" if flag else ""
    if where == "native":
        return f"Arm native {core}{flag}".strip()
    if where == "emulated":
        return f"Arm emulated (qemu) {core}{flag}".strip()
    if where == "host-simde":
        return "x86 host, NEON emulated through SIMDe"
    return "measured where: unknown (a table without the where column)"
