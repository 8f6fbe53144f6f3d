"""`bench kernels`: the static model of a build's micro-kernels (bench.native.kernel_model) as a table or
JSON: instructions, stack references, the hottest loop's cycles per iteration under llvm-mca's
core models and the A53 dual-issue rules (always beside them on aarch64), flops or multiply-accumulates
per cycle against each core's peak, the precision of the products (the `wide` scheme's GEMM is an
int16 GEMM) and a mark where LLVM's A53 model and the rules disagree by more than 1.5x."""

from __future__ import annotations

import dataclasses
import json
import pathlib

from bench.cli.options import add_parser
from bench.errors import MeasurementError, UsageError
from bench.native.build import BuildError, build_runner
from bench.native.kernel_model import DEFAULT_MODELS, DISAGREE, model_binary, with_rules


def register(sub) -> None:
    p = add_parser(sub, "kernels", "static cycle model of the micro-kernels of a build (objdump + llvm-mca)",
                   "bench kernels --target aarch64 --mcpu cortex-a53 --kernel '*gemm*'")
    p.add_argument("--target", default="aarch64", choices=("aarch64", "host"),
                   help="build to model (default aarch64)")
    p.add_argument("--mcpu", help="the build's -mcpu (aarch64, default cortex-a53) or -march (host)")
    p.add_argument("--binary", help="model this wb-runner instead of building one (--target says its ISA)")
    p.add_argument("--models", help="llvm-mca CPU models, comma-separated (default cortex-a53,cortex-a57 on "
                   "aarch64, with the A53 dual-issue rules always beside them; native on the host)")
    p.add_argument("--kernel", metavar="PATTERN",
                   help="glob over wb_* functions (default: every *_ukernel_* function)")
    p.add_argument("--json", metavar="PATH", help="write JSON to PATH ('-': stdout, instead of the table)")
    p.set_defaults(func=_main)


def _binary(args) -> pathlib.Path:
    if args.binary:
        path = pathlib.Path(args.binary)
        if not path.is_file():
            raise UsageError(f"--binary {args.binary!r} is not a file")
        return path

    try:
        return build_runner(args.target, args.mcpu)
    except BuildError as e:
        raise MeasurementError(str(e)) from None


def _rate(k: dict, model: str) -> str:
    """The loop's rate in the unit of its work: MAC/cycle for integer loops, flop/cycle otherwise."""
    r = k["models"][model]
    if k["loop"]["macs"] and k["loop"]["macs"] >= k["loop"]["flops"]:
        rate, frac, unit = r["mac_per_cycle"], r["mac_peak_fraction"], "MAC"
    elif k["loop"]["flops"]:
        rate, frac, unit = r["flop_per_cycle"], r["flop_peak_fraction"], "flop"
    else:
        return f"{r['cycles']:{_width(model)}.1f} {'-':>14}"
    pct = f"{100 * frac:3.0f}%" if frac is not None else "   -"
    return f"{r['cycles']:{_width(model)}.1f} {rate:5.2f} {unit:>4} {pct}"


def _width(model: str) -> int:
    return max(8, len(model) + 4)


def _mark(k: dict) -> str:
    """LLVM's A53 model over the A53 rules, `!` where they disagree by more than DISAGREE."""
    d = k.get("a53_disagreement")
    return f"{d['ratio']:5.2f}{'!' if d['marked'] else ' '}" if d else f"{'-':>6}"


def format_table(kernels: list[dict], models) -> str:
    head = f"{'kernel':<44} {'prec':>5} {'insns':>5} {'stack':>5} {'loop':>4} {'l.stk':>5} {'MAC':>4} {'flop':>4}"
    for m in models:
        head += f" | {m + ' cyc':>{_width(m)}} {'rate/peak':>14}"
    head += f" | {'A53/rules':>9}"
    out = [head, "-" * len(head)]
    for k in kernels:
        line = f"{k['name']:<44} {k['precision']:>5} {k['instructions']:5d} {k['stack_refs']:5d}"
        if k["loop"] is None:
            out.append(line + "  (no loop)")
            continue
        l = k["loop"]
        line += f" {l['instructions']:4d} {l['stack_refs']:5d} {l['macs']:4d} {l['flops']:4d}"
        for m in models:
            line += " | " + _rate(k, m)
        out.append(line + f" | {_mark(k):>9}")
    out += ["", "prec: precision of the products (int16: the `wide` scheme's int16 GEMM and transforms); "
            "insns/stack: whole function; loop/l.stk/MAC/flop: its hottest loop, per iteration; cyc: cycles "
            "per iteration (llvm-mca, or the A53 dual-issue rules); rate against the model's peak; A53/rules: "
            f"LLVM's A53 model over the rules, ! beyond {DISAGREE}x either way (which to believe for what: "
            "kernels_c/README.md, \"Static model\")"]
    return "\n".join(out)


def _main(args) -> int:
    models = tuple(m for m in (args.models or ",".join(DEFAULT_MODELS[args.target])).split(",") if m)
    if not models:
        raise UsageError(f"--models must name at least one llvm-mca CPU; got {args.models!r}")
    models = with_rules(models, args.target)
    binary = _binary(args)
    kernels = [dataclasses.asdict(k) for k in model_binary(binary, args.target, models, args.kernel)]
    if not kernels:
        raise UsageError(f"--kernel {args.kernel!r} matches no wb_* function of {binary}")
    doc = {"binary": str(binary), "target": args.target, "mcpu": args.mcpu, "models": list(models),
           "kernels": kernels}
    if args.json == "-":
        print(json.dumps(doc, indent=1))
        return 0
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(doc, indent=1))
    print(f"{binary} ({args.target}, models {', '.join(models)})")
    print(format_table(kernels, models))
    return 0
