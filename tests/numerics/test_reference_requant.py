"""The int requantization form of the int8 scheme (bench.numerics.reference, step 8) beside the fp32
form: SQRDMULH's arithmetic, the multiplier's bounds, the stages' lane widths, the exact integer
pipeline it keeps, and its error against the fp32 form on the Gaussian layers of kernels_c/README.md."""

import numpy as np
import pytest

from bench.numerics import reference as ref
from bench.numerics.winograd import cook_toom
from bench.operators import REQUANTS


def test_sqrdmulh_rounds_half_up_at_both_lane_widths():
    """floor((2 x b + 2^(L-1)) / 2^L): x b / 2^(L-1) rounded half up, as NEON's SQRDMULH."""
    for lanes in (16, 32):
        half = 1 << (lanes - 2)        # b = 0.5 in Q(L-1)
        x = np.array([1, -1, 3, -3, 2, 0, 5])
        assert list(ref.sqrdmulh(x, half, lanes)) == [1, 0, 2, -1, 1, 0, 3]
    big = np.array([2**31 - 1, -(2**31) + 1])
    assert list(ref.sqrdmulh(big, 2**31 - 1, 32)) == [2**31 - 2, -(2**31) + 2]


@pytest.mark.parametrize("lanes", [16, 32])
def test_int_requantization_stays_within_127_and_uses_the_range(lanes):
    rng = np.random.default_rng(1)
    top = 2 ** (lanes - 1) - 1
    for amax in [1, 2, 126, 127, 128, 1000, top // 3, top]:
        T = rng.integers(-amax, amax + 1, 4000)
        T[0], T[1] = amax, -amax
        q, mult = ref.requantize_int(T, lanes, amax)
        assert np.abs(q.astype(int)).max() <= 127
        assert mult == ref.int_multiplier(amax, lanes) / 2 ** (lanes - 1)
        if amax >= 127:   # the multiplier is rounded down: the extreme lands on 126 or 127
            assert q[0] in (126, 127) and q[1] in (-126, -127)
        else:             # b caps at 2^(L-1) - 1: small values pass unscaled
            assert np.array_equal(q, T.astype(np.int8))


def test_int64_stages_shift_to_int32_first():
    T = np.array([3 << 40, -(3 << 40), 12345], np.int64)
    q, mult = ref.requantize_int(T, 64)
    shift = ref.shift_to_fit(3 << 40, ref.INT32_MAX)
    q32, mult32 = ref.requantize_int(ref.rshift(T, shift), 32, int(ref.rshift(3 << 40, shift)))
    assert np.array_equal(q, q32) and mult == mult32 * 2.0 ** -shift and list(q[:2]) == [127, -127]


def test_stage_lane_widths_follow_the_bounds():
    """V of F2/F4 in int16 (127 L1B^2 <= 32767), F6 in int32; Y of tensor F2 in int16, F4/F6 int32."""
    lanes = {m: (ref.v_lanes(ref.quantize_matrix(cook_toom(m).BT, ref.BT_AT_LIMIT)[0]),
                 ref.v_lanes(ref.quantize_matrix(cook_toom(m).AT, ref.BT_AT_LIMIT)[0])) for m in (2, 4, 6)}
    assert lanes == {2: (16, 16), 4: (16, 32), 6: (32, 32)}


@pytest.mark.parametrize("m", [2, 4, 6])
@pytest.mark.parametrize("scheme", ["tensor", "tap", "wide"])
def test_the_int_form_keeps_the_exact_pipeline(m, scheme):
    """Without requantization both forms are the same integer pipeline: V (and wide's V16, U16) are
    equal; the int form's tap/wide output is int32 where L1A^2 <= 512 (F2, F4), with Sq of 14 bits
    and wide's shift h, and F6 keeps the int64 output."""
    rng = np.random.default_rng(m)
    x, w = rng.standard_normal((1, 7, 9, 5)), rng.standard_normal((3, 3, 5, 4))
    a, b = (ref.winograd_int8_stages(x, w, cook_toom(m), scheme, requant=r) for r in ("fp32", "int"))
    assert a["requant"] == "fp32" and b["requant"] == "int"
    if scheme == "wide":
        assert np.array_equal(a["V16"], b["V16"]) and np.array_equal(a["U16"], b["U16"])
        assert (b["h"], b["s1"]) == ((4, 0) if m == 2 else (9, 0) if m == 4 else (0, a["s1"]))
    if scheme == "tap":
        assert b["k"] == (14 if m < 6 else 20) and a["k"] == 20
        assert np.array_equal(a["U8"], b["U8"])
    assert np.abs(b["y8"].astype(int)).max() <= 127


def test_the_default_form_is_int_and_reference_functions_take_it():
    assert REQUANTS[0] == "int"
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((1, 5, 6, 3)), rng.standard_normal((3, 3, 3, 2))
    assert np.array_equal(ref.conv2d_winograd_int8(x, w, cook_toom(4)),
                          ref.winograd_int8_stages(x, w, cook_toom(4), "tensor", requant="int")["y"])
    assert np.array_equal(ref.conv2d_im2row_int8(x, w)["y8"], ref.conv2d_im2row_int8(x, w, requant="int")["y8"])
    with pytest.raises(ValueError, match="requant 'rndnu' does not apply at 8 bits; accepted: int, fp32"):
        ref.conv2d_im2row_int8(x, w, requant="rndnu")


@pytest.mark.slow
@pytest.mark.parametrize("h,c", [(16, 64), (32, 32)])
def test_int_and_fp32_forms_agree_within_0p3_db_on_the_gaussian_layers(h, c):
    """The rule that makes the int form the default (kernels_c/README.md, "Integer
    requantization"): on the README's Gaussian layers its SQNR is within 0.3 dB of the fp32 form's
    for every scheme and tile size (the runner's data: x from seed 1, weights from seed 2)."""
    from bench.native.kernels import gaussian

    x, w = gaussian((1, h, h, c), 1), gaussian((3, 3, c, c), 2)
    direct = ref.conv2d_direct(x, w)
    sqnr = lambda y: ref.error_metrics(y, direct)["sqnr_db"]  # noqa: E731
    assert abs(sqnr(ref.conv2d_im2row_int8(x, w, requant="int")["y"]) - sqnr(ref.conv2d_im2row_int8(x, w, requant="fp32")["y"])) < 0.3
    for m in (2, 4, 6):
        for scheme in ("tensor", "tap", "wide"):
            got = [sqnr(ref.conv2d_winograd_int8(x, w, cook_toom(m), scheme, requant=r)) for r in ("int", "fp32")]
            assert abs(got[0] - got[1]) < 0.3, (m, scheme, got)
