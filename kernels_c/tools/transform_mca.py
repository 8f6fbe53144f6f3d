"""Per-iteration figures of the Winograd tile transforms in an aarch64 runner build.

Runs one case under qemu with `-d exec,nochain` (every executed translation block is logged), so
the loop iteration fed to llvm-mca is the dynamic instruction stream of one real iteration of the
transform's channel loop (one tile x 4 fp32 / 8 int8 channels), inner loops included.

    python kernels_c/tools/transform_mca.py RUNNER 'algo=f4 h=8 w=8 cin=8 cout=8' [NAME_REGEX]
"""
import collections
import re
import subprocess
import sys
import tempfile

from bench.native.kernel_model import Insn, stack_ref_flags

BRANCH = re.compile(r"^(b(\.\w+)?|br|bl|ret|cbn?z|tbn?z)$")
MOVES = {"mov", "movi", "fmov", "dup", "ins", "umov", "smov", "orr", "mvn"}


def disassemble(binary):
    """{function name: [(address, mnemonic, operands)]} (static functions may share a name)."""
    text = subprocess.run(["aarch64-linux-gnu-objdump", "-d", "--no-show-raw-insn", binary],
                          capture_output=True, text=True, check=True, timeout=120).stdout
    funcs, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^([0-9a-f]+) <([^>]+)>:", line)
        if m:
            cur = f"{m.group(2)}@{m.group(1)}"
            funcs[cur] = []
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s+(\S+)\s*([^/]*)", line)
        if m and cur:
            funcs[cur].append((int(m.group(1), 16), m.group(2), m.group(3).strip()))
    return funcs


def trace_blocks(binary, case, cpu="cortex-a53"):
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        subprocess.run(["qemu-aarch64-static", "-cpu", cpu, "-d", "exec,nochain", "-D", log.name,
                        binary, "--min-time-ms", "0", "--min-reps", "1", "--warmup", "0"],
                       input=case + "\n", capture_output=True, text=True, check=True, timeout=300)
        pcs = re.findall(r"^Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/", open(log.name).read(), re.M)
    return [int(p, 16) for p in pcs]


def sp_flags(ins):
    """Stack references (sp, x29 or a register made from them) among (address, op, args) rows."""
    return stack_ref_flags([Insn(a, op, args) for a, op, args in ins], "aarch64")


def loops(ins):
    """(head, back-branch) address pairs of the function's backward branches."""
    out = []
    for a, op, args in ins:
        t = re.search(r"\b([0-9a-f]+) <", args)
        if BRANCH.match(op) and t and ins[0][0] <= int(t.group(1), 16) <= a:
            out.append((int(t.group(1), 16), a))
    return out


def dynamic_stream(ins, pcs):
    """The function's executed instructions, in order, from the logged block starts."""
    index = {a: i for i, (a, _, _) in enumerate(ins)}
    starts = [p for p in pcs if p in index]
    stream = []
    for k, s in enumerate(starts):
        nxt = starts[k + 1] if k + 1 < len(starts) else None
        i = index[s]
        while i < len(ins):
            stream.append(ins[i])
            if BRANCH.match(ins[i][1]) or (i + 1 < len(ins) and ins[i + 1][0] == nxt):
                break
            i += 1
    return stream


def one_iteration(stream, head, entry):
    """(start, end) in the stream of the span between two consecutive runs of the loop head within
    one call (the function's first instruction not in between), preferring a later one (steady
    state); None when there is none."""
    hits = [i for i, x in enumerate(stream) if x[0] == head]
    spans = [(a, b) for a, b in zip(hits, hits[1:])
             if all(x[0] != entry for x in stream[a:b])]
    if not spans:
        return None
    a, b = spans[min(1, len(spans) - 1)]
    return a, b


def mca(body, cpu):
    asm = "\n".join(f"{op} {re.sub(r'<[^>]*>', '', args)}" for _, op, args in body
                    if not BRANCH.match(op))
    r = subprocess.run(["llvm-mca", "-mtriple=aarch64", f"-mcpu={cpu}", "-iterations=100"],
                       input=asm, capture_output=True, text=True, timeout=120)
    m = re.search(r"Total Cycles:\s+(\d+)", r.stdout)
    if not m:
        raise RuntimeError(r.stderr[:500])
    return int(m.group(1)) / 100


def counts(body, on_stack):
    c = collections.Counter()
    for (_, op, args), sp in zip(body, on_stack):
        if BRANCH.match(op):
            c["branch"] += 1
        elif op.startswith(("ld", "st")):
            c["sp" if sp else ("load" if op.startswith("ld") else "store")] += 1
        elif op in MOVES:
            c["move"] += 1
        elif re.search(r"\bv\d+\.", args):
            c["vec_arith"] += 1
        else:
            c["scalar"] += 1
    return c


def main(binary, case, pattern=r"wino(in|out)"):
    funcs = disassemble(binary)
    pcs = trace_blocks(binary, case)
    print(f"{'function':44} {'insns':>5} {'sp(lp)':>6} {'sp(it)':>6} {'vec':>4} {'ld':>4} {'st':>4} "
          f"{'mov':>4} {'a53':>7} {'a57':>7}")
    for name, ins in funcs.items():
        if not re.search(pattern, name) or not loops(ins):
            continue
        stream = dynamic_stream(ins, pcs)
        if not stream:
            continue
        executed = {x[0] for x in stream}
        live = [l for l in loops(ins) if l[1] in executed]
        head = min(live, key=lambda l: l[0] - l[1])[0] if live else None  # widest executed loop
        span = one_iteration(stream, head, ins[0][0]) if head else None
        if not span:
            continue
        body = stream[span[0]:span[1]]
        c = counts(body, sp_flags(stream)[span[0]:span[1]])
        lo = min(live, key=lambda l: l[0] - l[1])
        fn_sp = sum(f for (ad, _, _), f in zip(ins, sp_flags(ins)) if lo[0] <= ad <= lo[1])
        print(f"{name.split('@')[0]:44} {len(body):5} {fn_sp:6} {c['sp']:6} {c['vec_arith']:4} "
              f"{c['load']:4} {c['store']:4} {c['move']:4} {mca(body, 'cortex-a53'):7.1f} "
              f"{mca(body, 'cortex-a57'):7.1f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
