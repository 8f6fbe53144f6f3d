"""Error figures of a layer with its trained weights (a network file's `weights`, as `bench
transforms import --weights` writes them): computed on those weights, int8 at the trained input
range's scale, against both the float64 direct convolution and the float64 Winograd convolution with
the same matrices and tile origin, with the data named in `error_data`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.cli.main import main
from bench.layers import Layer, load_layers
from bench.measure.accuracy import ERROR_INPUT_SIGMAS, case_errors, error_data
from bench.measure.cases import Case, check_weights
from bench.native import kernels
from bench.numerics.reference import conv2d_direct, conv2d_winograd, error_metrics
from bench.numerics.trained import load_weights
from bench.numerics.winograd import load_transform
from tests.support import FIXTURES


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The committed tiny checkpoint imported with its weights: (network file, its layers)."""
    out = tmp_path_factory.mktemp("imported")
    assert main(["transforms", "import", str(FIXTURES / "checkpoints" / "flex_tiny.npz"), "--out", str(out),
                 "--weights", "--input-size", "16"]) == 0
    return out / "network.json", {l.name: l for l in load_layers(out / "network.json")}


def test_a_trained_layer_is_measured_on_its_weights_and_input_range(imported):
    _, layers = imported
    layer = layers["layer1.0.conv1"]
    weights, ranges = load_weights(layer.weights)
    d = error_data(Case(layer, "f4", layer.transform, 32), 16, 16)
    assert np.array_equal(d.weights, weights) and d.label == "trained+range:layer1.0.conv1"
    amax = max(abs(v) for v in ranges["input"])
    assert d.input_scale == pytest.approx(amax / 127)
    gauss = kernels.gaussian((1, 16, 16, layer.cin), 1)
    assert np.array_equal(d.x, gauss * np.float32(amax / ERROR_INPUT_SIGMAS))
    plain = error_data(Case(Layer(16, 16, layer.cin, layer.cout), "f4", "static", 32), 16, 16)
    assert plain.label == "gaussian" and plain.input_scale is None


def test_an_inexact_trained_transform_is_reported_against_both_references(imported):
    """fp32: the learned F4 is near-exact against its own matrices, far from the direct convolution;
    int8 reports both the per-input best case and the trained-range deployment against both."""
    _, layers = imported
    layer = layers["layer1.0.conv1"]
    e32 = case_errors(Case(layer, "f4", layer.transform, 32))
    d = error_data(Case(layer, "f4", layer.transform, 32), 16, 16)
    same = conv2d_winograd(d.x, d.weights, load_transform(layer.transform), "symmetric")
    assert e32["sqnr_same_db"] > 100 > 30 > e32["sqnr_db"]
    assert e32["rel_l2"] == pytest.approx(error_metrics(same, conv2d_direct(d.x, d.weights))["rel_l2"], rel=1e-4)
    e8 = case_errors(Case(layer, "f4", layer.transform, 8, "wide"))
    assert {"sqnr_db", "sqnr_same_db", "sqnr_cal_db", "sqnr_cal_same_db"} <= set(e8)
    assert e8["sqnr_same_db"] > e8["sqnr_db"] and e8["error_data"] == "trained+range:layer1.0.conv1"
    deployed = kernels.conv2d_int8_at_scale(d.x, d.weights, d.x_cal, d.input_scale,
                                           kernels.ConvOp("f4", 8, layer.transform, "wide"))
    assert e8["sqnr_cal_same_db"] == error_metrics(deployed, same)["sqnr_db"]
    im2row = case_errors(Case(layer, "im2row", "none", 8))
    assert "sqnr_same_db" not in im2row and np.isfinite(im2row["sqnr_cal_db"])


def test_the_input_scale_is_the_given_one_and_values_past_it_clip():
    x = kernels.gaussian((1, 6, 6, 4), 1)
    w = kernels.gaussian((3, 3, 4, 4), 2)
    op = kernels.ConvOp("im2row", 8)
    wide = kernels.conv2d_int8_at_scale(x, w, x, float(np.abs(x).max()) / 127, op)
    assert wide == pytest.approx(kernels.conv2d_int8_calibrated(x, w, x, algo="im2row"), abs=1e-12)
    clipped = kernels.conv2d_int8_at_scale(x, w, x, 0.5 / 127, op)
    assert error_metrics(clipped, conv2d_direct(np.clip(x, -0.5, 0.5), w))["sqnr_db"] > 25
    with pytest.raises(ValueError, match="input scale must be positive"):
        kernels.conv2d_int8_at_scale(x, w, x, 0.0, op)


def test_a_weight_file_not_of_its_layer_is_refused_before_measuring(imported, tmp_path, capsys):
    net, layers = imported
    doc = json.loads(net.read_text())
    doc["layers"][0]["weights"] = str(layers["layer2.0.conv1"].weights)   # 8 -> 16 weights on an 8 -> 8 layer
    crossed = net.parent / "crossed.json"   # beside the imported files: its paths are relative
    crossed.write_text(json.dumps(doc))
    assert main(["run", "--layers", str(crossed), "--accept-inexact", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "layer 'layer1.0.conv1'" in err and "shape (3, 3, 8, 16)" in err and "(3, 3, 8, 8)" in err
    assert not (tmp_path / "r").exists()
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(Exception, match="not a weight file"):
        check_weights([Layer(8, 8, 8, 8, name="l", weights=str(tmp_path / "bad.npz"))])
