"""fp32 C kernels (host build through SIMDe) against the float64 numpy references.

Tolerance: on random data the rounding error of a length-K fp32 reduction grows like sqrt(K)
(worst case K), relative to the output's magnitude; Winograd scales it by the growth of its
transforms. So every comparison checks

    max |y - ref| <= GROWTH[algo] * eps32 * sqrt(K) * max |ref|,   K = 9 * Cin,

with GROWTH measured at about 0.3 (im2row, F2), 2.6 (F4) and 5.7 (F6) on these shapes, and set
about 8x higher. A wrong coefficient or a misplaced tile gives errors near max |ref| (a ratio
around 1e5 or more), far outside.
"""


import numpy as np
import pytest

from bench.native import kernels

from bench.numerics import reference
from bench.numerics.winograd import BARABASZ_POINTS, cook_toom, learned_stand_in, save_transform

EPS32 = float(np.finfo(np.float32).eps)
GROWTH = {"im2row": 2.0, "f2": 2.0, "f4": 16.0, "f6": 48.0}
COMBOS = [("im2row", "static")] + [(a, t) for a in ("f2", "f4", "f6") for t in ("static", "learned")]
# (H, W, Cin, Cout): single pixel, odd sizes that leave partial Winograd tiles, channel counts
# that are not multiples of 4 or 8, and one layer big enough for the GEMM's L2 blocking.
SHAPES = [(1, 1, 3, 5), (7, 13, 3, 5), (7, 13, 17, 5), (2, 31, 17, 5), (5, 6, 1, 1),
          (3, 3, 8, 13), (16, 16, 64, 12)]


def data(h, w, cin, cout, seed=3):
    x = kernels.gaussian((1, h, w, cin), seed)
    wt = kernels.gaussian((3, 3, cin, cout), seed + 1) * np.float32(1 / np.sqrt(9 * cin))
    return x, wt


def assert_close(y, ref, algo, cin, what=""):
    assert y.shape == ref.shape and y.dtype == np.float32
    tol = GROWTH[algo] * EPS32 * np.sqrt(9 * cin) * np.abs(ref).max()
    err = np.abs(y.astype(np.float64) - ref).max()
    assert err <= tol, f"{what}: max abs error {err:.3g} > tolerance {tol:.3g}"


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("algo,transform", COMBOS)
def test_kernel_matches_reference(algo, transform, shape):
    x, w = data(*shape)
    y = kernels.conv2d(x, w, algo=algo, transform=transform)
    assert_close(y, reference.conv2d_direct(x, w), algo, shape[2], f"{algo}/{transform} {shape}")


@pytest.mark.parametrize("algo", ["f2", "f4", "f6"])
def test_kernel_matches_winograd_reference_of_its_transform(algo):
    x, w = data(7, 13, 17, 5)
    t = cook_toom(int(algo[1]))
    y = kernels.conv2d(x, w, algo=algo, transform="static")
    assert_close(y, reference.conv2d_winograd(x, w, t), algo, 17)


@pytest.mark.parametrize("algo", ["f2", "f4", "f6"])
def test_learned_is_the_dense_kernel_fed_its_stand_in_and_agrees_with_static(algo):
    x, w = data(7, 13, 17, 5)
    static = kernels.conv2d(x, w, algo=algo, transform="static")
    learned = kernels.conv2d(x, w, algo=algo, transform="learned")
    explicit = kernels.conv2d(x, w, algo=algo, transform=learned_stand_in(int(algo[1])))
    assert_close(learned, static.astype(np.float64), algo, 17, "learned vs static")
    np.testing.assert_array_equal(explicit, learned)  # same code, same matrices


@pytest.mark.parametrize("algo,points", [("f4", BARABASZ_POINTS[4, 3]), ("f6", BARABASZ_POINTS[6, 3]),
                                         ("f2", ("0", "-1", "1/2")), ("f4", ("0", "1", "-1", "1/2", "-3"))])
def test_learned_fed_other_exact_transform_equals_direct(algo, points):
    x, w = data(7, 13, 17, 5)
    t = cook_toom(int(algo[1]), points=points)
    assert not np.array_equal(t.BT, cook_toom(int(algo[1])).BT)
    y = kernels.conv2d(x, w, algo=algo, transform=t)
    assert_close(y, reference.conv2d_direct(x, w), algo, 17, f"{algo} points {points}")


@pytest.mark.parametrize("suffix", [".txt", ".json"])
def test_transform_from_file(tmp_path, suffix):
    x, w = data(5, 9, 4, 6)
    t = cook_toom(4, points=BARABASZ_POINTS[4, 3])
    path = save_transform(t, tmp_path / f"f4{suffix}")
    from_file = kernels.conv2d(x, w, algo="f4", transform=str(path))
    np.testing.assert_array_equal(from_file, kernels.conv2d(x, w, algo="f4", transform=t))


def test_bad_transforms_are_refused():
    x, w = data(4, 4, 3, 2)
    with pytest.raises(ValueError, match="m=6"):
        kernels.conv2d(x, w, algo="f4", transform=cook_toom(6))
    t = cook_toom(4)
    bad = type(t)(t.m, t.r, t.AT, t.G, np.where(t.BT == 4, np.nan, t.BT))
    with pytest.raises(ValueError, match="BT has NaN"):
        kernels.conv2d(x, w, algo="f4", transform=bad)
    with pytest.raises(ValueError, match="existing file"):
        kernels.conv2d(x, w, algo="f4", transform="no/such/file.txt")


def test_bad_arguments_are_refused():
    x, w = data(4, 4, 3, 2)
    with pytest.raises(ValueError, match="unknown algo"):
        kernels.conv2d(x, w, algo="f8")
    with pytest.raises(ValueError, match="bits"):
        kernels.conv2d(x, w, algo="f4", bits=16)
    with pytest.raises(ValueError, match="input channels"):
        kernels.conv2d(x, w[:, :, :2], algo="f4")
    with pytest.raises(ValueError, match="NHWC"):
        kernels.conv2d(x[0], w, algo="f4")


def test_threads_give_identical_bytes():
    x, w = data(13, 11, 20, 24)
    for algo, transform in COMBOS:
        one, _ = kernels.conv2d_timed(x, w, kernels.ConvOp(algo=algo, transform=transform))
        two, _ = kernels.conv2d_timed(x, w, kernels.ConvOp(algo=algo, transform=transform), kernels.Timing(threads=2))
        np.testing.assert_array_equal(one, two, err_msg=f"{algo}/{transform}")


# Above the fused run's threshold (wb_wino_block_tiles in kernels_c/src/wb_internal.h): V + M of
# every F(m) here would not fit in a 512 KiB L2 while the weights do, so the kernels run block by
# block of tiles (18, 11 and 8 blocks for F2, F4, F6 on one thread or two), the last one partial,
# edge tiles included.
FUSED_SHAPE = (101, 90, 5, 3)


@pytest.mark.parametrize("algo,transform", COMBOS[1:])
def test_fused_run_matches_reference_on_one_and_two_threads(algo, transform):
    x, w = data(*FUSED_SHAPE)
    one, t = kernels.conv2d_timed(x, w, kernels.ConvOp(algo=algo, transform=transform), kernels.Timing(reps=2, warmup=0))
    two, _ = kernels.conv2d_timed(x, w, kernels.ConvOp(algo=algo, transform=transform), kernels.Timing(threads=2, reps=2, warmup=0))
    assert_close(one, reference.conv2d_direct(x, w), algo, FUSED_SHAPE[2], f"{algo}/{transform} fused")
    np.testing.assert_array_equal(one, two)
    for i in range(2):  # per-block stage sums, scaled to the blocks' wall time: within the total
        stages = (t.input_ms[i], t.gemm_ms[i], t.output_ms[i])
        assert all(v > 0 for v in stages) and t.total_ms[i] >= sum(stages)


def test_few_pixels_split_threads_over_channels():
    """15 output pixels, 37 channels: im2row's threads take output channels (8 at a time, with a
    5-column tail), the GEMM runs N-outermost; same bytes as one thread, and the reference."""
    x, w = data(3, 5, 70, 37)
    one, _ = kernels.conv2d_timed(x, w, kernels.ConvOp(algo="im2row"))
    two, _ = kernels.conv2d_timed(x, w, kernels.ConvOp(algo="im2row"), kernels.Timing(threads=2))
    np.testing.assert_array_equal(one, two)
    ref = reference.conv2d_direct(x.astype(np.float64), w.astype(np.float64))
    np.testing.assert_allclose(two, ref, rtol=1e-4, atol=1e-4)


def test_conv2d_timed_reports_stages():
    x, w = data(16, 16, 32, 32)
    y, t = kernels.conv2d_timed(x, w, kernels.ConvOp(algo="f4"), kernels.Timing(reps=3, warmup=1))
    np.testing.assert_array_equal(y, kernels.conv2d(x, w, algo="f4"))
    assert t.kernel == "wb_f32_conv_winograd_static_f4"
    assert t.weight_transform_ms > 0
    assert t.gemm_flops == 2 * 36 * 16 * 32 * 32  # a^2 positions x 16 tiles x Cin x Cout
    for stage in ("input_ms", "gemm_ms", "output_ms", "total_ms"):
        assert len(getattr(t, stage)) == 3 and all(v >= 0 for v in getattr(t, stage))
    for i in range(3):  # total is measured around the three stages
        assert t.total_ms[i] >= t.input_ms[i] + t.gemm_ms[i] + t.output_ms[i]
    _, t = kernels.conv2d_timed(x, w, kernels.ConvOp(algo="im2row"))
    assert t.gemm_flops == 2 * 256 * 9 * 32 * 32


def _spec_gaussian(n, seed):
    """RUNNER.md's generator written out in Python: splitmix64, 12 uniforms of 53 bits, minus 6."""
    state, out, mask = seed, [], (1 << 64) - 1
    for _ in range(n):
        s = 0.0
        for _ in range(12):
            state = (state + 0x9E3779B97F4A7C15) & mask
            z = state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
            z ^= z >> 31
            s += (z >> 11) * 2.0 ** -53
        out.append(s - 6.0)
    return np.array(out, dtype=np.float32)


def test_gaussian_is_the_documented_generator():
    np.testing.assert_array_equal(kernels.gaussian((50,), 7), _spec_gaussian(50, 7))
    g = kernels.gaussian((1, 64, 64, 8), 1)
    assert g.dtype == np.float32 and g.shape == (1, 64, 64, 8)
    assert abs(g.mean()) < 0.02 and abs(g.std() - 1) < 0.02


def test_checksum_is_fnv1a64():
    y = np.arange(10, dtype=np.float32)
    h = 0xCBF29CE484222325
    for b in y.tobytes():
        h = ((h ^ b) * 0x100000001B3) & ((1 << 64) - 1)
    assert kernels.checksum(y) == f"{h:016x}"


def test_c_direct_reference_matches_numpy():
    x, w = data(7, 13, 17, 5)
    np.testing.assert_allclose(kernels.conv2d_direct_f64(x, w), reference.conv2d_direct(x, w),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("points,passes", [(None, True), (("0", "-1", "1", "1/2", "-1/2", "2", "-2"), True),
                                           (("0", "1", "-1", "2", "-2", "4", "-4"), True)])
def test_verify_tolerance_follows_the_transform_and_still_catches_a_broken_kernel(tmp_path, points, passes):
    """F6 at the exact but poorly conditioned points 0, +-1, +-2, +-4 passes `bench verify`'s
    judgement with its own tolerance; the same kernel's output with one value broken fails."""
    from bench.cli.verify import judge, tolerance_of
    from bench.measure.cases import Case, Layer
    from bench.measure.protocol import CaseRecord

    t = cook_toom(6, points=points)
    path = save_transform(t, tmp_path / "f6.json")
    x, w = data(16, 16, 32, 16)
    y = kernels.conv2d(x, w, algo="f6", transform=t)
    ref = reference.conv2d_direct(x, w)
    case = Case(Layer(16, 16, 32, 16), "f6", str(path), 32)
    rec = lambda out: CaseRecord(1, "0", "ok", error=reference.error_metrics(out, ref))  # noqa: E731
    ok, note = judge(case, rec(y))
    tol, words = tolerance_of(case)
    assert ok == passes and words in note and f"Cin 32" in note, note
    broken = y.copy()
    broken[0, 3, 5, 2] += 10 * np.abs(ref).max()        # one output value wrong
    assert not judge(case, rec(broken))[0]
