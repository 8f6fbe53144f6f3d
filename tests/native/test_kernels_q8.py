"""int8 kernels (kernels_c/src/q8-*) against bench.numerics.reference's int8 scheme, bit for bit.

Through the cffi binding (host build, NEON via SIMDe): the timed NEON path, the scalar calibration
path and the Winograd intermediates V8, U8, P8 must equal the reference's on awkward shapes, the
dequantized float output must be float32(y8) * float32(scale), learned fed the default matrices
must equal static, and learned fed Barabasz's points must equal the reference for that transform.
Through the runner and a small driver: the aarch64 build under `qemu-aarch64-static -cpu
cortex-a53` (ARMv8.0: SDOT would raise SIGILL) gives the same bytes as the host build and the
reference, including Cin=512 at the int8 limits, where any int16 accumulation of more than two
products would overflow."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from bench.native import build

from bench.native import kernels

from bench.numerics import reference as R
from bench.numerics.winograd import BARABASZ_POINTS, Transform, cook_toom, learned_stand_in
from bench.operators import REQUANTS

SHAPES = [  # (h, w, cin, cout)
    (1, 1, 3, 5),
    (7, 13, 3, 5),
    (2, 31, 17, 5),
    (7, 13, 17, 8),
    (5, 6, 33, 19),
]
WINO = [("f2", 2), ("f4", 4), ("f6", 6)]


def data(h, w, cin, cout, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((1, h, w, cin)).astype(np.float32),
            rng.standard_normal((3, 3, cin, cout)).astype(np.float32))


def describe(case, got, ref):
    bad = np.argwhere(got != ref)
    return f"{case}: {len(bad)} of {ref.size} differ, first at {bad[0].tolist() if len(bad) else None}"


def assert_stages_equal(case, got, ref):
    for name in ("y8", "V8", "U8", "P8"):
        assert np.array_equal(got[name], ref[name]), describe(f"{case} {name}", got[name], ref[name])
    assert np.array_equal(got["y8_scalar"], ref["y8"]), describe(f"{case} scalar y8", got["y8_scalar"], ref["y8"])
    assert (got["kB"], got["kG"], got["kA"]) == (ref["kB"], ref["kG"], ref["kA"]), case
    for k in "VUPY":
        assert got["mult"][k] == ref["mult"][k], (case, k)


@pytest.mark.parametrize("requant", REQUANTS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_im2row_matches_reference(shape, requant):
    x, w = data(*shape)
    got, ref = kernels.conv2d_int8_stages(x, w, algo="im2row", requant=requant), R.conv2d_im2row_int8(x, w, requant=requant)
    assert np.array_equal(got["y8"], ref["y8"]), describe(f"im2row {shape}", got["y8"], ref["y8"])
    assert np.array_equal(got["y8_scalar"], ref["y8"])
    assert got["s_y"] == ref["s_y"]


@pytest.mark.parametrize("requant", REQUANTS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("algo,m", WINO)
@pytest.mark.parametrize("transform", ["static", "learned"])
def test_winograd_matches_reference_stage_by_stage(shape, algo, m, transform, requant):
    x, w = data(*shape)
    got = kernels.conv2d_int8_stages(x, w, algo=algo, transform=transform, requant=requant)
    t = cook_toom(m) if transform == "static" else learned_stand_in(m)
    ref = R.winograd_int8_stages(x, w, t, "tensor", requant=requant)
    assert_stages_equal(f"{algo} {transform} {shape} {requant}", got, ref)
    assert got["s_y"] == ref["scale"]["Y"]


@pytest.mark.parametrize("algo,m", WINO)
@pytest.mark.parametrize("scale", [1e-3, 0.0], ids=["tiny", "zero"])
def test_int_form_of_small_and_zero_data(algo, m, scale):
    """Data whose stage maxima are below 127 (the int form's b then caps at 2^(L-1) - 1: values pass
    unscaled) or zero; F6's static output then takes its dense twin (b 32 would not fit int32)."""
    x, w = data(7, 13, 17, 8, seed=9)
    x = np.where(np.arange(x.size).reshape(x.shape) % 97 == 0, x * scale, 0).astype(np.float32)
    for transform in ("static", "learned"):
        got = kernels.conv2d_int8_stages(x, w, algo=algo, transform=transform)
        t = cook_toom(m) if transform == "static" else learned_stand_in(m)
        assert_stages_equal(f"{algo} {transform} {scale}", got, R.winograd_int8_stages(x, w, t))


@pytest.mark.parametrize("algo,m", WINO)
def test_fused_run_matches_reference_on_one_and_two_threads(algo, m):
    """(101, 90, 5, 3) is above the fused run's threshold (wb_wino_block_tiles): V8 + P8 do not fit
    in a 512 KiB L2, so the NEON run goes block by block of tiles, the last block partial. y8 is
    that run's; V8 and P8 are then the calibration pass's (the run keeps its own per block)."""
    x, w = data(101, 90, 5, 3, seed=5)
    got = kernels.conv2d_int8_stages(x, w, algo=algo)
    assert_stages_equal(f"{algo} fused", got, R.winograd_int8_stages(x, w, cook_toom(m)))
    one, _ = kernels.conv2d_timed(x, w, kernels.ConvOp(algo=algo, bits=8), kernels.Timing(warmup=0))
    two, _ = kernels.conv2d_timed(x, w, kernels.ConvOp(algo=algo, bits=8), kernels.Timing(threads=2, reps=2, warmup=0))
    assert np.array_equal(one, two)


@pytest.mark.parametrize("algo", ["im2row", "f2", "f4", "f6"])
def test_float_output_is_the_dequantized_reference(algo):
    """conv2d(bits=8) goes through the kernel registry like the runner: y = f32(y8) * f32(s_y)."""
    x, w = data(7, 13, 17, 5, seed=3)
    y = kernels.conv2d(x, w, algo=algo, bits=8)
    ref = R.conv2d_im2row_int8(x, w) if algo == "im2row" else R.winograd_int8_stages(x, w, cook_toom(kernels.TILE[algo]))
    s_y = ref["s_y"] if algo == "im2row" else ref["scale"]["Y"]
    assert np.array_equal(y, ref["y8"].astype(np.float32) * np.float32(s_y))


@pytest.mark.parametrize("algo", ["im2row", "f4", "f6"])
@pytest.mark.parametrize("shape", [(13, 11, 24, 12), (3, 5, 70, 37)], ids=["rows", "few-pixels"])
def test_threads_give_the_same_bytes(algo, shape):
    """(3, 5, 70, 37): fewer pixels than channels, so int8 im2row splits the channels."""
    x, w = data(*shape, seed=8)
    one, _ = kernels.conv2d_timed(x, w, kernels.ConvOp(algo=algo, bits=8))
    two, times = kernels.conv2d_timed(x, w, kernels.ConvOp(algo=algo, bits=8), kernels.Timing(threads=2, reps=2))
    assert np.array_equal(one, two) and times.kernel.startswith("wb_q8_conv_")


@pytest.mark.parametrize("algo,m", WINO)
def test_learned_fed_defaults_equals_static(algo, m):
    x, w = data(8, 9, 20, 12, seed=4)
    st = kernels.conv2d_int8_stages(x, w, algo=algo, transform="static")
    le = kernels.conv2d_int8_stages(x, w, algo=algo, transform=cook_toom(m))
    for name in ("y8", "V8", "U8", "P8"):
        assert np.array_equal(st[name], le[name]), name


@pytest.mark.parametrize("m", [4, 6])
def test_learned_barabasz_points_match_reference(m):
    t = cook_toom(m, 3, BARABASZ_POINTS[(m, 3)])
    x, w = data(7, 13, 17, 5, seed=5)
    got = kernels.conv2d_int8_stages(x, w, algo=f"f{m}", transform=t)
    assert_stages_equal(f"barabasz f{m}", got, R.winograd_int8_stages(x, w, t))


def limits_data(cin=512, cout=6, h=4, w=5):
    """Inputs at +127 everywhere (one -127 so amax stays 127) and weights +-127 per output channel:
    every im2row accumulator sums 9 * 512 products of 127 * 127 (74 million: int32 fits, any
    int16 partial sum of more than two products would not)."""
    x = np.ones((1, h, w, cin), np.float32)
    x[0, 0, 0, 0] = -1
    wt = np.ones((3, 3, cin, cout), np.float32)
    wt[..., 1::2] = -1
    return x, wt


@pytest.mark.parametrize("requant", REQUANTS)
@pytest.mark.parametrize("algo", ["im2row", "f2", "f4", "f6"])
def test_cin512_at_int8_limits(algo, requant):
    x, w = limits_data()
    got = kernels.conv2d_int8_stages(x, w, algo=algo, requant=requant)
    assert np.abs(got["xq"]).max() == 127 and np.abs(got["wq"]).min() == 127
    if algo == "im2row":
        ref = R.conv2d_im2row_int8(x, w, requant=requant)
        assert np.array_equal(got["y8"], ref["y8"])
    else:
        ref = R.winograd_int8_stages(x, w, cook_toom(kernels.TILE[algo]), requant=requant)
        assert_stages_equal(f"{algo} limits", got, ref)
    top = np.abs(got["y8"].astype(int)).max()
    # the fp32 form scales the output to the whole int8 range; the int form multiplies by at most 1
    # (SQRDMULH), so an output whose integers already fit int8 (F4 here: |Y| <= 97) keeps them as they are
    assert top == 127 or (requant == "int" and algo == "f4" and top == 97), top


def test_error_figures_beside_the_output():
    x, w = data(8, 8, 16, 16, seed=6)
    e8 = kernels.conv2d_error(x, w, algo="im2row", bits=8)
    e32 = kernels.conv2d_error(x, w, algo="im2row", bits=32)
    assert set(e8) == {"sqnr_db", "max_abs", "rel_l2"}
    assert 25 < e8["sqnr_db"] < e32["sqnr_db"]
    ref = R.error_metrics(R.conv2d_im2row_int8(x, w)["y"], R.conv2d_direct(x, w))
    assert e8["sqnr_db"] == pytest.approx(ref["sqnr_db"], abs=1e-3)


def test_bad_learned_matrices_are_refused():
    t = cook_toom(4)
    big = type(t)(t.m, t.r, t.AT, t.G, t.BT * 5000.0)  # a BT row L1 above 4096 even at k = 0
    x, w = data(4, 4, 3, 5)
    with pytest.raises(ValueError, match="BT"):
        kernels.conv2d_int8_stages(x, w, algo="f4", transform=big)


# ---- the runner and the aarch64 build -----------------------------------------------------------

QEMU = shutil.which("qemu-aarch64-static")
CROSS = shutil.which("aarch64-linux-gnu-gcc")
needs_qemu = pytest.mark.skipif(not (QEMU and CROSS), reason="needs qemu-user-static and gcc-aarch64-linux-gnu (make setup)")

RUNNER_CASES = [  # small: qemu is slow
    ("im2row", "static", 1, 1, 3, 5),
    ("im2row", "static", 7, 13, 17, 5),
    ("f2", "static", 7, 13, 3, 5),
    ("f2", "learned", 2, 31, 17, 5),
    ("f4", "static", 7, 13, 17, 5),
    ("f4", "learned", 1, 1, 3, 5),
    ("f6", "static", 2, 31, 17, 8),
    ("f6", "learned", 7, 13, 3, 5),
    ("f4", "static", 101, 90, 5, 3),  # fused: block by block of tiles (wb_wino_block_tiles)
    ("f6", "learned", 101, 90, 5, 3),
]
RUNNER_CASES = [(*c, rq) for rq in REQUANTS for c in RUNNER_CASES]  # the default int form, then fp32
SEED = 7


def run_runner(cmd, tmp_path, extra=()):
    cases = tmp_path / "cases.txt"
    cases.write_text("".join(f"algo={a} transform={t} bits=8 h={h} w={w} cin={ci} cout={co}"
                             + (f" requant={rq}" if rq != REQUANTS[0] else "") + "\n"
                             for a, t, h, w, ci, co, rq in RUNNER_CASES))
    out = subprocess.run([*cmd, "--verify", "--seed", str(SEED), "--min-reps", "1", "--warmup", "0",
                          "--min-time-ms", "0", "--cases", str(cases), *extra],
                         capture_output=True, text=True, timeout=600, check=True)
    lines = [json.loads(l) for l in out.stdout.splitlines()]
    return [l for l in lines if l["type"] == "case"], lines


def reference_checksums():
    """The runner's checksum of f32(y8) * f32(s_y), y8 from bench.numerics.reference on the runner's data."""
    sums = []
    for algo, _, h, w, cin, cout, rq in RUNNER_CASES:
        x = kernels.gaussian((1, h, w, cin), SEED)
        wt = kernels.gaussian((3, 3, cin, cout), SEED + 1)
        if algo == "im2row":
            ref = R.conv2d_im2row_int8(x, wt, requant=rq)
            y = ref["y8"].astype(np.float32) * np.float32(ref["s_y"])
        else:
            ref = R.winograd_int8_stages(x, wt, cook_toom(kernels.TILE[algo]), "tensor", requant=rq)
            y = ref["y8"].astype(np.float32) * np.float32(ref["scale"]["Y"])
        sums.append((kernels.checksum(y), R.error_metrics(ref["y"], R.conv2d_direct(x, wt))))
    return sums


@pytest.fixture(scope="module")
def host_lines(tmp_path_factory):
    return run_runner([str(build.build_runner("host"))], tmp_path_factory.mktemp("host"))


def test_host_runner_int8_checksums_and_errors_match_reference(host_lines):
    cases, _ = host_lines
    assert [c["status"] for c in cases] == ["ok"] * len(RUNNER_CASES), cases
    for c, (checksum, err), case in zip(cases, reference_checksums(), RUNNER_CASES):
        assert c["kernel"].startswith("wb_q8_conv_") and c["requant"] == case[-1], c
        assert c["checksum"] == checksum, (c["algo"], c["transform"], c["h"], c["w"])
        assert c["error"]["sqnr_db"] == pytest.approx(err["sqnr_db"], abs=1e-4)
        assert c["error"]["rel_l2"] == pytest.approx(err["rel_l2"], rel=1e-4)


@needs_qemu
@pytest.mark.slow   # the aarch64 build under qemu
def test_aarch64_a53_runner_under_qemu_agrees_with_host(host_lines, tmp_path):
    binary = build.build_runner("aarch64", "cortex-a53")
    cases, lines = run_runner([QEMU, "-cpu", "cortex-a53", str(binary)], tmp_path, ["--peak"])
    info = lines[0]
    assert info["arch"] == "aarch64" and info["features"]["dotprod"] is False
    host_cases, _ = host_lines
    assert [c["checksum"] for c in cases] == [c["checksum"] for c in host_cases]
    assert [c["error"] for c in cases] == [c["error"] for c in host_cases]
    peak = next(l for l in lines if l["type"] == "peak")
    assert peak["i8_gops"] > 0


def test_peak_line_has_the_int8_rate():
    out = subprocess.run([str(build.build_runner("host")), "--peak"], input="", capture_output=True,
                         text=True, timeout=120, check=True)
    peak = next(json.loads(l) for l in out.stdout.splitlines() if '"peak"' in l)
    assert isinstance(peak["i8_gops"], float) and peak["i8_gops"] > 0


@needs_qemu
@pytest.mark.parametrize("requant", REQUANTS)
@pytest.mark.parametrize("algo,transform", [("im2row", "static"), ("f2", "static"), ("f4", "static"),
                                            ("f6", "static"), ("f4", "learned"), ("f6", "learned")])
def test_aarch64_int8_limits_under_qemu(aarch64_driver, tmp_path, algo, transform, requant):
    x, w = limits_data(cin=512, cout=6, h=4, w=5)
    xq, _ = R.quantize_symmetric(x)
    wq, _ = R.quantize_symmetric(w)
    m = kernels.TILE.get(algo, 0)
    learned = transform == "learned"
    blob = np.array([m, learned, *x.shape[1:], w.shape[3]], np.int32).tobytes() + xq.tobytes() + wq.tobytes()
    if learned:
        t = cook_toom(m)
        blob += b"".join(np.ascontiguousarray(a, np.float64).tobytes() for a in (t.AT, t.G, t.BT))
    (tmp_path / "in.bin").write_bytes(blob)
    subprocess.run([QEMU, "-cpu", "cortex-a53", str(aarch64_driver), str(tmp_path / "in.bin"),
                    str(tmp_path / "out.bin"), "0", "1" if requant == "fp32" else "0"], check=True, timeout=300)
    out = np.frombuffer((tmp_path / "out.bin").read_bytes(), np.int8).reshape(2, *x.shape[:3], w.shape[3])
    ref = (R.conv2d_im2row_int8(x, w, requant=requant) if algo == "im2row"
           else R.winograd_int8_stages(x, w, cook_toom(m), "tensor", requant=requant))
    assert np.array_equal(out[0], ref["y8"]) and np.array_equal(out[1], ref["y8"])


@needs_qemu
def test_dotprod_build_refuses_a53_and_agrees_on_a_dotprod_core(host_lines, tmp_path):
    """The optional SDOT build (-mcpu=cortex-a55+dotprod): on an ARMv8.0 core (qemu cortex-a53)
    every int8 case is an 'unsupported' error line, never SIGILL, and fp32 cases still run; on a
    core with the dot product (qemu max) it gives the default build's bytes."""
    binary = build.build_runner("aarch64", "cortex-a55", dotprod=True)
    cases = tmp_path / "cases.txt"
    cases.write_text("algo=f4 transform=static bits=8 h=7 w=13 cin=17 cout=5\n"
                     "algo=f4 transform=static bits=32 h=7 w=13 cin=17 cout=5\n")
    out = subprocess.run([QEMU, "-cpu", "cortex-a53", str(binary), "--peak", "--cases", str(cases),
                          "--min-reps", "1", "--warmup", "0", "--min-time-ms", "0"],
                         capture_output=True, text=True, timeout=300, check=True)
    lines = [json.loads(l) for l in out.stdout.splitlines()]
    q8, f32 = [l for l in lines if l["type"] == "case"]
    assert q8["status"] == "error" and q8["error_kind"] == "unsupported" and "SDOT" in q8["message"]
    assert f32["status"] == "ok"
    assert next(l for l in lines if l["type"] == "peak")["i8_gops"] is None
    dot_cases, _ = run_runner([QEMU, "-cpu", "max", str(binary)], tmp_path)
    assert [c["checksum"] for c in dot_cases] == [c["checksum"] for c in host_lines[0]]


# ---- learned (dense) kernels at each lane width (F6 all three, F2/F4 16/32 and 32/32) -----------------------------------------------

def lane_matrix(rng, rows, cols, lim, l1_lo, l1_hi):
    """A random integer matrix (rows x cols) with entries in [-lim, lim] and max row L1 in
    [l1_lo, l1_hi], so the plan picks the lane widths: L1 <= 16 gives 16/16, <= 258 gives 16/32."""
    while True:
        a = rng.integers(-lim, lim + 1, (rows, cols)).astype(np.float64)
        if l1_lo <= np.abs(a).sum(1).max() <= l1_hi:
            return a


LANES = {"16/16": (1, 1, 16), "16/32": (6, 17, 258), "32/32": (90, 259, 4096)}
LANE_CASES = [(6, lanes) for lanes in LANES] + [(m, lanes) for m in (2, 4) for lanes in ("16/32", "32/32")]


def lane_transform(m, lanes):
    """F(m,3) with integer BT and AT (k = 0) of the given lane widths; G from Cook-Toom."""
    rng = np.random.default_rng(list(LANES).index(lanes) + 10 * m)
    lim, lo, hi = LANES[lanes]
    return Transform(m, 3, lane_matrix(rng, m, m + 2, lim, lo, hi), cook_toom(m).G,
                     lane_matrix(rng, m + 2, m + 2, lim, lo, hi))


@pytest.mark.parametrize("m,lanes", LANE_CASES)
def test_learned_each_lane_width_matches_reference(m, lanes):
    t = lane_transform(m, lanes)
    x, w = data(7, 13, 11, 5, seed=8)
    got = kernels.conv2d_int8_stages(x, w, algo=f"f{m}", transform=t)
    assert (got["kB"], got["kA"]) == (0, 0)
    assert_stages_equal(f"f{m} learned {lanes}", got, R.winograd_int8_stages(x, w, t))


@needs_qemu
@pytest.mark.parametrize("m,lanes", LANE_CASES)
def test_aarch64_learned_each_lane_width_under_qemu(aarch64_driver, tmp_path, m, lanes):
    t = lane_transform(m, lanes)
    x, w = data(7, 13, 11, 5, seed=8)
    xq, _ = R.quantize_symmetric(x)
    wq, _ = R.quantize_symmetric(w)
    blob = np.array([m, 1, *x.shape[1:], w.shape[3]], np.int32).tobytes() + xq.tobytes() + wq.tobytes()
    blob += b"".join(np.ascontiguousarray(a, np.float64).tobytes() for a in (t.AT, t.G, t.BT))
    (tmp_path / "in.bin").write_bytes(blob)
    subprocess.run([QEMU, "-cpu", "cortex-a53", str(aarch64_driver), str(tmp_path / "in.bin"),
                    str(tmp_path / "out.bin")], check=True, timeout=300)
    out = np.frombuffer((tmp_path / "out.bin").read_bytes(), np.int8).reshape(2, *x.shape[:3], w.shape[3])
    ref = R.winograd_int8_stages(x, w, t)
    assert np.array_equal(out[0], ref["y8"]) and np.array_equal(out[1], ref["y8"]), lanes


@pytest.mark.parametrize("algo,scheme", [("im2row", None), ("f4", "tensor"), ("f4", "tap"), ("f6", "wide")])
def test_calibrated_on_other_data_is_the_deployed_path(algo, scheme):
    """Calibrated on x itself it is conv2d (the per-input best case) bit for bit; calibrated on other
    data of the same shape x clips at that data's scale and runs with its ranges: other bytes, and
    in the tables beside the best case (bench.measure.accuracy)."""
    from bench.measure.accuracy import CALIBRATION_SEED, case_errors
    from bench.measure.cases import Case, Layer

    x, w = data(9, 11, 16, 8, seed=3)
    best = kernels.conv2d_int8_stages(x, w, algo=algo, scheme=scheme)["y"]
    same = kernels.conv2d_int8_calibrated(x, w, x, algo=algo, scheme=scheme)
    assert np.array_equal(same, best)
    other = kernels.conv2d_int8_calibrated(x, w, kernels.gaussian(x.shape, CALIBRATION_SEED), algo=algo, scheme=scheme)
    assert not np.array_equal(other, best)
    with pytest.raises(ValueError, match="must match"):
        kernels.conv2d_int8_calibrated(x, w, x[:, :5], algo=algo, scheme=scheme)
    errors = case_errors(Case(Layer(9, 11, 16, 8), algo, "none" if algo == "im2row" else "static", 8, scheme or "none"))
    assert np.isfinite(errors["sqnr_cal_db"]) and errors["calibration_seed"] == CALIBRATION_SEED
