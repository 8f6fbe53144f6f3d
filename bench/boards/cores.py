"""Core types by MIDR_EL1: part numbers -> the short core names used everywhere (`--core a73`), the
`-mcpu` to build for them and whether they have the v8.2 dot-product instructions.

Names are lower-case and short (`a53`, `a73`, `x1`) so that they read well on the command line and in
the `core` column. A non-Arm (x86) machine is one core type named `host` (`X86_CORE`); an Arm part missing from the table
still gets a stable name (`unknown-0x51-0x801`) so that it can be grouped and selected.
"""

from __future__ import annotations

from dataclasses import dataclass

ARM = 0x41
X86_CORE = "host"   # the one core type of a non-Arm (x86) machine; the `core` value stays "host"


@dataclass(frozen=True)
class CoreType:
    name: str
    mcpu: str | None
    dotprod: bool


# Implementer 0x41 (Arm) part numbers (Arm's technical reference manuals). dotprod: ARMv8.2+ cores with SDOT/UDOT.
_ARM_PARTS = {
    0xD04: CoreType("a35", "cortex-a35", False),
    0xD03: CoreType("a53", "cortex-a53", False),
    0xD05: CoreType("a55", "cortex-a55", True),
    0xD07: CoreType("a57", "cortex-a57", False),
    0xD08: CoreType("a72", "cortex-a72", False),
    0xD09: CoreType("a73", "cortex-a73", False),
    0xD0A: CoreType("a75", "cortex-a75", True),
    0xD0B: CoreType("a76", "cortex-a76", True),
    0xD0D: CoreType("a77", "cortex-a77", True),
    0xD41: CoreType("a78", "cortex-a78", True),
    0xD44: CoreType("x1", "cortex-x1", True),
    0xD46: CoreType("a510", "cortex-a510", True),
    0xD47: CoreType("a710", "cortex-a710", True),
    0xD48: CoreType("x2", "cortex-x2", True),
    0xD80: CoreType("a520", "cortex-a520", True),
}

_BY_NAME = {t.name: t for t in _ARM_PARTS.values()}


def midr_fields(midr: int) -> tuple[int, int, int, int]:
    """(implementer, variant, part, revision) of a MIDR_EL1 value."""
    return (midr >> 24) & 0xFF, (midr >> 20) & 0xF, (midr >> 4) & 0xFFF, midr & 0xF


def make_midr(implementer: int, variant: int, part: int, revision: int) -> int:
    """The MIDR_EL1 value /proc/cpuinfo's fields describe (architecture field 0xf: 'by ID registers')."""
    return (implementer << 24) | (variant << 20) | (0xF << 16) | (part << 4) | revision


def core_type(implementer: int, part: int) -> CoreType:
    """The core type of an implementer/part pair; unknown parts get a stable made-up name."""
    if implementer == ARM and part in _ARM_PARTS:
        return _ARM_PARTS[part]
    return CoreType(f"unknown-0x{implementer:02x}-0x{part:03x}", None, False)


def core_type_of_midr(midr: int) -> CoreType:
    impl, _, part, _ = midr_fields(midr)
    return core_type(impl, part)


def core_type_by_name(name: str) -> CoreType | None:
    """The known Arm core type with this short name (`a53`), or None."""
    return _BY_NAME.get(name)


def core_name_of_qemu_cpu(model: str) -> str:
    """Core name of a qemu `-cpu` model: `cortex-a53` -> `a53`; other models keep a `qemu-` prefix."""
    if model.startswith("cortex-") and model[len("cortex-"):] in _BY_NAME:
        return model[len("cortex-"):]
    return f"qemu-{model}"


def known_core_names() -> list[str]:
    return sorted(_BY_NAME)
