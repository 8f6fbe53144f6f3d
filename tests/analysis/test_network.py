"""Whole-network latency (bench.analysis.network, LUT.network_latency, `bench network`).

The LUT tests use synthetic latencies: the network total is arithmetic over the table, checked here
against an independent sum; the measured path is covered by the `bench network` run at the end."""

import json
import os
import subprocess
import sys

import pytest

from bench.analysis.lut import LUT, LUTError
from bench.analysis.network import FASTEST, layer_rows, network_rows, not_measured_lines
from bench.layers import layer_key, resnet18_cifar, resnet18_cifar_full, resnet18_imagenet

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


def whole_lut(layers):
    """im2row at both precisions on every layer, F4 int8 and F2 fp32 on the Winograd ones only, as a
    sweep measures them; latencies from fake_ms (im2row-int8 as half of im2row-fp32)."""
    table = {}
    for l in layers:
        ops = {op: {s: fake_ms(l.h, l.w, l.cin, l.cout, op, s) for s in ("median_ms", "input_ms", "gemm_ms", "output_ms")}
               for op in (OPS if l.winograd else OPS[:1])}
        ops["im2row-int8"] = {s: v / 2 for s, v in ops["im2row-fp32"].items()}
        table[l.key] = ops
    return LUT("fake/a53/t1", table)


@pytest.mark.parametrize("network", [resnet18_imagenet(), resnet18_cifar_full(0.5), resnet18_cifar_full(1.0)],
                         ids=lambda n: n.name)
def test_whole_networks_give_other_layers_their_only_operator(network):
    layers = list(network.layers)
    assert {(l.k, l.stride) for l in layers} - {(3, 1)}   # a stem, strided or 1x1 layers
    rows = {r["assignment"]: r for r in network_rows(whole_lut(layers), layers)}
    assert set(rows) == {"im2row-fp32", "im2row-int8", "f4-static-int8", "f2-static-fp32", FASTEST}
    ms = lambda l, op: fake_ms(l.h, l.w, l.cin, l.cout, op, "median_ms")  # noqa: E731
    want = sum(l.count * (ms(l, "f4-static-int8") if l.winograd else ms(l, "im2row-fp32") / 2) for l in layers)
    assert rows["f4-static-int8"]["total_ms"] == pytest.approx(want)
    want = sum(l.count * ms(l, "f2-static-fp32" if l.winograd else "im2row-fp32") for l in layers)
    assert rows["f2-static-fp32"]["total_ms"] == pytest.approx(want)
    base = sum(l.count * ms(l, "im2row-fp32") for l in layers)
    assert rows["f4-static-int8"]["speedup"] == pytest.approx(base / rows["f4-static-int8"]["total_ms"])
    per_layer = layer_rows(rows["f4-static-int8"], layers)
    assert [r["op"] for r in per_layer] == ["f4-static-int8" if l.winograd else "im2row-int8" for l in layers]
    assert sum(r["count_x_ms"] for r in per_layer) == pytest.approx(rows["f4-static-int8"]["total_ms"])
    fastest = layer_rows(rows[FASTEST], layers)
    assert all(r["op"] in ("f4-static-int8", "im2row-int8") for r in fastest)
    (line,) = not_measured_lines(network, layers)
    assert line.startswith("not measured (share of the network's multiply-adds; convolutions 9") and "avgpool" in line


def test_imagenet_preset_is_torchvision_resnet18():
    net = resnet18_imagenet()
    assert sum(l.macs * l.count for l in net.layers) == 1_813_561_344   # torchvision: 1.81 GMACs
    assert sum(l.count for l in net.layers) == 20 and net.layers[0].shape == "224x224x3->64 k7s2"
    cifar = resnet18_cifar_full(0.5)
    assert sum(l.count for l in cifar.layers) == 20 and [l.cin for l in cifar.layers[:2]] == [3, 32]
    assert sum(l.count for l in cifar.layers if l.winograd) == 17   # the stem and the 16 of resnet18-cifar


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
    assert "local/host/t1 (x86 host, NEON emulated through SIMDe): network of 16 layers (7 shapes)" in done.stdout
    assert (tmp_path / "network.png").stat().st_size > 10_000
    per_layer = pd.read_csv(tmp_path / "network_layers.csv")
    assert per_layer["count"].sum() == 16 and set(per_layer["assignment"]) == {"fastest per layer"}
    # Without --preset: the layers the table stored, with their counts: the same totals.
    done = bench("network", quick_results, "--out", tmp_path / "own")
    assert done.returncode == 0, done.stderr
    own = pd.read_csv(tmp_path / "own" / "network.csv").set_index("assignment")
    assert own["total_ms"].to_dict() == pytest.approx(table["total_ms"].to_dict())


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
                          (["--preset", "resnet18-imagenet"], "layers not measured: 224x224x3->64 k7s2, 56x56x64->64"),
                          (["--assign", tmp_path / "missing.json"], "cannot read the assignment file")):
        done = bench("network", quick_results, *args, "--out", tmp_path / "bad")
        assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_predicted_networks_give_other_layers_im2row_only():
    """With --predict, a strided layer missing from the table is never offered a Winograd operator."""
    from bench.analysis.predict import fit_table
    from bench.layers import grid
    from tests.analysis.test_predict import synthetic_op_ms

    rows = [{"op": op, "algo": algo, "bits": bits, "h": l.h, "w": l.w, "cin": l.cin, "cout": l.cout, "kernel": l.k,
             "stride": l.stride, "pad": l.pad, "median_ms": synthetic_op_ms(algo, bits, (l.h, l.w, l.cin, l.cout, l.k, l.stride, l.pad))}
            for op, algo, bits in (("im2row-int8", "im2row", 8), ("im2row-fp32", "im2row", 32), ("f4-static-int8", "f4", 8))
            for l in grid() if algo == "im2row" or l.winograd]
    lut = LUT("fake/a53/t1", {}, fit_table(rows))
    layers = list(resnet18_imagenet().layers)
    table = {r["assignment"]: r for r in network_rows(lut, layers, predict=True)}
    assert set(table) == {"im2row-fp32", "im2row-int8", "f4-static-int8", FASTEST}
    fastest = layer_rows(table[FASTEST], layers)
    assert all(r["predicted"] and (r["op"].startswith("im2row") or l.winograd) for r, l in zip(fastest, layers))
    assert table["f4-static-int8"]["predicted_ms"] == pytest.approx(table["f4-static-int8"]["total_ms"])
