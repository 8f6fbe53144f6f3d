"""Whole-network latency (bench.analysis.network, LUT.network_latency, `bench network`).

The LUT tests use synthetic latencies: the network total is arithmetic over the table, checked here
against an independent sum; the measured path is covered by the `bench network` run at the end."""

import json
import os
import subprocess
import sys

import pytest

from bench.analysis.lut import LUT, LUTError
from bench.layers import layer_key, resnet18_cifar

OPS = ("im2row-fp32", "f4-static-int8", "f2-static-fp32")


def fake_ms(h, w, cin, cout, op, stage):
    """Distinct, op- and shape-dependent latencies so a wrong lookup shows in the sum."""
    base = h * w * cin * cout * 1e-7 * (1 + OPS.index(op))
    return base * {"input_ms": 0.1, "gemm_ms": 0.7, "output_ms": 0.2, "median_ms": 1.05}[stage]


def fake_lut(layers):
    table = {}
    for l in layers:
        table[layer_key(l.h, l.w, l.cin, l.cout)] = {
            op: {s: fake_ms(l.h, l.w, l.cin, l.cout, op, s) for s in ("median_ms", "input_ms", "gemm_ms", "output_ms")}
            for op in OPS}
    return LUT("fake/a73/t1", table)


@pytest.mark.parametrize("width", [0.5, 1.0])
def test_one_operator_everywhere_sums_count_times_latency(width):
    layers = resnet18_cifar(width)
    assert sum(l.count for l in layers) == 16 and len(layers) == 7
    net = fake_lut(layers).network_latency(layers, "f4-static-int8")
    want = sum(l.count * fake_ms(l.h, l.w, l.cin, l.cout, "f4-static-int8", "median_ms") for l in layers)
    assert net["total_ms"] == pytest.approx(want)
    for stage in ("input_ms", "gemm_ms", "output_ms"):
        assert net[stage] == pytest.approx(sum(l.count * fake_ms(l.h, l.w, l.cin, l.cout, "f4-static-int8", stage)
                                               for l in layers))
    assert [r["count"] for r in net["layers"]] == [l.count for l in layers] and net["predicted_ms"] == 0


def test_per_layer_assignment_with_default_and_probabilities():
    layers = resnet18_cifar(0.5)
    lut = fake_lut(layers)
    assign = {"default": "im2row-fp32", "stage1": "f4-static-int8",
              "stage2": {"f2-static-fp32": 0.25, "f4-static-int8": 0.75}}
    net = lut.network_latency(layers, assign)
    want = 0.0
    for l in layers:
        ms = lambda op: fake_ms(l.h, l.w, l.cin, l.cout, op, "median_ms")  # noqa: E731
        want += l.count * {"stage1": ms("f4-static-int8"),
                           "stage2": 0.25 * ms("f2-static-fp32") + 0.75 * ms("f4-static-int8")}.get(l.name, ms("im2row-fp32"))
    assert net["total_ms"] == pytest.approx(want)
    with pytest.raises(LUTError, match="no operator assigned to layer 'stage1'"):
        lut.network_latency(layers, {"stage2": "f4-static-int8"})
    with pytest.raises(LUTError, match="operator 'f6-static-int8' is not measured"):
        lut.network_latency(layers, "f6-static-int8")


def test_wiNAS_expected_network_latency_is_differentiable(torch):
    layers = resnet18_cifar(0.5)
    lut = fake_lut(layers)
    logits = torch.zeros(len(layers), len(OPS), requires_grad=True)
    probs = torch.softmax(logits, dim=1)
    assign = {l.name: {op: probs[i, j] for j, op in enumerate(OPS)} for i, l in enumerate(layers)}
    net = lut.network_latency(layers, assign)
    net["total_ms"].backward()
    # d total / d logit: count * p_j * (F_j - E[F]); the costliest operator's logit has a positive gradient
    l0 = layers[0]
    f = torch.tensor([fake_ms(l0.h, l0.w, l0.cin, l0.cout, op, "median_ms") for op in OPS], dtype=probs.dtype)
    p = probs[0].detach()
    assert torch.allclose(logits.grad[0], l0.count * p * (f - (p * f).sum()), rtol=1e-5)
    assert logits.grad[0, OPS.index("f2-static-fp32")] > 0


def bench(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "bench", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("net") / "results"
    done = bench("run", "--preset", "quick", "--algo", "im2row,f4", "--transform", "static", "--reps", "2",
                 "--min-time-ms", "1", "--no-errors", "--out", out)
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.slow
def test_bench_network_on_a_measured_quick_sweep(quick_results, tmp_path):
    done = bench("network", quick_results, "--preset", "quick", "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    import pandas as pd

    from bench.measure.results import ResultsDir

    df = ResultsDir.load(quick_results).dataframe()
    f4 = df[(df["algo"] == "f4") & (df["bits"] == 8)]
    want = sum(r.total_ms * r["count"] for _, r in f4.iterrows())
    table = pd.read_csv(tmp_path / "network.csv").set_index("assignment")
    assert table.loc["f4-static-int8", "total_ms"] == pytest.approx(want)
    assert table.loc["im2row-fp32", "speedup"] == pytest.approx(1.0)
    assert table.loc["fastest per layer", "total_ms"] <= table["total_ms"].min() + 1e-12
    assert "local/host/t1: network of 16 layers (7 shapes)" in done.stdout
    assert (tmp_path / "network.png").stat().st_size > 10_000


@pytest.mark.slow
def test_bench_network_assignment_files_and_bad_input(quick_results, tmp_path):
    toml = tmp_path / "assign.toml"
    toml.write_text('default = "im2row-int8"\nstage1 = "f4-static-fp32"\n')
    done = bench("network", quick_results, "--preset", "quick", "--assign", toml, "--out", tmp_path)
    assert done.returncode == 0, done.stderr and "assignment" in done.stdout
    layers = tmp_path / "layers.json"
    layers.write_text(json.dumps({"layers": [{"name": "a", "h": 32, "w": 32, "cin": 32, "cout": 32, "count": 2}]}))
    done = bench("network", quick_results, "--layers", layers, "--assign", "f4-static-int8", "--out", tmp_path)
    assert done.returncode == 0 and "network of 2 layers (1 shapes)" in done.stdout, done.stderr
    for args, message in ((["--preset", "quick", "--assign", "f9-static-int8"], "operator 'f9-static-int8' is not measured"),
                          (["--preset", "grid"], "unknown network preset 'grid'"),
                          ([], "layers not measured: 32x32x64->64, 16x16x64->128"),
                          (["--assign", tmp_path / "missing.json"], "cannot read the assignment file")):
        done = bench("network", quick_results, *args, "--out", tmp_path / "bad")
        assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
