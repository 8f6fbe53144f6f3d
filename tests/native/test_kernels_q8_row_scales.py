"""Row scales in C (bench/numerics/reference.py step 9): the int8 wide scheme, in both requantization
forms, with inexact BT and AT quantized per row, against the reference bit for bit on the host build
(every stage the plan exposes: V16, U16, e, M after its shift, y8 of the NEON and of the scalar
path, the multipliers and the output scale) and on the cortex-a53 build under qemu; one scale per
matrix on request (wb_q8_spec.one_scale); exact matrices unchanged by default."""

from __future__ import annotations

import numpy as np
import pytest

from bench.native import kernels
from bench.numerics import reference as R
from bench.numerics.winograd import Transform, cook_toom
from bench.operators import REQUANTS

from tests.native.test_kernels_q8_schemes import data, needs_qemu, run_driver
from tests.numerics.test_row_scales import learned

SHAPES = [(9, 13, 17, 5), (10, 10, 17, 8), (16, 16, 8, 8)]


def assert_wide_equal(got, ref):
    def same(name, a, b):
        bad = np.argwhere(np.asarray(a) != np.asarray(b))
        assert not len(bad), f"{name}: {len(bad)} differ, first at {bad[0].tolist()}"

    for name in ("y8", "V16", "U16", "e"):
        same(name, got[name], ref[name])
    same("scalar y8", got["y8_scalar"], ref["y8"])
    xv = ref["dB"][:, None] + ref["dB"][None, :] if "dB" in ref else 0
    same("M", got["M"], R.rshift(ref["M"], (ref["e"] + xv)[:, :, None] + ref["h"]))
    assert (got["kB"], got["kG"], got["kA"], got["s1"], got["sV"], got["QU"]) == \
        (ref["kB"], ref["kG"], ref["kA"], ref["s1"], ref["sV"], ref["QU"])
    assert got["mult"]["U"] == ref["mult"]["U"] and got["mult"]["Y"] == ref["mult"]["Y"]
    assert got["s_y"] == ref["scale"]["Y"]


@pytest.mark.parametrize("requant", REQUANTS)
@pytest.mark.parametrize("origin", ["top-left", "symmetric"])
@pytest.mark.parametrize("noise", [0.01, 0.05])
@pytest.mark.parametrize("m", [4, 6])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_wide_row_scales_match_reference(shape, m, noise, origin, requant):
    t = learned(m, noise)
    x, w = data(*shape, seed=m)
    ref = R.winograd_int8_stages(x, w, t, "wide", origin, requant=requant)
    assert ref["dB"].any() and ref["dA"].any()   # the rows do take scales of their own
    got = kernels.conv2d_int8_stages(x, w, algo=f"f{m}", transform=t, scheme="wide", requant=requant, origin=origin)
    assert_wide_equal(got, ref)
    if requant == "int":
        assert got["int"]["out32"] == 0 and got["int"]["shift_Y"] >= 0


def tiny_rows(scale: float) -> Transform:
    """Learned F6 with two rows of BT `scale` times smaller: their row exponents run far past the
    others (17 more for 1e-5), so the GEMM's shift e[p] + xV[p] passes 32 bits."""
    t = learned(6, 0.05)
    bt = t.BT.copy()
    bt[3:5] *= scale
    return Transform(6, 3, t.AT, t.G, bt)


@pytest.mark.parametrize("requant", REQUANTS)
def test_wide_row_scales_with_shifts_past_32_bits(requant):
    t = tiny_rows(1e-5)
    x, w = data(9, 13, 17, 5, seed=3)
    ref = R.winograd_int8_stages(x, w, t, "wide", requant=requant)
    assert (ref["e"] + ref["dB"][:, None] + ref["dB"][None, :]).max() > 32
    assert_wide_equal(kernels.conv2d_int8_stages(x, w, algo="f6", transform=t, scheme="wide", requant=requant), ref)


@pytest.mark.parametrize("requant", REQUANTS)
@pytest.mark.parametrize("m", [4, 6])
def test_one_scale_on_request_matches_reference(m, requant):
    t = learned(m, 0.05)
    x, w = data(9, 13, 17, 5, seed=1)
    ref = R.winograd_int8_stages(x, w, t, "wide", requant=requant, row_scales=False)
    got = kernels.conv2d_int8_stages(x, w, algo=f"f{m}", transform=t, scheme="wide", requant=requant,
                                     row_scales=False)
    assert_wide_equal(got, ref)
    rows = kernels.conv2d_int8_stages(x, w, algo=f"f{m}", transform=t, scheme="wide", requant=requant)
    assert not np.array_equal(rows["y8"], got["y8"])


@pytest.mark.parametrize("requant", REQUANTS)
@pytest.mark.parametrize("transform", ["static", "learned"])
@pytest.mark.parametrize("m", [2, 4, 6])
def test_exact_matrices_default_output_unchanged(m, transform, requant):
    """Cook-Toom matrices are exact with one scale: the default (row scales where the kernels take
    them) computes exactly what one scale per matrix does, in C and in the reference."""
    x, w = data(9, 13, 17, 5, seed=2)
    t = cook_toom(m) if transform == "learned" else "static"
    default = kernels.conv2d_int8_stages(x, w, algo=f"f{m}", transform=t, scheme="wide", requant=requant)
    one = kernels.conv2d_int8_stages(x, w, algo=f"f{m}", transform=t, scheme="wide", requant=requant,
                                     row_scales=False)
    ref = R.winograd_int8_stages(x, w, cook_toom(m), "wide", requant=requant, row_scales=False)
    for got in (default, one):
        assert np.array_equal(got["y8"], ref["y8"]) and got["s_y"] == ref["scale"]["Y"]
        assert np.array_equal(got["M"], R.rshift(ref["M"], ref["e"][:, :, None] + ref["h"]))


@pytest.mark.parametrize("scheme,requant", [("tap", "int"), ("tap", "fp32"), ("tensor", "fp32")])
def test_row_scales_refused_where_the_kernels_have_none(scheme, requant):
    x, w = data(4, 4, 3, 2)
    with pytest.raises(ValueError, match="row scales"):
        kernels.conv2d_int8_stages(x, w, algo="f4", transform=learned(4, 0.05), scheme=scheme, requant=requant,
                                   row_scales=True)


@needs_qemu
@pytest.mark.slow
@pytest.mark.parametrize("requant", REQUANTS)
@pytest.mark.parametrize("m", [4, 6])
def test_aarch64_wide_row_scales_under_qemu(aarch64_driver, tmp_path, m, requant):
    """The `rows` output kernels of the cortex-a53 build (fp32: register-resident; int: the int64
    tile-buffer template), NEON and scalar path."""
    t = learned(m, 0.05) if m == 4 else tiny_rows(1e-5)   # F6: GEMM shifts past 32 bits
    x, w = data(9, 13, 17, 5, seed=m)
    out = run_driver(aarch64_driver, tmp_path, x, w, m, "wide", t, requant)
    ref = R.winograd_int8_stages(x, w, t, "wide", requant=requant)
    assert ref["dA"].any()
    assert np.array_equal(out[0], ref["y8"]) and np.array_equal(out[1], ref["y8"])
