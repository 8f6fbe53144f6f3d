"""The float64 references and the int8 scheme of bench.numerics.reference."""

import itertools
import time

import numpy as np
import pytest

from bench.numerics import reference as ref
from bench.numerics.winograd import BARABASZ_POINTS, cook_toom

SHAPES = [(7, 13, 3, 5), (1, 1, 3, 5), (2, 31, 4, 2), (5, 5, 17, 3)]


def _data(H, W, cin, cout, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((1, H, W, cin)), rng.standard_normal((3, 3, cin, cout))


def _naive_conv(x, w):
    """Seven nested loops, no numpy tricks: the reference of the reference."""
    _, H, W, cin = x.shape
    cout = w.shape[3]
    y = np.zeros((1, H, W, cout))
    for h, v, i, j, c, d in itertools.product(range(H), range(W), range(3), range(3), range(cin), range(cout)):
        hh, vv = h + i - 1, v + j - 1
        if 0 <= hh < H and 0 <= vv < W:
            y[0, h, v, d] += x[0, hh, vv, c] * w[i, j, c, d]
    return y


@pytest.mark.parametrize("shape", [(3, 4, 2, 3), (1, 1, 3, 2), (2, 5, 1, 1)])
def test_direct_and_im2row_equal_the_naive_loops(shape):
    x, w = _data(*shape)
    naive = _naive_conv(x, w)
    np.testing.assert_allclose(ref.conv2d_direct(x, w), naive, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ref.conv2d_im2row(x, w), naive, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("m", [2, 4, 6])
def test_winograd_equals_direct_within_1e9_relative(shape, m):
    x, w = _data(*shape)
    direct = ref.conv2d_direct(x, w)
    for t in [cook_toom(m)] + ([cook_toom(m, 3, BARABASZ_POINTS[(m, 3)])] if m > 2 else []):
        out = ref.conv2d_winograd(x, w, t)
        assert out.shape == direct.shape
        assert np.max(np.abs(out - direct)) <= 1e-9 * np.max(np.abs(direct))


def test_winograd_with_a_non_identity_transform_is_wrong():
    x, w = _data(7, 13, 3, 5)
    t = cook_toom(4)
    bad = type(t)(t.m, t.r, t.AT, t.G, t.BT + 0.01)
    assert ref.error_metrics(ref.conv2d_winograd(x, w, bad), ref.conv2d_direct(x, w))["rel_l2"] > 1e-3


def test_the_references_agree_on_a_resnet_layer():
    """A full ResNet-18 CIFAR layer (the size the harness's error figures use): every Winograd
    reference matches the direct one to float64 rounding, whatever the tile size."""
    x, w = _data(32, 32, 64, 64)
    start = time.perf_counter()
    direct = ref.conv2d_direct(x, w)
    for m in (2, 4, 6):
        assert ref.error_metrics(ref.conv2d_winograd(x, w, cook_toom(m)), direct)["rel_l2"] < 1e-9, m
    print(f"\n32x32x64->64: direct + 3 Winograd references in {time.perf_counter() - start:.3f} s")


def test_quantize_symmetric_rounds_half_away_and_never_uses_minus_128():
    q, s = ref.quantize_symmetric(np.array([-2.0, -0.5 * 2 / 127, 0.5 * 2 / 127, 1.5 * 2 / 127, 2.0]))
    assert s == 2.0 / 127
    assert q.tolist() == [-127, -1, 1, 2, 127]
    assert ref.quantize_symmetric(np.zeros(3))[1] == 1.0


def test_requantize_is_float32_round_half_even_and_saturates():
    T = np.array([0, 1, -1, 2, 3, -5, 254], dtype=np.int32)  # amax 254 -> mult 0.5 exactly
    q, mult = ref.requantize(T)
    assert mult == np.float32(0.5)
    assert q.tolist() == [0, 0, 0, 1, 2, -2, 127]  # 0.5 -> 0, 1.5 -> 2, -2.5 -> -2 (half to even)
    q, _ = ref.requantize(np.array([3, 0], dtype=np.int32), amax=2)
    assert q.tolist() == [127, 0]
    assert ref.requant_multiplier(0) == np.float32(1.0)


@pytest.mark.parametrize("m,kB,kA", [(2, 0, 0), (4, 0, 0), (6, 2, 5)])
def test_default_transforms_quantize_exactly(m, kB, kA):
    t = cook_toom(m)
    BTq, k1 = ref.quantize_matrix(t.BT, ref.BT_AT_LIMIT)
    ATq, k2 = ref.quantize_matrix(t.AT, ref.BT_AT_LIMIT)
    assert (k1, k2) == (kB, kA)
    np.testing.assert_array_equal(BTq, t.BT * 2.0 ** kB)
    np.testing.assert_array_equal(ATq, t.AT * 2.0 ** kA)
    for Tq in (BTq, ATq):  # the int32 bound of the scheme
        assert 127 * np.max(np.sum(np.abs(Tq), axis=1)) ** 2 < 2 ** 31


def test_non_dyadic_matrices_take_the_largest_scale_within_the_limit():
    Gq, k = ref.quantize_matrix(cook_toom(4).G, ref.G_LIMIT)
    assert np.max(np.sum(np.abs(Gq), axis=1)) <= ref.G_LIMIT
    assert np.max(np.sum(np.abs(ref.round_half_away(cook_toom(4).G * 2.0 ** (k + 1))), axis=1)) > ref.G_LIMIT


@pytest.mark.parametrize("shape", SHAPES)
def test_int8_im2row_accumulates_exactly(shape):
    x, w = _data(*shape)
    out = ref.conv2d_im2row_int8(x, w)
    acc = ref.conv2d_direct(out["xq"].astype(float), out["wq"].astype(float))  # small integers: exact
    expected, _ = ref.requantize(acc.astype(np.int64))
    np.testing.assert_array_equal(out["y8"], expected)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("m", [2, 4, 6])
def test_int8_winograd_stages_are_consistent(shape, m):
    x, w = _data(*shape)
    # the fp32 form scales every stage to the whole int8 range; the int form (step 8) multiplies by at
    # most 1, so it can leave small integers as they are (tests/numerics/test_reference_requant.py)
    s = ref.winograd_int8_stages(x, w, cook_toom(m), requant="fp32")
    for name in ("V8", "U8", "P8", "Y8", "y8"):
        assert s[name].dtype == np.int8 and np.max(np.abs(s[name].astype(int))) <= 127
    assert np.max(np.abs(s["y8"].astype(int))) == 127  # the output amax is over valid outputs
    assert s["y"].shape == (1,) + shape[:2] + (shape[3],)
    # Without the requantization steps the integer pipeline is exactly the direct conv of xq, wq.
    d = ref.input_tiles(s["xq"].astype(np.int64), m, 3)
    V = np.einsum("ij,hwjkc,lk->hwilc", s["BTq"], d, s["BTq"])
    U = np.einsum("ij,jkcd,lk->ilcd", s["Gq"], s["wq"].astype(np.int64), s["Gq"])
    Y = np.einsum("ij,hwjkd,lk->hwild", s["ATq"], np.einsum("hwijc,ijcd->hwijd", V, U), s["ATq"])
    exact = ref.conv2d_direct(s["xq"].astype(float), s["wq"].astype(float))
    scale = 2.0 ** (2 * (s["kB"] + s["kA"] + s["kG"]))
    if cook_toom(m).G.tolist() == (s["Gq"] / 2.0 ** s["kG"]).tolist():  # dyadic G: exact
        np.testing.assert_array_equal(ref.untile(Y, *shape[:2]) / scale, exact)
    else:
        np.testing.assert_allclose(ref.untile(Y, *shape[:2]) / scale, exact, rtol=1e-3, atol=1e-2 * np.max(np.abs(exact)))


def test_int8_error_grows_with_tile_size():
    """The known ordering on Gaussian data: F2 < F4 < F6 error (im2row best)."""
    x, w = _data(16, 16, 32, 32, seed=1)
    direct = ref.conv2d_direct(x, w)
    sqnr = {"im2row": ref.error_metrics(ref.conv2d_im2row_int8(x, w)["y"], direct)["sqnr_db"]}
    for m in (2, 4, 6):
        sqnr[f"f{m}"] = ref.error_metrics(ref.conv2d_winograd_int8(x, w, cook_toom(m)), direct)["sqnr_db"]
    print("\nint8 SQNR vs float64 direct, 16x16x32->32, Gaussian: "
          + ", ".join(f"{k} {v:.1f} dB" for k, v in sqnr.items()))
    assert sqnr["im2row"] > sqnr["f2"] > sqnr["f4"] > sqnr["f6"]
    assert sqnr["im2row"] > 30 and sqnr["f2"] > 20


def test_error_metrics():
    e = ref.error_metrics(np.array([1.0, 2.0, 2.0]), np.array([1.0, 2.0, 3.0]))
    assert e["max_abs"] == 1.0
    assert e["rel_l2"] == pytest.approx(1 / np.sqrt(14))
    assert e["sqnr_db"] == pytest.approx(10 * np.log10(14))
    assert ref.error_metrics(np.ones(2), np.ones(2))["sqnr_db"] == float("inf")
