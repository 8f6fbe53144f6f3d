"""The int8 Winograd schemes tap and wide of bench.numerics.reference (docstring steps 6 and 7)."""

import numpy as np
import pytest

from bench.numerics import reference as ref
from bench.numerics.winograd import BARABASZ_POINTS, cook_toom

SHAPES = [(7, 13, 3, 5), (1, 1, 3, 5), (2, 31, 4, 2), (5, 5, 17, 3)]


def _data(H, W, cin, cout, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((1, H, W, cin)), rng.standard_normal((3, 3, cin, cout))


def _float_output(s, Z, scale):
    """AT Z AT^T in float64 from the integer Z of the Winograd domain and its real scale."""
    AT = s["ATq"] / 2.0 ** s["kA"]
    return np.einsum("ij,hwjkd,lk->hwild", AT, Z * scale, AT)


def test_rshift_rounds_half_up_like_srshr():
    v = np.array([-6, -5, -3, -2, 2, 3, 5, 6])
    np.testing.assert_array_equal(ref.rshift(v, 1), [-3, -2, -1, -1, 1, 2, 3, 3])
    np.testing.assert_array_equal(ref.rshift(v, 0), v)
    assert ref.shift_to_fit(457200, 32767) == 4 and ref.shift_to_fit(12700, 32767) == 0


def test_unknown_scheme_is_refused():
    x, w = _data(4, 4, 2, 2)
    with pytest.raises(ValueError, match="unknown int8 scheme 'per-channel'; accepted: tensor, tap, wide"):
        ref.winograd_int8_stages(x, w, cook_toom(2), "per-channel")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("m", [2, 4, 6])
def test_tap_integers_follow_their_scales(shape, m):
    """Y8 is within one output step of the float64 output transform of P8 at its per-position scales
    (the fp32 form's scales and range; the int form's: tests/numerics/test_reference_requant.py)."""
    x, w = _data(*shape)
    s = ref.winograd_int8_stages(x, w, cook_toom(m), "tap", requant="fp32")
    assert s["Sq"].max() == 2 ** ref.TAP_SCALE_BITS and s["Sq"].min() >= 1
    for name in ("V8", "U8", "P8"):
        assert np.max(np.abs(s[name].astype(int))) == 127  # each position uses the int8 range ...
    pos_amax = np.max(np.abs(s["P8"].astype(int)), axis=(0, 1, 4))
    assert np.all((pos_amax == 127) | (pos_amax == 0))   # ... at every position
    d = (s["mult"]["V"].astype(float) * s["mult"]["U"]) * s["mult"]["P"]
    s_P = s["scale"]["x"] * s["scale"]["w"] * 2.0 ** (-2 * s["kB"] - 2 * s["kG"]) / d
    Y = _float_output(s, s["P8"].astype(float), s_P[:, :, None])
    err = np.abs(ref.untile(Y, *shape[:2]) - s["y"])
    # F6: Sq's rounding and s1 = 8 bits shifted off the first pass of ATq (L1A = 2146)
    assert np.max(err) <= 0.51 * s["scale"]["Y"] + (1e-2 if m == 6 else 1e-3) * np.max(np.abs(Y))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("m", [2, 4, 6])
def test_wide_integers_follow_their_scales(shape, m):
    x, w = _data(*shape)
    s = ref.winograd_int8_stages(x, w, cook_toom(m), "wide")
    assert s["V16"].dtype == np.int16 and s["U16"].dtype == np.int16 and s["M"].dtype == np.int32
    V = np.einsum("ij,hwjkc,lk->hwilc", s["BTq"], ref.input_tiles(s["xq"].astype(np.int64), m, 3), s["BTq"])
    np.testing.assert_array_equal(s["V16"], ref.rshift(V, s["sV"]))
    M = np.einsum("hwijc,ijcd->hwijd", s["V16"].astype(np.int64), s["U16"].astype(np.int64))
    np.testing.assert_array_equal(s["M"], M)
    Y = _float_output(s, M / 2.0 ** s["e"][:, :, None], s["scale"]["M"])
    err = np.abs(ref.untile(Y, *shape[:2]) - s["y"])
    assert np.max(err) <= 0.51 * s["scale"]["Y"] + 1e-3 * np.max(np.abs(Y))


def _gaussian_layers():
    for H, C in ((16, 64), (32, 32)):
        rng = np.random.default_rng(H)
        x, w = rng.standard_normal((1, H, H, C)), rng.standard_normal((3, 3, C, C))
        yield x, w, ref.conv2d_direct(x, w)


@pytest.mark.slow
def test_scheme_accuracy_on_gaussian_layers():
    """The issue's targets where the scheme reaches them (tap F4 only with Barabasz points;
    tap F6 stays near 10.5 dB: see the README)."""
    floors = {("tap", 4, "default"): 15, ("tap", 4, "barabasz"): 19, ("tap", 6, "default"): 10,
              ("wide", 4, "default"): 30, ("wide", 4, "barabasz"): 30, ("wide", 6, "default"): 30,
              ("tensor", 2, "default"): 25, ("tap", 2, "default"): 25, ("wide", 2, "default"): 33}
    for x, w, direct in _gaussian_layers():
        for (scheme, m, pts), floor in floors.items():
            t = cook_toom(m, 3, BARABASZ_POINTS[(m, 3)] if pts == "barabasz" else None)
            sqnr = ref.error_metrics(ref.conv2d_winograd_int8(x, w, t, scheme), direct)["sqnr_db"]
            assert sqnr >= floor, (scheme, m, pts, x.shape, sqnr)


@pytest.mark.slow
def test_wide_cin_bound_f6():
    """Equal weights make every column of U as heavy as it can be (Lsum = Cin max|U|): Cin = B / 2
    is accepted and the int32 sums stay in range under the input that maximizes one position; one
    more channel is refused."""
    t = cook_toom(6)
    BTq, _ = ref.quantize_matrix(t.BT, ref.BT_AT_LIMIT)
    bound = ref.INT32_MAX // int(ref.rshift(127 * ref.max_row_l1(BTq) ** 2, 4)) // 2
    assert bound == 37576
    i = int(np.argmax(np.sum(np.abs(BTq), axis=1)))
    tile = 127.0 * np.outer(np.sign(BTq[i]), np.sign(BTq[i]))  # maximizes V at position (i, i)
    x = np.zeros((1, 6, 6, bound))
    x[0, :, :, :] = tile[1:7, 1:7, None]  # the tile's interior; the padding ring is zero
    s = ref.winograd_int8_stages(x, np.ones((3, 3, bound, 1)), t, "wide")
    assert np.max(np.abs(s["M"].astype(np.int64))) <= ref.INT32_MAX
    with pytest.raises(ValueError, match="cin=37577 is past the int32 bound"):
        ref.winograd_int8_stages(x[..., :1].repeat(bound + 1, axis=3), np.ones((3, 3, bound + 1, 1)), t, "wide")
