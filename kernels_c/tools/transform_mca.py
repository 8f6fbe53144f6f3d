"""Per-iteration figures of the Winograd tile transforms in an aarch64 runner build.

Runs one case under qemu with `-d exec,nochain` (every executed translation block is logged), so
the loop iteration scored is the dynamic instruction stream of one real iteration of the
transform's channel loop (one tile x 4 fp32 / 8 int8 channels), inner loops included. Each
iteration is scored by llvm-mca's Cortex-A53 and Cortex-A57 models (`-iterations=100`, LLVM 14)
and by the A53 dual-issue rules of bench.native.kernel_model (`a53-dual-issue`).

    python kernels_c/tools/transform_mca.py RUNNER 'algo=f4 bits=8 h=16 w=16 cin=64 cout=64' [NAME_REGEX]
    python kernels_c/tools/transform_mca.py RUNNER --sweep 'h=16 w=16 cin=64 cout=64' [--json PATH]

--sweep traces every Winograd case of the runner's vocabulary (fp32 and int8, F2/F4/F6, static
and learned, every int8 scheme and requantization form) at the given sizes (--only REGEX: the case
lines it matches); --json writes every row, keyed by the case line, for before/after tables.
--ratios prints learned over static per scheme, tile and stage from the --json of an a53 build (A53
model and rules) and of an a73 build (A57 model), beside the ratio of vector arithmetic instructions
of each build; a model ratio more than 25% off its build's arithmetic ratio is starred (several
comma-separated --json files per build: a stage traced in a later file replaces an earlier one's):

    python kernels_c/tools/transform_mca.py --ratios A53_JSON[,A53_JSON...] A73_JSON[,A73_JSON...]
"""
import argparse
import collections
import json
import re
import subprocess
import sys
import tempfile

from bench.native.kernel_model import Insn, dual_issue_cycles, stack_ref_flags

BRANCH = re.compile(r"^(b(\.\w+)?|br|bl|ret|cbn?z|tbn?z)$")
MOVES = {"mov", "movi", "fmov", "dup", "ins", "umov", "smov", "orr", "mvn"}
REQUANTS = ("fp32", "int")
MCA_DEADLINE_S = 900  # a whole call's stream (scripts/ncnn_yardstick.py) on a busy machine


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


def trace_blocks(binary, case, cpu="cortex-a53", argv=None):
    """Start addresses of the translation blocks a run executed, in order: the runner on one case
    line, or `argv` (a whole command line after the binary) with no input."""
    args = ["--min-time-ms", "0", "--min-reps", "1", "--warmup", "0"] if argv is None else list(argv)
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        subprocess.run(["qemu-aarch64-static", "-cpu", cpu, "-d", "exec,nochain", "-D", log.name,
                        binary, *args], input=(case or "") + "\n", capture_output=True, text=True,
                       check=True, timeout=600)
        pcs = re.findall(r"^Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/", open(log.name).read(), re.M)
    return [int(p, 16) for p in pcs]


def as_insns(rows):
    return [Insn(a, op, re.sub(r"\s*<[^>]*>", "", args).strip()) for a, op, args in rows]


def sp_flags(ins):
    """Stack references (sp, x29 or a register made from them) among (address, op, args) rows."""
    return stack_ref_flags(as_insns(ins), "aarch64")


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
                       input=asm, capture_output=True, text=True, timeout=MCA_DEADLINE_S)
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


def trace(binary, case, pattern=r"wino(in|out)", funcs=None):
    """One row per transform function the case ran: its name and per-iteration figures."""
    funcs = funcs or disassemble(binary)
    pcs = trace_blocks(binary, case)
    rows = []
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
        rows.append({"function": name.split("@")[0], "insns": len(body), "stack_refs_loop": fn_sp,
                     "stack_refs": c["sp"], "vec_arith": c["vec_arith"], "loads": c["load"],
                     "stores": c["store"], "moves": c["move"], "a53": mca(body, "cortex-a53"),
                     "a53_rules": dual_issue_cycles(as_insns(body)), "a57": mca(body, "cortex-a57")})
    return rows


def sweep_cases(sizes, requants=REQUANTS):
    """Every Winograd case of the runner's vocabulary at `sizes` ('h=.. w=.. cin=.. cout=..'), int8
    in each requantization form of `requants` (("",): no requant key, for runners before it)."""
    cases = [f"algo=f{m} transform={t} bits=32 {sizes}" for m in (2, 4, 6) for t in ("static", "learned")]
    cases += [f"algo=f{m} transform={t} bits=8 scheme={s}{f' requant={r}' if r else ''} {sizes}"
              for s in ("tensor", "tap", "wide") for m in (2, 4, 6) for t in ("static", "learned")
              for r in requants]
    return cases


def print_rows(rows):
    print(f"{'function':44} {'insns':>5} {'sp(lp)':>6} {'sp(it)':>6} {'vec':>4} {'ld':>4} {'st':>4} "
          f"{'mov':>4} {'a53':>7} {'rules':>7} {'a57':>7}")
    for r in rows:
        print(f"{r['function']:44} {r['insns']:5} {r['stack_refs_loop']:6} {r['stack_refs']:6} "
              f"{r['vec_arith']:4} {r['loads']:4} {r['stores']:4} {r['moves']:4} {r['a53']:7.1f} "
              f"{r['a53_rules']:7.1f} {r['a57']:7.1f}")


def stage_figures(rows):
    """{stage: {vec_arith, a53, a53_rules, a57}} of one case's rows, the functions of a stage summed."""
    out = {}
    for r in rows:
        stage = "in" if "winoin" in r["function"] else "out"
        acc = out.setdefault(stage, collections.Counter())
        for k in ("vec_arith", "a53", "a53_rules", "a57"):
            acc[k] += r[k]
    return out


def learned_static(docs):
    """{(bits, scheme, requant, m, stage): {figure: learned / static}} from --json documents of one
    build; a stage a later document traced (at other sizes) replaces an earlier one's."""
    by_case = {}
    for case, rows in ((c, r) for doc in docs for c, r in doc.items()):
        if not isinstance(rows, list):
            continue
        words = dict(w.split("=", 1) for w in case.split())
        key = (words["bits"], words.get("scheme", "none"), words.get("requant", "none"), words["algo"])
        by_case.setdefault(key, {}).setdefault(words["transform"], {}).update(stage_figures(rows))
    out = {}
    for (bits, scheme, requant, algo), kinds in by_case.items():
        for stage in ("in", "out"):
            if stage in kinds.get("static", {}) and stage in kinds.get("learned", {}):
                st, le = kinds["static"][stage], kinds["learned"][stage]
                out[(bits, scheme, requant, algo, stage)] = {k: le[k] / st[k] for k in st if st[k]}
    return out


def load_docs(paths):
    """The --json documents of comma-separated paths, in order."""
    docs = []
    for path in paths.split(","):
        with open(path) as f:
            docs.append(json.load(f))
    return docs


def print_ratios(a53_paths, a73_paths):
    a53, a73 = learned_static(load_docs(a53_paths)), learned_static(load_docs(a73_paths))
    mark = lambda v, arith: f"{v:.2f}{'*' if abs(v / arith - 1) > 0.25 else ''}"  # noqa: E731
    print("| tile, stage | arithmetic (a53 build) | A53 model | A53 rules | arithmetic (a73 build) | A57 model |")
    print("| --- | --- | --- | --- | --- | --- |")
    for key in sorted(set(a53) & set(a73), key=lambda k: (k[0] != "32", k[1], k[2], k[4], k[3])):
        bits, scheme, requant, algo, stage = key
        x, y = a53[key], a73[key]
        name = f"{'fp32' if bits == '32' else 'int8'}{'' if scheme in ('none', 'tensor') else ' ' + scheme}" \
               f"{' rq-' + requant if requant not in ('none', 'int') else ''} {algo.upper()} {stage}"
        print(f"| {name} | {x['vec_arith']:.2f} | {mark(x['a53'], x['vec_arith'])} | "
              f"{mark(x['a53_rules'], x['vec_arith'])} | {y['vec_arith']:.2f} | {mark(y['a57'], y['vec_arith'])} |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runner", nargs="?")
    p.add_argument("case", nargs="?", help="a case line (without --sweep)")
    p.add_argument("pattern", nargs="?", default=r"wino(in|out)", help="regex over function names")
    p.add_argument("--sweep", metavar="SIZES", help="trace every Winograd case at these sizes")
    p.add_argument("--requants", default=",".join(REQUANTS),
                   help="int8 requantization forms to sweep (default fp32,int; 'none': no requant key)")
    p.add_argument("--only", metavar="REGEX", help="with --sweep: only the case lines this matches")
    p.add_argument("--json", metavar="PATH", help="write the rows as JSON, keyed by case line")
    p.add_argument("--ratios", nargs=2, metavar=("A53_JSON", "A73_JSON"),
                   help="print learned/static from the --json files of two builds (comma-separated) instead of tracing")
    a = p.parse_args(argv)
    if a.ratios:
        print_ratios(*a.ratios)
        return
    if not a.runner or bool(a.sweep) == bool(a.case):
        p.error("give a runner and a case line or --sweep SIZES")
    funcs = disassemble(a.runner)
    out = {}
    requants = [""] if a.requants == "none" else a.requants.split(",")
    cases = [c for c in sweep_cases(a.sweep, requants) if re.search(a.only or "", c)] if a.sweep else [a.case]
    for case in cases:
        try:
            out[case] = trace(a.runner, case, a.pattern, funcs)
        except subprocess.CalledProcessError as e:  # e.g. a requant form this runner does not know
            out[case] = {"error": (e.stdout or "").strip()[-300:]}
        print(f"# {case}")
        if isinstance(out[case], list):
            print_rows(out[case])
        else:
            print(f"  error: {out[case]['error']}")
        sys.stdout.flush()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
