"""im2row for every filter (k 1, 3, 5, 7, stride 1 and 2, any padding), fp32 and int8, against the
float64 numpy references: the host build (NEON through SIMDe) through the binding, and the
aarch64 build for cortex-a53 under qemu through the runner, which must give the host's bytes.

fp32 tolerance as tests/native/test_kernels_f32.py (K = k*k*Cin here); int8 is bit-exact against
bench.numerics.reference.conv2d_im2row_int8 (y8 of the NEON path and of the scalar calibration).
"""

import json
import shutil
import subprocess

import numpy as np
import pytest

from bench.native import build, kernels
from bench.numerics import reference as R

EPS32 = float(np.finfo(np.float32).eps)
# (H, W, Cin, Cout, k, stride, pad): odd sizes, a 3-channel stem, channel counts that are and are
# not whole K steps (the 1x1 direct path needs Cin % 4 == 0 for fp32, % 16 for int8), a filter as
# large as the input, padding 0 and k - 1, outputs of one pixel.
SHAPES = [(7, 13, 3, 5, 7, 2, 3), (9, 8, 3, 16, 3, 2, 1), (7, 13, 17, 5, 5, 1, 2), (5, 6, 1, 1, 5, 2, 0),
          (7, 7, 4, 9, 7, 1, 0), (7, 13, 16, 24, 1, 1, 0), (7, 13, 17, 5, 1, 1, 0), (8, 9, 32, 8, 1, 2, 0),
          (6, 5, 8, 12, 3, 1, 2), (3, 3, 5, 7, 3, 2, 0), (1, 1, 6, 3, 3, 1, 1), (11, 10, 20, 33, 3, 2, 1),
          (4, 4, 16, 5, 1, 1, 0)]


def data(h, w, cin, cout, k, seed=3):
    x = kernels.gaussian((1, h, w, cin), seed)
    wt = kernels.gaussian((k, k, cin, cout), seed + 1) * np.float32(1 / np.sqrt(k * k * cin))
    return x, wt


def ids(s):
    return "{}x{}x{}-{}_k{}s{}p{}".format(*s)


@pytest.mark.parametrize("shape", SHAPES, ids=ids)
def test_fp32_matches_reference(shape):
    h, w, cin, cout, k, stride, pad = shape
    x, wt = data(h, w, cin, cout, k)
    y = kernels.conv2d(x, wt, algo="im2row", stride=stride, pad=pad)
    ref = R.conv2d_direct(x, wt, stride, pad)
    assert y.shape == ref.shape == (1, R.out_size(h, k, stride, pad), R.out_size(w, k, stride, pad), cout)
    tol = 2.0 * EPS32 * np.sqrt(k * k * cin) * np.abs(ref).max()
    assert np.abs(y - ref).max() <= tol
    np.testing.assert_allclose(kernels.conv2d_direct_f64(x, wt, stride=stride, pad=pad), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=ids)
def test_int8_is_bit_exact_with_reference(shape):
    h, w, cin, cout, k, stride, pad = shape
    x, wt = data(h, w, cin, cout, k)
    got = kernels.conv2d_int8_stages(x, wt, algo="im2row", stride=stride, pad=pad)
    ref = R.conv2d_im2row_int8(x, wt, stride, pad)
    np.testing.assert_array_equal(got["y8"], ref["y8"])
    np.testing.assert_array_equal(got["y8_scalar"], ref["y8"])
    assert got["s_y"] == pytest.approx(ref["s_y"], rel=1e-15)
    err = kernels.conv2d_error(x, wt, algo="im2row", bits=8, stride=stride, pad=pad)
    assert err == pytest.approx(R.error_metrics(ref["y"], R.conv2d_direct(x, wt, stride, pad)), rel=1e-5)  # y in float32


def test_reference_im2row_equals_direct_and_torch_layout():
    x, wt = data(9, 8, 3, 4, 7)
    np.testing.assert_allclose(R.conv2d_im2row(x, wt, 2, 3), R.conv2d_direct(x, wt, 2, 3), rtol=1e-12, atol=1e-12)
    # one output pixel by hand: (oy, ox) = (1, 2), stride 2, pad 3 -> input rows 2*1-3 .. +6
    xp = np.pad(x[0].astype(np.float64), ((3, 3), (3, 3), (0, 0)))
    by_hand = np.einsum("ijc,ijcd->d", xp[2:9, 4:11], wt.astype(np.float64))
    np.testing.assert_allclose(R.conv2d_direct(x, wt, 2, 3)[0, 1, 2], by_hand, rtol=1e-12)


@pytest.mark.parametrize("bits", [32, 8])
def test_one_by_one_runs_without_the_copy(bits):
    """1x1 stride 1 on whole K steps: the GEMM reads x itself, the input stage does nothing."""
    x, wt = data(16, 16, 64, 32, 1)
    y, t = kernels.conv2d_timed(x, wt, kernels.ConvOp("im2row", bits), kernels.Timing(reps=3), pad=0)
    assert y.shape == (1, 16, 16, 32)
    _, padded = kernels.conv2d_timed(x[..., :60], wt[:, :, :60], kernels.ConvOp("im2row", bits),
                                     kernels.Timing(reps=3), pad=0)
    assert max(t.input_ms) < 0.01 <= 0.01 + min(padded.input_ms)   # nothing timed but the clock


def test_threads_give_identical_bytes():
    x, wt = data(13, 11, 20, 24, 5)
    for bits in (32, 8):
        one, _ = kernels.conv2d_timed(x, wt, kernels.ConvOp("im2row", bits), stride=2, pad=2)
        two, _ = kernels.conv2d_timed(x, wt, kernels.ConvOp("im2row", bits), kernels.Timing(threads=2), stride=2, pad=2)
        np.testing.assert_array_equal(one, two, err_msg=str(bits))


@pytest.mark.parametrize("algo", ["f2", "f4", "f6"])
def test_winograd_refuses_other_filters(algo):
    x, wt = data(8, 8, 4, 4, 3)
    with pytest.raises(ValueError, match="3x3 stride 1 padding 1 only"):
        kernels.conv2d(x, wt, algo=algo, stride=2)
    x5, w5 = data(8, 8, 4, 4, 5)
    with pytest.raises(ValueError, match="3x3 stride 1 padding 1 only"):
        kernels.conv2d(x5, w5, algo=algo, bits=8)


@pytest.mark.parametrize("kw,match", [({"stride": 3}, "stride"), ({"pad": 3}, "pad in 0..k-1"),
                                      ({"pad": -2}, "pad must be"), ({"pad": -1}, "pad must be")])
def test_bad_filters_are_refused(kw, match):
    x, wt = data(8, 8, 4, 4, 3)
    with pytest.raises(ValueError, match=match):
        kernels.conv2d(x, wt, algo="im2row", **kw)
    with pytest.raises(ValueError, match="k 1, 3, 5 or 7"):
        kernels.conv2d(x, kernels.gaussian((2, 2, 4, 4), 1), algo="im2row")
    with pytest.raises(ValueError, match="does not fit"):
        kernels.conv2d(x[:, :2, :2], data(2, 2, 4, 4, 7)[1], algo="im2row", pad=0)


# ---- the runner: host and the aarch64 build under qemu ----------------------------------------

QEMU = shutil.which("qemu-aarch64-static")
CROSS = shutil.which("aarch64-linux-gnu-gcc")
SEED = 5
RUNNER_SHAPES = [(7, 13, 3, 5, 7, 2, 3), (9, 8, 3, 16, 3, 2, 1), (7, 13, 17, 5, 5, 1, 2), (7, 13, 16, 24, 1, 1, 0),
                 (7, 13, 17, 5, 1, 1, 0), (8, 9, 32, 8, 1, 2, 0), (3, 3, 5, 7, 3, 2, 0)]


def run_runner(cmd):
    cases = "".join(f"algo=im2row bits={b} h={h} w={w} cin={ci} cout={co} k={k} stride={s} pad={p}\n"
                    for b in (32, 8) for h, w, ci, co, k, s, p in RUNNER_SHAPES)
    out = subprocess.run([*cmd, "--verify", "--seed", str(SEED), "--min-reps", "1", "--warmup", "0",
                          "--min-time-ms", "0"], input=cases, capture_output=True, text=True,
                         timeout=600, check=True)
    return [c for c in map(json.loads, out.stdout.splitlines()) if c["type"] == "case"]


def expected(bits, h, w, cin, cout, k, stride, pad):
    """(checksum, error) of the runner's case from the numpy references on the runner's data."""
    x = kernels.gaussian((1, h, w, cin), SEED)
    wt = kernels.gaussian((k, k, cin, cout), SEED + 1)
    direct = R.conv2d_direct(x, wt, stride, pad)
    if bits == 8:
        ref = R.conv2d_im2row_int8(x, wt, stride, pad)
        return kernels.checksum(ref["y8"].astype(np.float32) * np.float32(ref["s_y"])), R.error_metrics(ref["y"], direct)
    return None, None


@pytest.fixture(scope="module")
def host_cases():
    return run_runner([str(build.build_runner("host"))])


def test_host_runner_cases_echo_the_filter_and_match_the_references(host_cases):
    shapes = [(b, *s) for b in (32, 8) for s in RUNNER_SHAPES]
    assert [c["status"] for c in host_cases] == ["ok"] * len(shapes)
    for c, (bits, h, w, cin, cout, k, stride, pad) in zip(host_cases, shapes):
        assert (c["k"], c["stride"], c["pad"], c["bits"]) == (k, stride, pad, bits)
        checksum, err = expected(bits, h, w, cin, cout, k, stride, pad)
        if bits == 8:
            assert c["checksum"] == checksum, c
            assert c["error"]["sqnr_db"] == pytest.approx(err["sqnr_db"], abs=1e-4)
        else:
            assert c["error"]["sqnr_db"] > 110, c


def test_runner_default_filter_and_bad_filters():
    runner = str(build.build_runner("host"))
    out = subprocess.run([runner, "--min-reps", "1", "--warmup", "0", "--min-time-ms", "0"],
                         input="algo=f4 h=4 w=4 cin=2 cout=2\nalgo=f4 h=4 w=4 cin=2 cout=2 stride=2\n"
                               "algo=im2row h=4 w=4 cin=2 cout=2 k=4\nalgo=im2row h=2 w=2 cin=2 cout=2 k=7 pad=0\n",
                         capture_output=True, text=True, timeout=60, check=True)
    cases = [c for c in map(json.loads, out.stdout.splitlines()) if c["type"] == "case"]
    assert (cases[0]["k"], cases[0]["stride"], cases[0]["pad"]) == (3, 1, 1)
    assert [c["status"] for c in cases] == ["ok", "error", "error", "error"]
    assert {c["error_kind"] for c in cases[1:]} == {"bad_case"}


@pytest.mark.skipif(not (QEMU and CROSS), reason="needs qemu-user-static and gcc-aarch64-linux-gnu (make setup)")
@pytest.mark.slow   # the aarch64 build under qemu
def test_aarch64_a53_im2row_under_qemu_agrees_with_host(host_cases):
    arm = run_runner([QEMU, "-cpu", "cortex-a53", str(build.build_runner("aarch64", "cortex-a53"))])
    assert [c["checksum"] for c in arm] == [c["checksum"] for c in host_cases]
    assert [c["error"] for c in arm] == [c["error"] for c in host_cases]
