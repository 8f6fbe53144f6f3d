"""This project's best kernel against each production engine, from `bench run --engine` output alone.

    python scripts/engine_ratios.py --out DIR [--rounds 9] [--board local] [--report-only]

Each round is two `bench run` processes on the same board and core, in alternating order (odd rounds
this project's kernels first, even rounds the engines first), over the ResNet-18 CIFAR width-1.0
layers plus 56x56x64, fp32 and int8, into DIR/round-N-{ours,engines}. The report gives, per layer,
ratio = best kernel ms / engine ms (above 1: the engine is faster), the median over rounds: fp32
best of im2row/F2/F4/F6 static; int8 the best kernel whose SQNR is at least 25 dB over the schemes
tensor, tap and wide. It prints the 1-minute load before and after every round: time only when it
stays below 0.5, and say where the figures were measured (x86 host through SIMDe, emulated, Arm).
"""

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pandas as pd

from bench.measure.results import CSV_DTYPES

MIN_SQNR_DB = 25.0
PEERS = {32: [("onnxruntime", "conv"), ("ncnn", "winograd"), ("ncnn", "direct"), ("litert", "xnnpack")],
         8: [("onnxruntime", "qlinearconv"), ("ncnn", "winograd"), ("litert", "xnnpack")]}
LAYER_SETS = (["--preset", "resnet18-cifar", "--width", "1.0"], ["--res", "56", "--channels", "64"])
OURS = ["--engine", "winobench", "--algo", "im2row,f2,f4,f6", "--transform", "static", "--scheme", "tensor,tap,wide"]
ENGINES = ["--engine", "ncnn,onnxruntime,litert"]


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def measure(out: Path, rounds: int, board: str) -> None:
    for n in range(1, rounds + 1):
        order = [("ours", OURS), ("engines", ENGINES)]
        for name, what in order if n % 2 else order[::-1]:
            for i, layers in enumerate(LAYER_SETS):
                target = out / f"round-{n}-{name}" / f"set-{i}"
                print(f"round {n} {name} set {i}: load {load()}", file=sys.stderr)
                subprocess.run([sys.executable, "-m", "bench", "run", "-q", "--board", board, "--bits", "8,32",
                                *what, *layers, "--out", str(target)], check=False)
        print(f"round {n} done: load {load()}", file=sys.stderr)


def rows(directory: Path) -> pd.DataFrame:
    frames = [pd.read_csv(p, dtype=CSV_DTYPES, keep_default_na=False, na_values=[""])
              for p in sorted(directory.glob("set-*/latency.csv"))]
    df = pd.concat(frames) if frames else pd.DataFrame()
    return df[(df["status"] == "ok") & (df["cin"] == df["cout"])] if len(df) else df


def ratios(out: Path) -> dict:
    """{(layer, bits, engine, variant): [ratio per round]} and the engines' SQNR."""
    got: dict = {}
    for ours_dir in sorted(out.glob("round-*-ours")):
        ours, theirs = rows(ours_dir), rows(Path(str(ours_dir)[:-4] + "engines"))
        if ours.empty or theirs.empty:
            continue
        ours, theirs = ours[ours["engine"] == "winobench"], theirs[theirs["engine"] != "winobench"]
        for (h, c, bits), mine in ours.groupby(["h", "cin", "bits"]):
            good = mine if bits == 32 else mine[mine["sqnr_db"] >= MIN_SQNR_DB]
            if good.empty:
                continue
            best = good["total_ms"].min()
            for engine, variant in PEERS[bits]:
                peer = theirs[(theirs["h"] == h) & (theirs["cin"] == c) & (theirs["bits"] == bits)
                              & (theirs["engine"] == engine) & (theirs["algo"] == variant)]
                if len(peer):
                    got.setdefault((f"{h}x{h}x{c}", bits, engine, variant), []).append(
                        (best / float(peer["total_ms"].iloc[0]), float(peer["sqnr_db"].iloc[0])))
    return got


def report(out: Path) -> str:
    got = ratios(out)
    layers = sorted({k[0] for k in got}, key=lambda s: (s.startswith("56"), -int(s.split("x")[0])))
    lines = []
    for bits in (32, 8):
        head = " / ".join(f"{e} {v}" for e, v in PEERS[bits])
        lines.append(f"{'fp32' if bits == 32 else 'int8'} (ratio = best kernel / peer, median of rounds): {head}")
        for layer in layers:
            cells = []
            for engine, variant in PEERS[bits]:
                values = got.get((layer, bits, engine, variant))
                cells.append("-" if not values else f"{statistics.median(r for r, _ in values):.2f}"
                             + (f" ({statistics.median(s for _, s in values):.0f} dB)" if bits == 8 else "")
                             + f" n={len(values)}")
            lines.append(f"  {layer:<12} " + " / ".join(cells))
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--board", default="local")
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args()
    out = Path(args.out)
    if not args.report_only:
        measure(out, args.rounds, args.board)
    print(report(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
