"""One power-of-two scale per row of the integer transform matrices (bench.numerics.reference
step 8, the reference only): every row within the scheme's L1 bound, the row scales folded back
exactly (an exact matrix keeps its one scale, so the default matrices compute as before), and the
ceiling a learned F6 meets lifted."""

from __future__ import annotations

import numpy as np
import pytest

from bench.numerics import reference as R
from bench.numerics.matrix_quant import BT_AT_LIMIT, quantize_matrix, quantize_matrix_rows
from bench.numerics.winograd import Transform, cook_toom


def learned(m: int, noise: float, seed: int = 0) -> Transform:
    t, rng = cook_toom(m), np.random.default_rng(seed)
    return Transform(m, 3, *(a * (1 + noise * rng.standard_normal(a.shape)) for a in (t.AT, t.G, t.BT)))


def test_each_row_takes_its_own_scale_within_the_bound():
    T = np.array([[0.013, -0.021, 0.007], [3.3, -1.7, 0.9], [0.0, 0.0, 0.0]])
    Tq, k, d = quantize_matrix_rows(T, BT_AT_LIMIT)
    assert k == quantize_matrix(T[1:2], BT_AT_LIMIT)[1] and d[1] == 0 and d[0] > 0 and d[2] == d.max()
    assert np.all(np.sum(np.abs(Tq), axis=1) <= BT_AT_LIMIT)
    back = Tq / np.ldexp(1.0, k + d)[:, None]
    one = quantize_matrix(T, BT_AT_LIMIT)
    assert np.abs(back - T)[0].max() < np.abs(one[0] / 2.0 ** one[1] - T)[0].max() / 100


@pytest.mark.parametrize("scheme", ["tensor", "tap", "wide"])
def test_exact_matrices_compute_as_with_one_scale(scheme):
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((1, 9, 11, 5)), rng.standard_normal((3, 3, 5, 4))
    t = cook_toom(2)   # dyadic: every matrix exact with one scale
    a = R.winograd_int8_stages(x, w, t, scheme, requant="fp32")
    b = R.winograd_int8_stages(x, w, t, scheme, requant="fp32", row_scales=True)
    assert np.array_equal(a["y8"], b["y8"]) and a["scale"]["Y"] == b["scale"]["Y"]
    assert not (b["dB"].any() or b["dA"].any())


@pytest.mark.parametrize("scheme", ["tensor", "tap", "wide"])
def test_row_scales_fold_back_into_the_requantization(scheme):
    """With inexact matrices the rows take different scales; the output stays the same convolution
    (within the scheme's own error) and, for wide, where the matrices bound it, comes closer."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 12, 12, 16)), rng.standard_normal((3, 3, 16, 16))
    t = learned(6, 0.05)
    same = R.conv2d_winograd(x, w, t)
    st = R.winograd_int8_stages(x, w, t, scheme, requant="fp32", row_scales=True)
    assert st["dB"].any() and st["dA"].any()
    one = R.error_metrics(R.conv2d_winograd_int8(x, w, t, scheme, requant="fp32", row_scales=False), same)["sqnr_db"]
    rows = R.error_metrics(st["y"], same)["sqnr_db"]
    assert rows > one - 1.0
    if scheme == "wide":
        assert rows > one + 3.0


def test_default_rule_is_the_kernels():
    """Row scales by default where the C kernels take them (wide, both forms), nowhere else."""
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((1, 8, 8, 4)), rng.standard_normal((3, 3, 4, 3))
    t = learned(4, 0.05)
    for requant in ("int", "fp32"):
        assert R.winograd_int8_stages(x, w, t, "wide", requant=requant)["dA"].any()
        assert "dA" not in R.winograd_int8_stages(x, w, t, "tap", requant=requant)
    with pytest.raises(ValueError, match="accepted: wide, or requant fp32"):
        R.winograd_int8_stages(x, w, t, "tap", requant="int", row_scales=True)


@pytest.mark.parametrize("m", [4, 6])
def test_int_form_row_scales_stay_in_int32_and_lift_wide(m):
    """Step 9's int form: one rounding shift R + xA[p] per output position keeps every value within
    rshift(amax, R) < 2^31 (so |q| <= 127 before the clamp) and lifts wide as the fp32 form does."""
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((1, 12, 12, 16)), rng.standard_normal((3, 3, 16, 16))
    t = learned(m, 0.05)
    same = R.conv2d_winograd(x, w, t)
    q = R._quantized_inputs(x, w, t, rows="BA")
    q["requant"] = "int"
    st = R._wide_stages(q)
    Y, _ = R.output_transform(R.rshift(st["M"].astype(np.int64), (st["e"] + q["xV"])[:, :, None]), q["ATq"], R.INT32_MAX)
    xa = R.positions(q["xA"], 5)
    amax = int(np.max(np.abs(R.untile(R.rshift(Y, xa), q["H"], q["W"], q["offset"]))))
    R_ = R.shift_to_fit(amax, R.INT32_MAX)
    valid = R.untile(R.rshift(Y, R_ + xa), q["H"], q["W"], q["offset"])
    assert np.max(np.abs(valid)) <= R.rshift(amax, R_) <= R.INT32_MAX
    b = R.int_multiplier(int(R.rshift(amax, R_)), 32)
    assert np.max(np.abs(R.sqrdmulh(valid, b, 32))) <= 127
    one = R.error_metrics(R.conv2d_winograd_int8(x, w, t, "wide", requant="int", row_scales=False), same)["sqnr_db"]
    rows = R.error_metrics(R.conv2d_winograd_int8(x, w, t, "wide", requant="int"), same)["sqnr_db"]
    assert rows > one + (3.0 if m == 6 else -0.5)
