"""`bench hostbench`: single-thread fp32 latency of every algo x transform on the ResNet-18 CIFAR
layers, measured with the host wb-runner (NEON through SIMDe), printed as a table.

Each run is one runner process: a `--peak` probe, then every case, all pinned to one CPU. The
table shows medians over runs of each case's median, and the spread of the total across runs
((max - min) / median), because the machine may be shared. On x86 these figures say how good the
code is relative to a 128-bit FMA peak (register blocking, packing, transform cost); they are not
Arm latencies.
"""

from __future__ import annotations

import json
import statistics
import subprocess

from bench.errors import MeasurementError, UsageError

LAYERS = ((32, 64), (16, 128), (8, 256), (4, 512))  # (H = W, Cin = Cout)
COMBOS = (("im2row", "none"), ("f2", "static"), ("f2", "learned"), ("f4", "static"),
          ("f4", "learned"), ("f6", "static"), ("f6", "learned"))
TARGET_GEMM_FRACTION = 0.75  # issue 3: GEMM stage of the 32x32 and 16x16 layers
TARGET_F4_SPEEDUP = 2.0


def register(sub) -> None:
    p = sub.add_parser("hostbench", help="fp32 kernel latency table on this machine (host build)")
    p.add_argument("--runs", type=int, default=3, help="runner processes (default 3)")
    p.add_argument("--cpu", type=int, default=0, help="CPU to pin to (default 0)")
    p.add_argument("--min-time-ms", type=float, default=200.0, help="per case and run (default 200)")
    p.add_argument("--json", help="also write every runner line of every run to this JSON file")
    p.set_defaults(func=_main)


def cases_text() -> str:
    lines = []
    for hw, c in LAYERS:
        for algo, transform in COMBOS:
            t = "static" if transform == "none" else transform
            lines.append(f"algo={algo} transform={t} bits=32 h={hw} w={hw} cin={c} cout={c}")
    return "\n".join(lines) + "\n"


def run_once(runner, cpu: int, min_time_ms: float) -> list[dict]:
    p = subprocess.run([str(runner), "--peak", "--cpus", str(cpu), "--min-time-ms", str(min_time_ms)],
                       input=cases_text(), capture_output=True, text=True)
    if p.returncode != 0:
        raise MeasurementError(f"wb-runner failed ({p.returncode}): {p.stderr.strip()}")
    lines = [json.loads(l) for l in p.stdout.splitlines()]
    bad = [l for l in lines if l["type"] == "case" and l["status"] != "ok"]
    if bad:
        raise MeasurementError(f"case failed: {bad[0]}")
    return lines


def summarize(runs: list[list[dict]]) -> tuple[dict, list[float]]:
    """{(h, cin, algo, transform): {stage: median over runs, "spread": ...}}, peaks per run."""
    peaks = [next(l["f32_gflops"] for l in run if l["type"] == "peak") for run in runs]
    rows: dict = {}
    for run in runs:
        for l in run:
            if l["type"] == "case":
                key = (l["h"], l["cin"], l["algo"], l["transform"])
                r = rows.setdefault(key, {s: [] for s in ("total_ms", "input_ms", "gemm_ms", "output_ms",
                                                          "gemm_gflops", "weight_transform_ms")})
                for s in r:
                    r[s].append(l[s]["median"] if isinstance(l[s], dict) else l[s])
    out = {}
    for key, r in rows.items():
        med = {s: statistics.median(v) for s, v in r.items()}
        med["spread"] = (max(r["total_ms"]) - min(r["total_ms"])) / med["total_ms"]
        out[key] = med
    return out, peaks


def format_table(rows: dict, peaks: list[float]) -> str:
    peak = statistics.median(peaks)
    out = [f"fp32 peak (vfmaq_f32, one core): {peak:.1f} GFLOP/s median of {len(peaks)} runs "
           f"[{min(peaks):.1f} .. {max(peaks):.1f}]", ""]
    head = (f"{'layer':>14} {'algo':>6} {'transform':>9} {'total ms':>9} {'spread':>6} {'input':>7} "
            f"{'gemm':>7} {'output':>7} {'GEMM GF/s':>9} {'% peak':>6} {'vs im2row':>9} {'wt ms':>7}")
    out += [head, "-" * len(head)]
    for hw, c in LAYERS:
        base = rows[(hw, c, "im2row", "none")]["total_ms"]
        for algo, transform in COMBOS:
            r = rows[(hw, c, algo, transform)]
            out.append(f"{f'{hw}x{hw}x{c}->{c}':>14} {algo:>6} {transform:>9} {r['total_ms']:9.3f} "
                       f"{100 * r['spread']:5.1f}% {r['input_ms']:7.3f} {r['gemm_ms']:7.3f} "
                       f"{r['output_ms']:7.3f} {r['gemm_gflops']:9.1f} {100 * r['gemm_gflops'] / peak:5.0f}% "
                       f"{base / r['total_ms']:8.2f}x {r['weight_transform_ms']:7.2f}")
        out.append("")
    out.append("targets (issue 3), on the 32x32 and 16x16 layers:")
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
    if args.runs < 1 or args.min_time_ms < 0:
        raise UsageError("--runs must be >= 1 and --min-time-ms >= 0")
    from bench.build import BuildError, build_runner

    try:
        runner = build_runner("host")
    except BuildError as e:
        raise MeasurementError(str(e)) from None
    runs = [run_once(runner, args.cpu, args.min_time_ms) for _ in range(args.runs)]
    info = runs[0][0]
    print(f"wb-runner {info['build_hash']} ({info['arch']}, {info['compiler']}, {info['cflags']}), "
          f"cpu {args.cpu}, single thread, warm caches (same input every repetition)")
    rows, peaks = summarize(runs)
    print(format_table(rows, peaks))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runs, f)
    return 0
