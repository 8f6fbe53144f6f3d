"""`bench hostbench`: single-thread latency of every algo x transform x bits on the ResNet-18 CIFAR
layers, measured with the host wb-runner (NEON through SIMDe), printed as a table with the error
of each kernel (SQNR against the double direct convolution of the unquantized data, `--verify`).

Each run is one runner process: a `--peak` probe, then every case, all pinned to one CPU. The
table shows medians over runs of each case's median, and the spread of the total across runs
((max - min) / median), because the machine may be shared. On x86 these figures say how good the
code is relative to a 128-bit FMA peak (register blocking, packing, transform cost); they are not
Arm latencies. int8 GEMM rates are int8 ops (2 per multiply-accumulate) against `i8_gops`, the
rate of the int8 GEMM's own SMULL/SMLAL2/SADALP loop; on x86 every one of those is emulated by
several SSE/AVX instructions, so int8 versus fp32 on the host says nothing about an A73.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import tempfile
from pathlib import Path

from bench.cli.options import add_parser
from bench.boards.cpus import format_cpulist
from bench.boards.profiles import load_board, resolve_core
from bench.errors import MeasurementError, UsageError
from bench.files import replacing
from bench.measure.deploy import StreamOptions
from bench.measure.farm import run_runner
from bench.measure.protocol import CaseRecord, CaseSpec, InfoRecord, PeakRecord, Record, Repetition
from bench.operators import REQUANTS, SCHEMES, parse_bits, parse_choices, parse_schemes, sweep_requant, sweep_scheme

LAYERS = ((32, 64), (16, 128), (8, 256), (4, 512))  # (H = W, Cin = Cout)
COMBOS = (("im2row", "none"), ("f2", "static"), ("f2", "learned"), ("f4", "static"),
          ("f4", "learned"), ("f6", "static"), ("f6", "learned"))
TARGET_GEMM_FRACTION = 0.75  # of the fp32 peak, for the GEMM stage of the 32x32 and 16x16 layers
TARGET_F4_SPEEDUP = 2.0


def register(sub) -> None:
    p = add_parser(sub, "hostbench", "kernel latency and error table on this machine (host build)",
                   "bench hostbench --bits 32,8 --runs 3 --cpu 1",
                   "NEON through SIMDe on an x86 host: how good the code is against this CPU's peak, not an Arm latency.")
    p.add_argument("--bits", default="32,8", help="8, 32 or both (default 32,8)")
    p.add_argument("--scheme", default="tensor",
                   help=f"int8 Winograd quantization schemes, from {', '.join(SCHEMES)} (default tensor)")
    p.add_argument("--requant", default=REQUANTS[0],
                   help=f"int8 requantization form, one of {', '.join(REQUANTS)} (default {REQUANTS[0]})")
    p.add_argument("--runs", type=int, default=3, help="runner processes (default 3)")
    p.add_argument("--cpu", type=int, default=0, help="CPU to pin to (default 0)")
    p.add_argument("--min-time-ms", type=float, default=200.0, help="per case and run (default 200)")
    p.add_argument("--json", help="also write every runner line of every run to this JSON file")
    p.set_defaults(func=_main)


def combos(bits: int, schemes=("tensor",)) -> list[tuple[str, str, str]]:
    """(algo, transform, scheme) of a bit width: every scheme for int8 Winograd, `none` otherwise."""
    return [(algo, transform, s) for algo, transform in COMBOS
            for s in dict.fromkeys(sweep_scheme(algo, bits, x) for x in schemes)]


def case_specs(bits=(32,), schemes=("tensor",), requant=REQUANTS[0]) -> list[CaseSpec]:
    """Every layer x bits x combo (x scheme for int8 Winograd, int8 in the requantization form
    `requant`), each with its index as id."""
    specs = []
    for hw, c in LAYERS:
        for b in bits:
            for algo, transform, scheme in combos(b, schemes):
                specs.append(CaseSpec(algo, transform, b, hw, hw, c, c, scheme=scheme, id=str(len(specs)),
                                      requant=sweep_requant(b, requant)))
    return specs


def local_cluster(cpu: int):
    """The cluster of this machine holding `cpu`, narrowed to it; UsageError naming the online CPUs."""
    clusters = resolve_core(load_board("local"), "all")
    for c in clusters:
        if cpu in c.cpus:
            return dataclasses.replace(c, cpus=(cpu,))
    online = sorted(x for c in clusters for x in c.cpus)
    raise UsageError(f"bad --cpu {cpu}; accepted: {format_cpulist(online)} (this machine's online CPUs)")


def run_once(cluster, reps: Repetition, specs: list[CaseSpec]) -> list[Record]:
    """One runner process on the local board through the measurement pipeline (deadlines, pinning,
    cleanup): a `--peak` line, then every case in --verify mode."""
    recs = list(run_runner(load_board("local"), cluster, specs, StreamOptions(verify=True, reps=reps, peak=True)))
    bad = [r for r in recs if isinstance(r, CaseRecord) and not r.ok]
    if bad:
        spec = specs[bad[0].line - 1]
        raise MeasurementError(f"case {spec.algo} {spec.transform} failed: {bad[0].error_kind}: {bad[0].message}")
    return recs


def summarize(runs: list[list[Record]], specs: list[CaseSpec]) -> tuple[dict, dict]:
    """{(h, cin, algo, transform, bits, scheme): {stage: median over runs, "spread": ..., "sqnr_db": ...}},
    and the peaks per run: {"f32_gflops": [...], "i8_gops": [...]}."""
    peak_recs = [next(r for r in run if isinstance(r, PeakRecord)) for run in runs]
    peaks = {k: [p.values.get(k) for p in peak_recs] for k in ("f32_gflops", "i8_gops")}
    rows: dict = {}
    errors: dict = {}
    for rec in (r for run in runs for r in run if isinstance(r, CaseRecord)):
        s = specs[rec.line - 1]
        key = (s.h, s.cin, s.algo, s.transform, s.bits, s.scheme)
        errors[key] = rec.error  # deterministic: the same in every run
        r = rows.setdefault(key, {k: [] for k in ("total_ms", "input_ms", "gemm_ms", "output_ms",
                                                  "gemm_gflops", "weight_transform_ms")})
        for stage in ("total", "input", "gemm", "output"):
            r[f"{stage}_ms"].append(rec.stages[stage].median)
        r["gemm_gflops"].append(rec.gemm_gflops)
        r["weight_transform_ms"].append(rec.weight_transform_ms)
    out = {}
    for key, r in rows.items():
        med = {s: statistics.median(v) for s, v in r.items()}
        med["spread"] = (max(r["total_ms"]) - min(r["total_ms"])) / med["total_ms"]
        med["sqnr_db"] = errors[key]["sqnr_db"]
        out[key] = med
    return out, peaks


def _peak_line(name, unit, values):
    if not values or any(v is None for v in values):
        return f"{name}: not measured"
    return (f"{name}: {statistics.median(values):.1f} {unit} median of {len(values)} runs "
            f"[{min(values):.1f} .. {max(values):.1f}]")


def format_table(rows: dict, peaks: dict) -> str:
    bits = sorted({k[4] for k in rows}, reverse=True)
    peak = {32: statistics.median(peaks["f32_gflops"])}
    out = [_peak_line("fp32 peak (vfmaq_f32, one core)", "GFLOP/s", peaks["f32_gflops"])]
    if 8 in bits:
        peak[8] = statistics.median(peaks["i8_gops"]) if None not in peaks["i8_gops"] else float("nan")
        out.append(_peak_line("int8 peak (the GEMM's SMULL/SMLAL2/SADALP loop, one core)", "GOP/s",
                              peaks["i8_gops"]))
    out += ["GEMM rate: GFLOP/s (fp32) or int8 GOP/s (2 per multiply-accumulate), % of its own peak; "
            "vs im2row: against im2row of the same bits; SQNR: dB against the double direct conv", ""]
    schemes = tuple(dict.fromkeys(k[5] for k in rows if k[5] != "none")) or ("tensor",)
    head = (f"{'layer':>14} {'bits':>4} {'algo':>6} {'transform':>9} {'scheme':>6} {'total ms':>9} {'spread':>6} "
            f"{'input':>7} {'gemm':>7} {'output':>7} {'GEMM G/s':>8} {'% peak':>6} {'vs im2row':>9} "
            f"{'SQNR dB':>7} {'wt ms':>7}")
    out += [head, "-" * len(head)]
    for hw, c in LAYERS:
        for b in bits:
            base = rows[(hw, c, "im2row", "none", b, "none")]["total_ms"]
            for algo, transform, scheme in combos(b, schemes):
                r = rows[(hw, c, algo, transform, b, scheme)]
                sqnr = "inf" if r["sqnr_db"] is None else f"{r['sqnr_db']:.1f}"
                out.append(f"{f'{hw}x{hw}x{c}->{c}':>14} {b:>4} {algo:>6} {transform:>9} {scheme:>6} "
                           f"{r['total_ms']:9.3f} {100 * r['spread']:5.1f}% {r['input_ms']:7.3f} "
                           f"{r['gemm_ms']:7.3f} {r['output_ms']:7.3f} {r['gemm_gflops']:8.1f} "
                           f"{100 * r['gemm_gflops'] / peak[b]:5.0f}% {base / r['total_ms']:8.2f}x "
                           f"{sqnr:>7} {r['weight_transform_ms']:7.2f}")
            out.append("")
    if 32 not in bits:
        return "\n".join(out)
    rows = {k[:4]: v for k, v in rows.items() if k[4] == 32}  # fp32: scheme none
    peak = peak[32]
    out.append("targets (fp32), on the 32x32 and 16x16 layers:")
    for hw, c in LAYERS[:2]:
        worst = min(rows[(hw, c, a, t)]["gemm_gflops"] for a, t in COMBOS)
        im2row, f4 = rows[(hw, c, "im2row", "none")], rows[(hw, c, "f4", "static")]
        gemm_ok = [rows[(hw, c, a, t)]["gemm_gflops"] >= TARGET_GEMM_FRACTION * peak for a, t in COMBOS]
        speed = im2row["total_ms"] / f4["total_ms"]
        out.append(f"  {hw}x{hw}x{c}: GEMM >= {TARGET_GEMM_FRACTION:.0%} of peak for "
                   f"{sum(gemm_ok)}/{len(gemm_ok)} kernels (lowest {worst / peak:.0%}); "
                   f"F4 static {speed:.2f}x faster than im2row "
                   f"({'met' if speed >= TARGET_F4_SPEEDUP else 'missed'}: >= {TARGET_F4_SPEEDUP}x)")
    return "\n".join(out)


def _main(args) -> int:
    if not 1 <= args.runs <= 1000:
        raise UsageError(f"bad --runs {args.runs}; accepted: 1 to 1000")
    try:
        reps = Repetition(min_time_ms=args.min_time_ms)
    except ValueError as e:
        raise UsageError(str(e).replace("min_time_ms", "--min-time-ms")) from None
    bits = parse_bits(args.bits)
    schemes = parse_schemes(args.scheme)
    requant = parse_choices(args.requant, "requant", REQUANTS)
    if len(requant) != 1:
        raise UsageError(f"--requant takes one form per run; got {args.requant!r}; accepted: {', '.join(REQUANTS)}")
    cluster = local_cluster(args.cpu)
    if args.json:
        check_json_path(Path(args.json))
    specs = case_specs(bits, schemes, requant[0])
    runs = [run_once(cluster, reps, specs) for _ in range(args.runs)]
    info = next(r for r in runs[0] if isinstance(r, InfoRecord))
    print(f"{info.describe()}, cpu {args.cpu}, single thread, warm caches (same input every repetition)"
          + (f", int8 requant {requant[0]}" if 8 in bits else ""))
    rows, peaks = summarize(runs, specs)
    print(format_table(rows, peaks))
    if args.json:
        save_json([[r.to_json() for r in run] for run in runs], args.json)
    return 0


def check_json_path(where: Path) -> None:
    """Before measuring: --json names a (new or regular) file in an existing directory."""
    if not where.parent.is_dir() or (where.exists() and not where.is_file()):
        raise UsageError(f"bad --json {where}: not a regular file in an existing directory")


def save_json(runs, path: str) -> None:
    """The runner lines to `path`; if that fails after measuring, to a temporary file instead (the
    results are never lost), and the one-line error says where."""
    text = json.dumps(runs)
    try:
        with replacing(Path(path)) as tmp:
            tmp.write_text(text)
    except OSError as e:
        fd, spare = tempfile.mkstemp(prefix="hostbench-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        raise MeasurementError(f"could not write --json {path} ({e.strerror}); the results are in {spare}") from None
