"""A/B of wb-runner builds on Winograd layers, for the fused output transform (kernels_c/README.md).

    python scripts/fused_ab.py time NAME=RUNNER ... [--rounds 5] [--cpus 0] [--min-time-ms 100]
    python scripts/fused_ab.py cachegrind NAME=RUNNER ... [--bits 32,8] [--algo f2,f4,f6] [--layers 32:64]

`time` runs every build in turn, round after round (interleaved, so a slow spell of this shared
machine hits every build alike), one runner process per build and round (one thread per CPU of
--cpus), and prints per case and build the median over rounds of each stage's median, the spread
of the total ((max - min) / median over rounds) and the least total seen. `cachegrind` runs each case alone under valgrind's cache
simulator with an A53-like hierarchy (32 KiB 4-way L1D, 512 KiB 16-way L2 as the last level) once
with reps=1 and once with reps=3, so the difference is two timed runs alone (data generation,
weight transform and warmup cancel out), and prints LL misses per run. The host build must not use
AVX-512 for valgrind: build it with `python -m bench.native.build host --mcpu x86-64-v3`.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys

LAYERS = ((32, 64), (16, 128), (8, 256), (4, 512), (56, 64))  # (H = W, Cin = Cout)
STAGES = ("total", "input", "gemm", "output")
DEADLINE_S = 900


def cases(bits: tuple[int, ...], algos: tuple[str, ...], layers=LAYERS, scheme="tensor") -> list[str]:
    return [f"algo={a} transform=static bits={b} h={hw} w={hw} cin={c} cout={c}"
            + (f" scheme={scheme}" if b == 8 else "")
            for hw, c in layers for b in bits for a in algos]


def run_times(runner: str, lines: list[str], cpus: str, min_time_ms: float) -> list[dict]:
    threads = len(cpus.split(","))
    cmd = [runner, "--cpus", cpus, "--threads", str(threads), "--min-time-ms", str(min_time_ms),
           "--min-reps", "5"]
    out = subprocess.run(cmd, input="\n".join(lines) + "\n", capture_output=True, text=True,
                         timeout=DEADLINE_S, check=True).stdout
    recs = [json.loads(x) for x in out.splitlines() if x.strip()]
    recs = [r for r in recs if r["type"] == "case"]
    bad = [r for r in recs if r["status"] != "ok"]
    if bad:
        raise SystemExit(f"{runner}: case {bad[0]['line']} failed: {bad[0].get('message')}")
    return recs


def time_ab(builds: dict[str, str], lines: list[str], rounds: int, cpus: str, min_time_ms: float) -> None:
    got: dict = {}  # (line index, build) -> {stage: [median per round]}
    for _ in range(rounds):
        for name, runner in builds.items():
            for i, rec in enumerate(run_times(runner, lines, cpus, min_time_ms)):
                d = got.setdefault((i, name), {s: [] for s in STAGES})
                for s in STAGES:
                    d[s].append(rec[f"{s}_ms"]["median"])
                d.setdefault("min", []).append(rec["total_ms"]["min"])
    print("case | build | total_ms | spread | min total_ms | input_ms | gemm_ms | output_ms")
    for i, line in enumerate(lines):
        for name in builds:
            d = got[(i, name)]
            med = {s: statistics.median(v) for s, v in d.items()}
            spread = (max(d["total"]) - min(d["total"])) / med["total"]
            print(f"{short(line)} | {name} | {med['total']:.3f} | {spread:.0%} | {min(d['min']):.3f} | "
                  f"{med['input']:.3f} | {med['gemm']:.3f} | {med['output']:.3f}")


def ll_misses(runner: str, line: str, reps: int) -> int:
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", "--LL=524288,16,64",
           "--D1=32768,4,64", "--cachegrind-out-file=/dev/null", runner, "--min-reps", "1",
           "--warmup", "0", "--min-time-ms", "0"]
    r = subprocess.run(cmd, input=f"{line} reps={reps}\n", capture_output=True, text=True,
                       timeout=DEADLINE_S, check=True)
    m = re.search(r"LL misses:\s+([\d,]+)", r.stderr)
    ok = [json.loads(x).get("status") == "ok" for x in r.stdout.splitlines() if '"case"' in x]
    if not m or ok != [True]:
        raise SystemExit(f"{runner} under valgrind on {line!r}: {r.stderr.strip()[-300:]}")
    return int(m.group(1).replace(",", ""))


def cachegrind_ab(builds: dict[str, str], lines: list[str]) -> None:
    print("case | " + " | ".join(f"{n} LL misses/run" for n in builds))
    for line in lines:
        per_run = [(ll_misses(r, line, 3) - ll_misses(r, line, 1)) // 2 for r in builds.values()]
        print(f"{short(line)} | " + " | ".join(f"{x:,}" for x in per_run), flush=True)


def short(line: str) -> str:
    f = dict(kv.split("=") for kv in line.split())
    return f"{f['algo']} {f['bits']}b{' ' + f['scheme'] if 'scheme' in f else ''} {f['h']}x{f['w']}x{f['cin']}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=("time", "cachegrind"))
    p.add_argument("builds", nargs="+", help="NAME=PATH of a wb-runner")
    p.add_argument("--bits", default="32,8")
    p.add_argument("--algo", default="f2,f4,f6")
    p.add_argument("--layers", help="only these H:C layers, e.g. 32:64,56:64")
    p.add_argument("--scheme", default="tensor", help="int8 scheme: tensor, tap or wide")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--cpus", default="0", help="CPUs to pin to, one thread each (default 0)")
    p.add_argument("--min-time-ms", type=float, default=100.0)
    a = p.parse_args(argv)
    if bad := [b for b in a.builds if "=" not in b]:
        p.error(f"bad build {bad[0]!r}; accepted: NAME=PATH of a wb-runner")
    builds = dict(b.split("=", 1) for b in a.builds)
    if a.layers and not re.fullmatch(r"\d+:\d+(,\d+:\d+)*", a.layers):
        p.error(f"bad --layers {a.layers!r}; accepted: H:C pairs, e.g. 32:64,56:64")
    layers = [tuple(map(int, x.split(":"))) for x in a.layers.split(",")] if a.layers else LAYERS
    lines = cases(tuple(int(b) for b in a.bits.split(",")), tuple(a.algo.split(",")), layers, a.scheme)
    if a.mode == "time":
        time_ab(builds, lines, a.rounds, a.cpus, a.min_time_ms)
    else:
        cachegrind_ab(builds, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
