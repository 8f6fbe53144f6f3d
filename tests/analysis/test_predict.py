"""The latency predictor (bench.analysis.predict, LUT.predict, `bench lut`'s report).

Synthetic data drawn from the model's own form (plus noise) checks that the fit recovers it and that
cross-validation measures what it should; the refusals are checked on the same models."""

import numpy as np
import pytest

from bench.analysis.lut import LUT, layer_key
from bench.analysis.predict import MIN_LAYERS, PredictError, features, fit_model, fit_table, predict

# Resolutions off the tile sizes too: on multiples of m alone a stage's ops and bytes are proportional
# and the fit could not tell them apart.
GRID = [(r, r, ci, co) for r in (4, 7, 16, 30, 56) for ci in (8, 32, 128) for co in (8, 32, 128)]


def synthetic_ms(layer, noise=0.0, rng=None):
    """A 'core' with 20 GOP/s in cache and 5 beyond 2 MiB of stage bytes, 10 GB/s, 2 us per call."""
    x = features("f4", 32, layer, threshold=2.0 ** 21)
    coef = np.zeros(len(x))
    for s in range(3):
        coef[4 * s: 4 * s + 4] = [1 / 20e6, 1 / 10e6, 1 / 5e6, 1 / 4e6]
    coef[-1] = 0.002
    ms = float(x @ coef)
    return ms * (1 + noise * rng.standard_normal()) if noise else ms


def test_fit_recovers_a_model_of_its_own_form():
    model = fit_model("f4", 32, GRID, [synthetic_ms(l) for l in GRID])
    assert model["threshold_bytes"] == 2.0 ** 21 and model["n"] == len(GRID)
    assert model["cv_median_rel_err"] < 1e-6
    assert predict(model, 20, 24, 48, 100, what="t") == pytest.approx(synthetic_ms((20, 24, 48, 100)), rel=1e-6)


def test_cross_validated_error_tracks_the_noise():
    rng = np.random.default_rng(1)
    model = fit_model("f4", 32, GRID, [synthetic_ms(l, 0.05, rng) for l in GRID])
    # 5% Gaussian noise: the median |error| of a good fit is about 0.67 * 5% (plus a little for the fit)
    assert 0.02 < model["cv_median_rel_err"] < 0.06 and model["cv_p90_rel_err"] > model["cv_median_rel_err"]
    assert all(c >= 0 for c in model["coef"])


def test_predictions_outside_the_measured_range_or_without_data_are_refused():
    model = fit_model("f4", 32, GRID, [synthetic_ms(l) for l in GRID])
    with pytest.raises(PredictError, match=r"refusing to extrapolate x to 64x64x8->8: h 64 not in 4\.\.56, w 64"):
        predict(model, 64, 64, 8, 8, what="x")
    square = [(r, r, c, c) for r in (4, 7, 16, 30, 56, 112) for c in (8, 32, 128)]
    square_model = fit_model("f4", 32, square, [synthetic_ms(l) for l in square])
    with pytest.raises(PredictError, match=r"cout/cin 2 not in 1\.\.1"):
        predict(square_model, 16, 16, 32, 64, what="x")
    assert fit_model("f4", 32, GRID[: MIN_LAYERS - 1], [1.0] * (MIN_LAYERS - 1)) is None
    with pytest.raises(PredictError, match="fewer than 16 layers measured"):
        predict(None, 8, 8, 8, 8, what="x")


def test_lut_predict_uses_the_table_models():
    rows = [{"op": "f4-static-fp32", "algo": "f4", "bits": 32, "h": h, "w": w, "cin": ci, "cout": co,
             "median_ms": synthetic_ms((h, w, ci, co))} for h, w, ci, co in GRID]
    lut = LUT("fake/a73/t1", {layer_key(*l): {} for l in GRID}, fit_table(rows))
    assert lut.predict((10, 12, 20, 30), "f4-static-fp32") == pytest.approx(synthetic_ms((10, 12, 20, 30)), rel=1e-6)
    with pytest.raises(PredictError, match="no latency model for f2-static-fp32 on fake/a73/t1"):
        lut.predict((10, 12, 20, 30), "f2-static-fp32")
    with pytest.raises(ValueError):   # PredictError is a ValueError: callers may catch either
        lut.predict((1000, 12, 20, 30), "f4-static-fp32")


@pytest.mark.slow
def test_bench_lut_fits_reports_and_stores_the_models_of_a_measured_sweep(tmp_path):
    import os
    import re
    import subprocess
    import sys

    from bench.analysis.lut import load_lut

    def bench(*args):
        return subprocess.run([sys.executable, "-m", "bench", *map(str, args)], capture_output=True, text=True,
                              timeout=600, env={**os.environ})

    out = tmp_path / "r"
    run = bench("run", "--res", "4,6,8,10", "--cin", "8,12", "--cout", "8,16", "--algo", "f2", "--bits", "32",
                "--transform", "static", "--reps", "3", "--min-time-ms", "1", "--no-errors", "--out", out)
    assert run.returncode == 0, run.stderr
    done = bench("lut", out, "--out", out)
    assert done.returncode == 0, done.stderr
    line = next(l for l in done.stdout.splitlines() if l.strip().startswith("f2-static-fp32"))
    assert re.fullmatch(r"\s*f2-static-fp32\s+16\s+\d+\.\d%\s+\d+\.\d%", line), line
    lut = load_lut(out / "lut.json")
    assert lut.predictors["f2-static-fp32"]["range"] == {"h": [4, 10], "w": [4, 10], "cin": [8, 12], "cout": [8, 16]}
    assert lut.predict((7, 9, 10, 12), "f2-static-fp32") > 0
    with pytest.raises(PredictError, match="h 12 not in 4..10"):
        lut.predict((12, 9, 10, 12), "f2-static-fp32")


def synthetic_op_ms(algo, bits, layer):
    """synthetic_ms's core for any operator and filter: 20 GOP/s, 10 GB/s, 2 us per call."""
    x = features(algo, bits, layer, threshold=2.0 ** 21)
    coef = np.zeros(len(x))
    for s in range(3):
        coef[4 * s: 4 * s + 4] = [1 / 20e6, 1 / 10e6, 1 / 5e6, 1 / 4e6]
    coef[-1] = 0.002
    return float(x @ coef)


def test_one_im2row_model_covers_every_filter_measured_and_refuses_others():
    shapes = [(r, r, ci, co, k, s, k // 2) for r in (8, 15, 32) for ci, co in ((8, 16), (16, 16), (32, 16))
              for k, s in ((1, 1), (3, 1), (3, 2), (7, 2))]
    model = fit_model("im2row", 32, shapes, [synthetic_op_ms("im2row", 32, l) for l in shapes])
    assert model["cv_median_rel_err"] < 1e-6 and set(model["filters"]) == {"k1s1", "k3s1", "k3s2", "k7s2"}
    for flt in ((1, 1, 0), (3, 2, 1), (7, 2, 3)):
        want = synthetic_op_ms("im2row", 32, (20, 20, 12, 16, *flt))
        assert predict(model, 20, 20, 12, 16, *flt, what="t") == pytest.approx(want, rel=1e-6)
    with pytest.raises(PredictError, match=r"5x5 stride 1 was not measured \(measured: k1s1, k3s1, k3s2, k7s2"):
        predict(model, 20, 20, 12, 16, 5, 1, 2, what="t")
    # A model written before filters existed: its box, for 3x3 stride 1 only.
    old = {k: v for k, v in model.items() if k != "filters"}
    assert predict(old, 20, 20, 12, 16, what="t") > 0
    with pytest.raises(PredictError, match="k3s2 was not measured|3x3 stride 2 was not measured"):
        predict(old, 20, 20, 12, 16, 3, 2, 1, what="t")


@pytest.mark.parametrize("ops", [("im2row-fp32", "im2row", 32), ("f4-static-int8", "f4", 8)], ids=lambda o: o[0])
def test_after_a_grid_sweep_every_layer_of_the_resnet18_presets_is_predicted(ops):
    from bench.layers import grid, resnet18_cifar_full, resnet18_imagenet

    op, algo, bits = ops
    rows = [{"op": op, "algo": algo, "bits": bits, "h": l.h, "w": l.w, "cin": l.cin, "cout": l.cout, "kernel": l.k,
             "stride": l.stride, "pad": l.pad, "median_ms": synthetic_op_ms(algo, bits, (l.h, l.w, l.cin, l.cout, l.k, l.stride, l.pad))}
            for l in grid() if algo == "im2row" or l.winograd]
    lut = LUT("fake/a53/t1", {}, fit_table(rows))
    for net in (resnet18_cifar_full(0.5), resnet18_cifar_full(1.0), resnet18_imagenet()):
        for l in net.layers:
            if algo == "im2row" or l.winograd:
                want = synthetic_op_ms(algo, bits, (l.h, l.w, l.cin, l.cout, l.k, l.stride, l.pad))
                assert lut.predict(l, op) == pytest.approx(want, rel=1e-3), (net.name, l.shape)
