"""The LUT's tensor form (LUT.latency_matrix; expected_latency and network_latency of [L, O] and
[B, L, O] probabilities): the same numbers as the dict form, numpy without torch, torch in any float
dtype and on any device when it is installed (an optional extra; those tests skip without it).

The latencies are synthetic (tests/analysis/test_network.py's fake table): the tensor form is
arithmetic over the table, checked against the dict form and against independent sums."""

import os
import subprocess
from pathlib import Path
import sys

import numpy as np
import pytest

from bench.analysis.lut import LUT, LUTError
from bench.analysis.predict import fit_table
from bench.layers import Layer, layer_key, resnet18_cifar
from tests.analysis.test_network import OPS, fake_lut, fake_ms
from tests.analysis.test_predict import GRID, synthetic_ms
from tests.support import ROOT

LAYERS = resnet18_cifar(0.5)


def probabilities(rng, *shape):
    p = rng.random(shape)
    return p / p.sum(-1, keepdims=True)


def test_the_tensor_form_gives_the_dict_forms_numbers():
    lut, rng = fake_lut(LAYERS), np.random.default_rng(0)
    p = probabilities(rng, len(LAYERS), len(OPS))
    per_layer = lut.expected_latency(LAYERS, p, ops=OPS)
    assert per_layer.shape == (len(LAYERS),)
    for i, l in enumerate(LAYERS):
        assert per_layer[i] == pytest.approx(lut.expected_latency(l.key, dict(zip(OPS, p[i]))))
        assert lut.expected_latency(l, p[i], ops=OPS) == pytest.approx(per_layer[i])   # one layer: [O] -> scalar
    net = lut.network_latency(LAYERS, p, ops=OPS)
    ref = lut.network_latency(LAYERS, {l.name: dict(zip(OPS, p[i])) for i, l in enumerate(LAYERS)})
    for k in ("total_ms", "input_ms", "gemm_ms", "output_ms", "predicted_ms"):
        assert float(net[k]) == pytest.approx(ref[k]), k
    assert net["layers"] == pytest.approx([r["total_ms"] for r in ref["layers"]])
    assert float(net["total_ms"]) == pytest.approx(sum(l.count * e for l, e in zip(LAYERS, per_layer)))


def test_a_batch_is_its_rows():
    lut, rng = fake_lut(LAYERS), np.random.default_rng(1)
    batch = probabilities(rng, 5, len(LAYERS), len(OPS))
    net = lut.network_latency(LAYERS, batch, ops=OPS)
    assert net["total_ms"].shape == (5,) and net["layers"].shape == (5, len(LAYERS))
    for b in range(5):
        assert net["total_ms"][b] == pytest.approx(float(lut.network_latency(LAYERS, batch[b], ops=OPS)["total_ms"]))
    assert lut.expected_latency(LAYERS, batch, ops=OPS).shape == (5, len(LAYERS))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64])
def test_any_float_dtype_and_a_one_hot_choice(dtype):
    lut = fake_lut(LAYERS)
    one_hot = np.zeros((len(LAYERS), len(OPS)), dtype=dtype)
    one_hot[:, 1] = 1
    want = sum(l.count * fake_ms(l.h, l.w, l.cin, l.cout, OPS[1], "median_ms") for l in LAYERS)
    total = lut.network_latency(LAYERS, one_hot, ops=OPS)["total_ms"]
    assert total.dtype == (np.float64 if dtype in (np.float64, np.int64) else np.float32)
    assert float(total) == pytest.approx(want, rel=1e-6)


def test_half_precision_sums_are_tolerated_and_renormalised():
    lut = fake_lut(LAYERS)
    p = np.full((len(LAYERS), len(OPS)), 1 / 3)
    exact = lut.network_latency(LAYERS, p, ops=OPS)["total_ms"]
    off = (p * 0.999).astype(np.float16)       # a float16 softmax off by rounding: sums 0.999
    assert float(lut.network_latency(LAYERS, off, ops=OPS)["total_ms"]) == pytest.approx(float(exact), rel=1e-3)
    with pytest.raises(ValueError, match=r"sum to 1 .*within 1e-06 for float64\), got sums 0\.999"):
        lut.network_latency(LAYERS, p * 0.999, ops=OPS)   # the same sums in float64 are a mistake


@pytest.mark.parametrize("bad, message", [
    (lambda p: p * 2, "got sums 2"),                       # weights, not probabilities
    (lambda p: p - 0.5, "non-negative"),                   # logits
    (lambda p: np.where(p > 0.5, np.nan, p), "finite"),
    (lambda p: p[:, :2], r"shape \[7, 2\] do not fit 7 layer\(s\) x 3 operator\(s\)"),
])
def test_bad_probabilities_are_refused_in_one_line(bad, message):
    lut = fake_lut(LAYERS)
    p = probabilities(np.random.default_rng(2), len(LAYERS), len(OPS))
    with pytest.raises(ValueError, match=message) as e:
        lut.network_latency(LAYERS, bad(p), ops=OPS)
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="need ops="):
        lut.network_latency(LAYERS, p)


def test_missing_entries_nan_a_chosen_value_or_the_predictor():
    rows = [{"op": "f4-static-fp32", "algo": "f4", "bits": 32, "h": h, "w": w, "cin": ci, "cout": co,
             "median_ms": synthetic_ms((h, w, ci, co))} for h, w, ci, co in GRID]
    measured = {layer_key(*GRID[0]): {"f4-static-fp32": {"median_ms": 1.5, "input_ms": 0.3, "gemm_ms": 1.0, "output_ms": 0.2}}}
    lut = LUT("fake/a73/t1", measured, fit_table(rows))
    layers = [Layer(*GRID[0]), Layer(10, 12, 20, 30), Layer(500, 500, 8, 8)]   # measured, predictable, outside
    ops = ["f4-static-fp32", "f2-static-fp32"]                                # f2 has no model
    m = lut.latency_matrix(layers, ops)
    assert m[0, 0] == 1.5 and np.isnan(m[1:, 0]).all() and np.isnan(m[:, 1]).all()
    assert lut.latency_matrix(layers, ops, missing=1e9)[2, 1] == 1e9
    filled = lut.latency_matrix(layers, ops, predict=True)
    assert filled[0, 0] == 1.5 and filled[1, 0] == pytest.approx(synthetic_ms((10, 12, 20, 30)), rel=1e-6)
    assert np.isnan(filled[2, 0]) and np.isnan(filled[:, 1]).all()
    p = np.array([[1.0, 0.0]] * 3)
    with pytest.raises(LUTError, match=r"5 of 6 entries are not in fake/a73/t1, the first 'f2-static-fp32'"):
        lut.network_latency(layers, p, ops=ops)
    net = lut.network_latency(layers[:2], p[:2, :1], ops=ops[:1], predict=True)
    assert float(net["predicted_ms"]) == pytest.approx(synthetic_ms((10, 12, 20, 30)), rel=1e-6)
    assert float(net["total_ms"]) == pytest.approx(1.5 + float(net["predicted_ms"]))
    assert float(net["gemm_ms"]) == pytest.approx(1.0)   # predicted layers have no stage breakdown


def test_the_lut_never_imports_torch():
    code = ("import sys, numpy as np; import bench.lut as b; from bench.layers import resnet18_cifar; "
            "assert 'torch' not in sys.modules; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


# ---------------------------------------------------------------------------------------------
# torch (optional)

def test_torch_any_dtype_gives_float32_or_wider_and_the_same_total(torch):
    lut = fake_lut(LAYERS)
    logits = torch.randn(len(LAYERS), len(OPS), generator=torch.Generator().manual_seed(0))
    want = float(lut.network_latency(LAYERS, torch.softmax(logits.double(), -1).numpy(), ops=OPS)["total_ms"])
    for dtype, rel in ((torch.float16, 2e-3), (torch.bfloat16, 2e-2), (torch.float32, 1e-6), (torch.float64, 1e-12)):
        total = lut.network_latency(LAYERS, torch.softmax(logits.to(dtype), -1), ops=OPS)["total_ms"]
        assert total.dtype == (torch.float64 if dtype == torch.float64 else torch.float32)
        assert float(total) == pytest.approx(want, rel=rel), dtype


def test_torch_gradients_are_the_analytic_ones(torch):
    lut = fake_lut(LAYERS)
    logits = torch.zeros(3, len(LAYERS), len(OPS), dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        logits[1] += torch.arange(len(OPS), dtype=torch.float64)
    probs = torch.softmax(logits, dim=-1)
    lut.network_latency(LAYERS, probs, ops=OPS)["total_ms"].sum().backward()
    f = torch.tensor(lut.latency_matrix(LAYERS, OPS))                     # [L, O]
    counts = torch.tensor([float(l.count) for l in LAYERS])
    p = probs.detach()
    expected = (p * f).sum(-1, keepdim=True)
    assert torch.allclose(logits.grad, counts[:, None] * p * (f - expected), rtol=1e-9, atol=1e-12)


def test_torch_on_another_device_reads_nothing_back(torch):
    """The meta device holds no values: any host read (a check, float(), .item()) would fail there,
    so the whole call running on it shows that a step needs no device synchronisation."""
    lut = fake_lut(LAYERS)
    probs = torch.softmax(torch.zeros(4, len(LAYERS), len(OPS), device="meta", requires_grad=True), -1)
    net = lut.network_latency(LAYERS, probs, ops=OPS)
    assert net["total_ms"].device.type == "meta" and net["total_ms"].shape == (4,)
    assert lut.expected_latency(LAYERS, probs.half(), ops=OPS).shape == (4, len(LAYERS))
    assert lut.latency_matrix(LAYERS, OPS, like=probs).device.type == "meta"


def test_torch_matrix_and_dict_of_scalars(torch):
    lut = fake_lut(LAYERS)
    m = lut.latency_matrix(LAYERS, OPS, like="torch")
    assert isinstance(m, torch.Tensor) and m.dtype == torch.get_default_dtype() and m.shape == (len(LAYERS), len(OPS))
    assert lut.latency_matrix(LAYERS, OPS, like=torch.zeros(1, dtype=torch.bfloat16)).dtype == torch.float32
    l0 = LAYERS[0]
    p = torch.tensor([0.25, 0.75], requires_grad=True)
    e = lut.expected_latency(l0.key, {OPS[0]: p[0], OPS[1]: p[1]})
    e.backward()
    assert float(e.detach()) == pytest.approx(0.25 * fake_ms(l0.h, l0.w, l0.cin, l0.cout, OPS[0], "median_ms")
                                     + 0.75 * fake_ms(l0.h, l0.w, l0.cin, l0.cout, OPS[1], "median_ms"), rel=1e-6)
    assert p.grad is not None
    with pytest.raises(ValueError, match="within 0.0078 for float16"):
        lut.network_latency(LAYERS, torch.full((len(LAYERS), len(OPS)), 0.3, dtype=torch.float16), ops=OPS)


@pytest.mark.slow
def test_the_search_benchmark_script_runs_both_forms(torch):
    site = Path(torch.__file__).parent.parent   # where torch is, maybe installed for the tests only
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "lut_search_benchmark.py"), "--steps", "8",
                           "--rounds", "1"], capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": f"{ROOT}:{site}"})
    assert done.returncode == 0, done.stderr
    assert "dict   form:" in done.stdout and "tensor form:" in done.stdout, done.stdout
    assert "differ by at most 0.00e+00 ms" in done.stdout or "e-0" in done.stdout.split("differ by at most")[1][:12]
