"""A static model of the micro-kernels of a build, for kernel work without a board: objdump gives
each `wb_*` function's instructions, the hottest loop is the innermost loop with the most vector
instructions, and llvm-mca (LLVM's scheduling models) gives that loop's cycles per iteration.

What it counts, per function: instructions; stack references (loads/stores addressed off sp, the
frame pointer or a register made from them, push/pop on x86), in total and inside the hottest
loop; per loop iteration the fp32 flops (FMLA = 2 per lane) and integer multiply-accumulates
(SMULL/SMLAL = 1 per lane, SDOT = 4 per lane), and from the cycles the rates against the peaks
below; beside llvm-mca's models always the A53 dual-issue rules (`a53-dual-issue`) on aarch64, and
where LLVM's A53 model and the rules disagree by more than DISAGREE (either way) the kernel is
marked (`a53_disagreement`): the model prices latencies, the rules the issue slots, and LLVM's A53
model misprices hand-scheduled A53 code. The product precision of each kernel's multiplies
(`precision`: fp32, int8, int16) names the int16 GEMM of the `wide` scheme as such. See
kernels_c/README.md, "Static model".
"""

from __future__ import annotations

import concurrent.futures
import fnmatch
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from bench.errors import MeasurementError

OBJDUMP = {"aarch64": "aarch64-linux-gnu-objdump", "host": "objdump"}
DEFAULT_MODELS = {"aarch64": ("cortex-a53", "a53-dual-issue", "cortex-a57"), "host": ("native",)}
TIMEOUT_S = 60

# Peaks per llvm-mca model, per cycle of one core: fp32 flops and int8 multiply-accumulates of the
# GEMMs' SMULL/SMLAL2/SADALP step (16 MACs per 3 vector instructions). Sources in the README:
# A53 one 128-bit vector instruction per cycle; A57 (LLVM's model for A72/A73-class cores) one
# 128-bit FMLA per cycle over its two FP pipes, integer multiplies on one pipe (F0) only.
PEAKS = {
    "cortex-a53": {"flop": 8.0, "mac": 16 / 3},
    "a53-dual-issue": {"flop": 8.0, "mac": 16 / 3},
    "cortex-a55": {"flop": 8.0, "mac": 16 / 3},
    "cortex-a57": {"flop": 8.0, "mac": 8.0},
    "cortex-a72": {"flop": 8.0, "mac": 8.0},
    "cortex-a73": {"flop": 8.0, "mac": 8.0},
    "native": {"flop": 16.0, "mac": None},  # x86 with two 128-bit FMA pipes; int8 is emulated
}

_LINE = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$")
_HEAD = re.compile(r"^([0-9a-f]+) <([^>]+)>:$")
_LANES = {"16b": 16, "8b": 8, "8h": 8, "4h": 4, "4s": 4, "2s": 2, "2d": 2}


@dataclass
class Insn:
    addr: int
    op: str
    args: str

    @property
    def text(self) -> str:
        return f"{self.op} {self.args}".strip()


@dataclass
class Loop:
    start: int  # index of the first instruction of the body in the function
    end: int    # index of the backward branch


@dataclass
class KernelModel:
    name: str
    instructions: int
    stack_refs: int
    loop: dict | None = None  # the hottest loop's figures, None when the function has no loop
    models: dict = field(default_factory=dict)
    precision: str = ""       # of the products: fp32, int8, int16 (product_precision)
    a53_disagreement: dict | None = None  # LLVM's A53 model over the rules (a53_disagreement)


def disassemble(binary, target: str) -> dict[int, tuple[str, list[Insn]]]:
    """{start address: (name, instructions)} for every function of the binary (static functions
    of different files may share a name, so they are keyed by address)."""
    tool = OBJDUMP[target]
    if shutil.which(tool) is None:
        raise MeasurementError(f"{tool} not found: install binutils (`make setup` does)")
    p = subprocess.run([tool, "-d", "--no-show-raw-insn", str(binary)], capture_output=True,
                       text=True, timeout=TIMEOUT_S)
    if p.returncode != 0:
        raise MeasurementError(f"{tool} failed on {binary}: {p.stderr.strip()[:200]}")
    funcs: dict[int, tuple[str, list[Insn]]] = {}
    current = None
    for line in p.stdout.splitlines():
        head = _HEAD.match(line)
        if head:
            current = funcs.setdefault(int(head.group(1), 16), (head.group(2), []))[1]
        elif current is not None:
            m = _LINE.match(line)
            if m:
                current.append(Insn(int(m.group(1), 16), m.group(2), _clean(m.group(3), target)))
    return funcs


def tail_callees(insns: list[Insn], funcs: dict, target: str) -> list[int]:
    """Start addresses of the other functions this one jumps to (dispatch wrappers)."""
    out = []
    for i in insns:
        t = branch_target(i, target)
        if t in funcs and t != insns[0].addr and t not in out:
            out.append(t)
    return out


def _clean(args: str, target: str) -> str:
    """Operands without objdump's comments and <symbol+offset> annotations."""
    args = re.sub(r"\s*<[^>]*>", "", args)
    return args.split("//")[0].strip() if target == "aarch64" else args.split("#")[0].strip()


def branch_target(insn: Insn, target: str) -> int | None:
    op = insn.op
    is_branch = (op.startswith("j") if target == "host"
                 else op == "b" or op.startswith("b.") or op in ("cbz", "cbnz", "tbz", "tbnz"))
    if not is_branch:
        return None
    m = re.search(r"(?:^|,\s*)([0-9a-f]+)$", insn.args)
    return int(m.group(1), 16) if m else None


def loops(insns: list[Insn], target: str) -> list[Loop]:
    """Every backward branch inside the function, as the body it closes; a body with a return in
    it is a jump back to shared code (cold paths rejoining), not a loop."""
    index = {i.addr: n for n, i in enumerate(insns)}
    out = []
    for n, insn in enumerate(insns):
        t = branch_target(insn, target)
        if t is not None and t <= insn.addr and t in index and \
                not any(i.op.startswith("ret") for i in insns[index[t]:n]):
            out.append(Loop(index[t], n))
    return out


def is_vector(insn: Insn, target: str) -> bool:
    if target == "host":
        return "%xmm" in insn.args or "%ymm" in insn.args
    return bool(re.search(r"\bv\d+\.|\bq\d+\b", insn.args))


def hottest_loop(insns: list[Insn], target: str) -> Loop | None:
    """The loop with the most vector instructions of its own (not inside a nested loop); ties go
    to the shorter body. A GEMM's K loop, or a transform's channel loop around a scalar copy."""
    found = loops(insns, target)
    if not found:
        return None

    def own_vector(l: Loop) -> int:
        nested = [o for o in found if o is not l and l.start <= o.start and o.end <= l.end
                  and (o.start, o.end) != (l.start, l.end)]
        return sum(is_vector(insns[n], target) for n in range(l.start, l.end + 1)
                   if not any(o.start <= n <= o.end for o in nested))

    return max(found, key=lambda l: (own_vector(l), l.start - l.end))


_BASE = re.compile(r"\[(\w+)")
_ARITH = ("add", "sub", "mov", "orr")


def stack_ref_flags(insns: list[Insn], target: str) -> list[bool]:
    """Which instructions load or store on the stack, in order. On aarch64 that is any base
    register holding a stack address: sp, x29, and registers made from them (`add x19, sp, #304`
    puts a tile array on the stack as surely as `[sp, #304]` does); a register stops counting when
    something else is written to it. The order is the function's (or the traced stream's), which
    is enough here: the pointers are made before the loops that use them."""
    if target == "host":
        return [i.op.startswith(("push", "pop")) or bool(re.search(r"\(%[re](sp|bp)\b", i.args))
                for i in insns]
    derived, flags = {"sp", "x29"}, []
    for i in insns:
        regs = [r.strip() for r in i.args.split(",")]
        memory = i.op.startswith(("ld", "st"))
        base = _BASE.search(i.args)
        flags.append(memory and base is not None and base.group(1) in derived)
        if i.op.startswith("st"):
            continue
        written = regs[:2] if i.op.startswith("ldp") else regs[:1]
        written = ["x" + r[1:] for r in written if re.fullmatch(r"[xw]\d+", r)]
        if not memory and written and i.op in _ARITH and any(r in derived for r in regs[1:]):
            derived.add(written[0])
        else:  # anything else written there (a pointer read back from memory too) is not stack
            derived.difference_update(r for r in written if r != "x29")
    return flags


def work(insn: Insn, target: str) -> tuple[int, int]:
    """(fp32 flops, integer multiply-accumulates) done by one instruction."""
    op = insn.op
    if target == "host":
        width = 8 if "%ymm" in insn.args else 4
        if re.match(r"vf(n)?m(add|sub)\d*ps", op):
            return 2 * width, 0
        if re.match(r"v?(mul|add|sub)ps", op):
            return width, 0
        return 0, 0
    m = re.match(r"v\d+\.(\w+)", insn.args)
    lanes = _LANES.get(m.group(1), 0) if m else 0
    if op in ("fmla", "fmls") and m and m.group(1) in ("4s", "2s"):
        return 2 * lanes, 0
    if op in ("fmul", "fadd", "fsub") and m and m.group(1) in ("4s", "2s"):
        return lanes, 0
    if op in ("smull", "smull2", "smlal", "smlal2", "umull", "umull2", "umlal", "umlal2",
              "mla", "mul", "mls"):
        return 0, lanes
    if op in ("sdot", "udot"):
        return 0, 4 * lanes
    return 0, 0


def mca_cycles(body: list[Insn], target: str, model: str, iterations: int = 200) -> tuple[float, int]:
    """Cycles per iteration of the loop body (branches dropped) under llvm-mca's model, and how
    many instructions llvm-mca could not parse and were left out."""
    lines = [i.text for i in body if branch_target(i, target) is None]
    triple = "x86_64" if target == "host" else "aarch64"
    dropped = 0
    for _ in range(3):
        p = subprocess.run(["llvm-mca", f"-mtriple={triple}", f"-mcpu={model}",
                            f"-iterations={iterations}"], input="\n".join(lines) + "\n",
                           capture_output=True, text=True, timeout=TIMEOUT_S)
        if p.returncode == 0:
            total = int(re.search(r"Total Cycles:\s+(\d+)", p.stdout).group(1))
            return total / iterations, dropped
        bad = {int(n) - 1 for n in re.findall(r"<stdin>:(\d+):\d+: error", p.stderr)}
        if not bad:
            break
        lines = [l for n, l in enumerate(lines) if n not in bad]
        dropped += len(bad)
    first = (p.stderr.strip().splitlines() or ["no message"])[0]
    raise MeasurementError(f"llvm-mca -mcpu={model} failed: {first}")


DUAL_ISSUE = "a53-dual-issue"  # the rule-based A53 estimate below, a "model" beside llvm-mca's
A53_MODEL = "cortex-a53"
DISAGREE = 1.5  # LLVM's A53 model against the rules, either way: the kernel is marked


def with_rules(models, target: str) -> tuple:
    """The models to report: those asked for, with the A53 rules beside them on aarch64."""
    models = tuple(models)
    return models if target != "aarch64" or DUAL_ISSUE in models else (*models, DUAL_ISSUE)


def product_precision(name: str) -> str:
    """The precision of a kernel's products from its name: fp32 (f32), int16 (the int16 GEMM and
    its packing, the `wide` scheme's tile transforms: int16 V times int16 U), else int8."""
    if name.startswith("wb_f32_"):
        return "fp32"
    return "int16" if "_s16_" in name or "_wide_" in name else "int8"


def a53_disagreement(models: dict) -> dict | None:
    """LLVM's A53 model over the A53 rules for one kernel, and whether they disagree by more than
    DISAGREE either way; None without both figures."""
    if A53_MODEL not in models or DUAL_ISSUE not in models:
        return None
    ratio = models[A53_MODEL]["cycles"] / max(models[DUAL_ISSUE]["cycles"], 1e-9)
    return {"ratio": round(ratio, 2), "marked": ratio > DISAGREE or ratio < 1 / DISAGREE}


def dual_issue_cycles(body: list[Insn]) -> float:
    """Cycles per iteration by the A53's issue rules (ncnn's arm-a53-a55-dual-issue notes; kernels_c/README.md,
    "Static model"), a bound that ignores latencies: a 128-bit vector instruction takes a cycle; a 128-bit load
    issues alone for two; a 64-bit vector load (LDR d/s) takes a cycle, shared with one INS from a
    general register (an INS without such a partner takes a cycle of its own); general-register
    loads, pointer updates and branches pair with a vector instruction, or with each other."""
    q_arith = q_load = d_load = ins = other = 0
    for i in body:
        regs = re.findall(r"\b(?:q\d+|v\d+\.(?:4s|8h|16b|2d))\b", i.args)
        if i.op.startswith(("ld", "st")) and regs:
            q_load += len(regs)
        elif i.op.startswith("ld") and re.match(r"[ds]\d+\b|\{\s*v\d+\.(2s|8b|4h|1d)", i.args):
            d_load += 1
        elif i.op in ("ins", "mov") and re.match(r"v\d+\.d\[\d\],\s*x", i.args):
            ins += 1
        elif regs and re.match(r"v\d+\.(4s|8h|16b|2d)\b(?!\[)", i.args):
            q_arith += 1
        else:
            other += 1
    return q_arith + 2 * q_load + max(d_load, ins) + max(0, -(-(other - q_arith) // 2))


def model_function(name: str, insns: list[Insn], target: str, models) -> KernelModel:
    flags = stack_ref_flags(insns, target)
    k = KernelModel(name, len(insns), sum(flags), precision=product_precision(name.split(">")[-1]))
    loop = hottest_loop(insns, target)
    if loop is None:
        return k
    body = insns[loop.start:loop.end + 1]
    flops = sum(work(i, target)[0] for i in body)
    macs = sum(work(i, target)[1] for i in body)
    k.loop = {"start": hex(body[0].addr), "instructions": len(body),
              "stack_refs": sum(flags[loop.start:loop.end + 1]), "flops": flops, "macs": macs}
    for model in models:
        if model == DUAL_ISSUE:
            cycles, dropped = dual_issue_cycles(body), 0
        else:
            cycles, dropped = mca_cycles(body, target, model)
        peak = PEAKS.get(model, {"flop": None, "mac": None})
        r = {"cycles": round(cycles, 2), "unparsed": dropped,
             "flop_per_cycle": round(flops / cycles, 2), "mac_per_cycle": round(macs / cycles, 2)}
        r["flop_peak_fraction"] = round(r["flop_per_cycle"] / peak["flop"], 3) if peak["flop"] else None
        r["mac_peak_fraction"] = round(r["mac_per_cycle"] / peak["mac"], 3) if peak["mac"] else None
        k.models[model] = r
    k.a53_disagreement = a53_disagreement(k.models)
    return k


def model_binary(binary, target: str, models, pattern: str | None = None) -> list[KernelModel]:
    """Models every micro-kernel (`*_ukernel_*`) of the binary, or every `wb_*` function matching
    the glob pattern. A kernel without a loop of its own that jumps to helpers (a dispatch wrapper)
    is followed by one row per helper, named "kernel>helper"."""
    if shutil.which("llvm-mca") is None:
        raise MeasurementError("llvm-mca not found: install the Debian package llvm (`make setup` does)")
    funcs = disassemble(binary, target)
    rows = []
    for start, (name, insns) in sorted(funcs.items(), key=lambda f: f[1][0]):
        if not name.startswith("wb_") or not (fnmatch.fnmatchcase(name, pattern) if pattern
                                              else "_ukernel_" in name):
            continue
        rows.append((name, insns))
        if not loops(insns, target):
            rows += [(f"{name}>{funcs[c][0]}", funcs[c][1]) for c in tail_callees(insns, funcs, target)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        return list(ex.map(lambda r: model_function(r[0], r[1], target, models), rows))
