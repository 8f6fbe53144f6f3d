"""Cost per step of a wiNAS-style search against the LUT: per-layer softmax over operators, loss =
expected network latency (LUT.network_latency), Adam, on the CPU, for ResNet-18 CIFAR (the 16
Winograd-able layers, each its own choice) and 14 operators. The dict form ({layer: {op: p}})
against the tensor form (a [16, 14] probability tensor with ops=...), interleaved round by round
in one process; both searches must follow the same loss curve. Needs torch (an optional extra:
`pip install torch`). Not a test: timings on a shared machine are noisy; say where they ran.

    .venv/bin/python scripts/lut_search_benchmark.py [--steps 50] [--rounds 3] [--lut lut.json --table b/c/t1]

Without --lut the latencies are synthetic (proportional to each layer's multiply-accumulates, a
fixed factor per operator). With the code of an older checkout on PYTHONPATH (no tensor form),
only the dict form is timed.
"""

import argparse
import statistics
import sys
import time

try:
    import torch
except ImportError:
    sys.exit("this benchmark needs torch (pip install torch; CPU builds are enough)")

from bench.analysis.lut import LUT, load_lut
from bench.layers import Layer, layer_key, resnet18_cifar

OPS = ["im2row-fp32", "im2row-int8"] + [f"{a}-{t}-{p}" for p in ("fp32", "int8") for a in ("f2", "f4", "f6")
                                        for t in ("static", "learned")]
FACTOR = {op: 1.0 / (1 + i % 5) + 0.1 * i for i, op in enumerate(OPS)}   # ms per 10 M multiply-accumulates


def sixteen_layers() -> list[Layer]:
    """ResNet-18 CIFAR (width 0.5) as its 16 layers, each with its own name and count 1."""
    return [Layer(l.h, l.w, l.cin, l.cout, 1, f"{l.name}.{i}") for l in resnet18_cifar(0.5) for i in range(l.count)]


def synthetic_lut(layers) -> LUT:
    table = {}
    for l in layers:
        ms = {op: l.macs / 1e7 * f for op, f in FACTOR.items()}
        table[layer_key(l.h, l.w, l.cin, l.cout)] = {
            op: {"median_ms": v, "input_ms": 0.2 * v, "gemm_ms": 0.6 * v, "output_ms": 0.2 * v} for op, v in ms.items()}
    return LUT("synthetic/a73/t1", table)


def dict_loss(lut, layers, probs, ops):
    assign = {l.name: {op: probs[i, j] for j, op in enumerate(ops)} for i, l in enumerate(layers)}
    return lut.network_latency(layers, assign)["total_ms"]


def tensor_loss(lut, layers, probs, ops):
    return lut.network_latency(layers, probs, ops=ops)["total_ms"]


def search(lut, layers, ops, loss_of, steps: int) -> tuple[list[float], list[float], torch.Tensor]:
    """(seconds per step, loss per step, final logits) of one Adam search from uniform logits."""
    logits = torch.zeros(len(layers), len(ops), requires_grad=True)
    opt = torch.optim.Adam([logits], lr=0.1)
    times, losses = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = loss_of(lut, layers, torch.softmax(logits, dim=-1), ops)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
        losses.append(float(loss.detach()))
    return times, losses, logits.detach()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--rounds", type=int, default=3, help="A/B rounds, interleaved")
    p.add_argument("--lut", help="a lut.json whose table has every layer of ResNet-18 CIFAR w0.5 and the operators")
    p.add_argument("--table", help="the table of --lut (board/core/tN) when it holds several")
    args = p.parse_args()
    torch.set_num_threads(1)
    layers = sixteen_layers()
    lut = load_lut(args.lut, args.table) if args.lut else synthetic_lut(layers)
    ops = OPS if not args.lut else sorted(set.intersection(*(set(lut.operators(l.key)) for l in layers)))
    forms = {"dict": dict_loss}
    if hasattr(lut, "latency_matrix"):
        forms["tensor"] = tensor_loss
    per_step = {name: [] for name in forms}
    curves = {}
    for _ in range(args.rounds):
        for name, loss_of in forms.items():
            times, losses, logits = search(lut, layers, ops, loss_of, args.steps)
            per_step[name] += times[5:]   # the first steps warm up caches and allocators
            curves[name] = (losses, logits)
    report(lut, layers, ops, per_step, curves)


def report(lut, layers, ops, per_step, curves) -> None:
    print(f"torch {torch.__version__}, 1 thread, {len(layers)} layers x {len(ops)} operators, table {lut.name}")
    for name, times in per_step.items():
        print(f"  {name:<6} form: {1e3 * statistics.median(times):8.3f} ms per step (median of {len(times)} steps; "
              f"p90 {1e3 * statistics.quantiles(times, n=10)[-1]:.3f})")
    if "tensor" in per_step:
        ratio = statistics.median(per_step["dict"]) / statistics.median(per_step["tensor"])
        same = max(abs(a - b) for a, b in zip(curves["dict"][0], curves["tensor"][0]))
        print(f"  the tensor form is {ratio:.0f}x cheaper per step; the two loss curves differ by at most {same:.2e} ms")
    losses, logits = curves.get("tensor", curves["dict"])
    winners = [ops[j] for j in logits.argmax(-1).tolist()]
    fastest = [min(ops, key=lambda op: lut.latency(l.key, op)) for l in layers]
    print(f"  expected latency {losses[0]:.3f} -> {losses[-1]:.3f} ms in {len(losses)} steps; "
          f"{sum(w == f for w, f in zip(winners, fastest))} of {len(layers)} layers chose their fastest operator")


if __name__ == "__main__":
    main()
