"""The int8 Winograd schemes tap and wide in C (kernels_c/src/q8-*.c and their NEON micro-kernels)
against bench.numerics.reference, bit for bit.

Host build through cffi: the timed NEON path, the scalar calibration path and every intermediate
(tap: V8, U8, P8, per-position multipliers, Sq; wide: V16, U16, M after its rshift, e, QU) on
awkward shapes, static and learned (default and Barabasz matrices). Runner: scheme= on the case
line, checksums and error figures against the reference, refusals as bad_case. The cortex-a53
build under qemu: the same runner bytes, the int8 limits at Cin = 512 and wide F6 at its Cin bound."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from bench.native import build

from bench.native import kernels

from bench.numerics import reference as R
from bench.numerics.winograd import BARABASZ_POINTS, cook_toom, learned_stand_in
from bench.operators import REQUANTS

SHAPES = [(1, 1, 3, 5), (7, 13, 3, 5), (2, 31, 17, 5), (7, 13, 17, 8), (5, 6, 33, 19)]
WINO = [("f2", 2), ("f4", 4), ("f6", 6)]
SCHEMES = ["tap", "wide"]
QEMU = shutil.which("qemu-aarch64-static")
CROSS = shutil.which("aarch64-linux-gnu-gcc")
needs_qemu = pytest.mark.skipif(not (QEMU and CROSS), reason="needs qemu-user-static and gcc-aarch64-linux-gnu (make setup)")


def data(h, w, cin, cout, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((1, h, w, cin)).astype(np.float32),
            rng.standard_normal((3, 3, cin, cout)).astype(np.float32))


def assert_scheme_stages_equal(case, got, ref, scheme):
    def same(name, a, b):
        bad = np.argwhere(np.asarray(a) != np.asarray(b))
        assert not len(bad), f"{case} {name}: {len(bad)} differ, first at {bad[0].tolist()}"

    same("y8", got["y8"], ref["y8"])
    same("scalar y8", got["y8_scalar"], ref["y8"])
    assert got["s_y"] == ref["scale"]["Y"] and got["s1"] == ref["s1"], case
    if scheme == "tap":
        for name in ("V8", "U8", "P8", "Sq"):
            same(name, got[name], ref[name])
        for k in "VUPY":
            same(f"mult {k}", got["mult"][k], ref["mult"][k])
    else:
        for name in ("V16", "U16", "e"):
            same(name, got[name], ref[name])
        dB = ref.get("dB", np.zeros(len(ref["e"]), np.int64))   # row scales (step 9): BT's row excess
        same("M", got["M"], R.rshift(ref["M"], (ref["e"] + dB[:, None] + dB[None, :])[:, :, None] + ref["h"]))
        assert (got["sV"], got["QU"], got["mult"]["U"]) == (ref["sV"], ref["QU"], ref["mult"]["U"]), case


@pytest.mark.parametrize("requant", REQUANTS)
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("transform", ["static", "learned"])
@pytest.mark.parametrize("algo,m", WINO)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_scheme_matches_reference_stage_by_stage(shape, algo, m, transform, scheme, requant):
    """Both requantization forms: the int form's int32 outputs (F2, F4: Sq of 14 bits, wide's h)
    and its int64 ones (F6) included."""
    x, w = data(*shape)
    got = kernels.conv2d_int8_stages(x, w, algo=algo, transform=transform, scheme=scheme, requant=requant)
    t = cook_toom(m) if transform == "static" else learned_stand_in(m)
    assert_scheme_stages_equal(f"{scheme} {algo} {transform} {shape} {requant}", got,
                               R.winograd_int8_stages(x, w, t, scheme, requant=requant), scheme)


@pytest.mark.parametrize("requant", REQUANTS)
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("m", [4, 6])
def test_scheme_with_barabasz_points_matches_reference(m, scheme, requant):
    """Barabasz F4's integer AT has L1A^2 > 512: the int form takes its learned int64 outputs."""
    t = cook_toom(m, 3, BARABASZ_POINTS[(m, 3)])
    x, w = data(7, 13, 17, 5, seed=5)
    got = kernels.conv2d_int8_stages(x, w, algo=f"f{m}", transform=t, scheme=scheme, requant=requant)
    ref = R.winograd_int8_stages(x, w, t, scheme, requant=requant)
    assert_scheme_stages_equal(f"barabasz {scheme} f{m} {requant}", got, ref, scheme)
    if requant == "int":
        assert got["int"]["out32"] == 0 and (got["int"]["k"] == 20) == (scheme == "tap")


@pytest.mark.parametrize("requant", REQUANTS)
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("algo,m", WINO)
def test_fused_run_matches_reference_on_one_and_two_threads(algo, m, scheme, requant):
    """(101, 90, 5, 3) is above the fused run's threshold (wb_wino_block_tiles): the NEON run goes
    block by block of tiles, the last block partial. y8 is that run's; the intermediates are then
    the calibration pass's (the run keeps its own per block)."""
    x, w = data(101, 90, 5, 3, seed=6)
    got = kernels.conv2d_int8_stages(x, w, algo=algo, scheme=scheme, requant=requant)
    assert_scheme_stages_equal(f"{scheme} {algo} fused {requant}", got,
                               R.winograd_int8_stages(x, w, cook_toom(m), scheme, requant=requant), scheme)
    one, _ = kernels.conv2d_timed(x, w, kernels.ConvOp(algo=algo, bits=8, scheme=scheme))
    two, _ = kernels.conv2d_timed(x, w, kernels.ConvOp(algo=algo, bits=8, scheme=scheme), kernels.Timing(threads=2, reps=2))
    assert np.array_equal(one, two)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_float_output_threads_and_kernel_names(scheme):
    x, w = data(13, 11, 24, 12, seed=8)
    ref = R.winograd_int8_stages(x, w, cook_toom(4), scheme)
    one, t1 = kernels.conv2d_timed(x, w, kernels.ConvOp(algo="f4", bits=8, scheme=scheme))
    two, t2 = kernels.conv2d_timed(x, w, kernels.ConvOp(algo="f4", bits=8, scheme=scheme), kernels.Timing(threads=2, reps=2))
    assert np.array_equal(one, ref["y8"].astype(np.float32) * np.float32(ref["scale"]["Y"]))
    assert np.array_equal(one, two)
    assert t1.kernel == f"wb_q8_conv_winograd_{scheme}_static_f4"
    assert min(t2.input_ms) > 0 and min(t2.gemm_ms) > 0 and min(t2.output_ms) > 0


def test_scheme_refusals():
    x, w = data(4, 4, 3, 5)
    with pytest.raises(ValueError, match="scheme 'tap' does not apply to f4 at 32 bits; accepted: none"):
        kernels.conv2d(x, w, algo="f4", scheme="tap")
    with pytest.raises(ValueError, match="scheme 'wide' does not apply to im2row at 8 bits; accepted: none"):
        kernels.conv2d(x, w, algo="im2row", bits=8, scheme="wide")
    with pytest.raises(ValueError, match="scheme 'none' does not apply to f4 at 8 bits; accepted: tensor, tap, wide"):
        kernels.conv2d(x, w, algo="f4", bits=8, scheme="none")
    with pytest.raises(ValueError, match="unknown scheme 'per-channel'; accepted: tensor, tap, wide, none"):
        kernels.conv2d_int8_stages(x, w, algo="f2", scheme="per-channel")
    e = kernels.conv2d_error(x, w, algo="f4", bits=8, scheme="wide")
    assert e["sqnr_db"] > kernels.conv2d_error(x, w, algo="f4", bits=8)["sqnr_db"]


def cin_bound_data(cin):
    """F6 wide at its documented Cin bound (bench/reference.py step 7): equal weights make every
    column of U as heavy as it can be, and the input maximizes V at the heaviest BTq row."""
    BTq, _ = R.quantize_matrix(cook_toom(6).BT, R.BT_AT_LIMIT)
    sign = np.sign(BTq[int(np.argmax(np.sum(np.abs(BTq), axis=1)))])
    x = np.zeros((1, 6, 6, cin), np.float32)
    x[0] = (np.outer(sign, sign)[1:7, 1:7])[:, :, None]
    return x, np.ones((3, 3, cin, 1), np.float32)


@pytest.mark.slow
def test_wide_f6_at_the_cin_bound():
    """cin = 1000 puts the int32 sums within 2% of overflow; cin = 37576 is the bound (QU = 1, the
    rounding slack Cin then takes half the range); one more channel is refused."""
    for cin, edge in ((1000, 0.98), (37576, 0.49)):
        x, w = cin_bound_data(cin)
        got = kernels.conv2d_int8_stages(x, w, algo="f6", scheme="wide")
        ref = R.winograd_int8_stages(x, w, cook_toom(6), "wide")
        assert edge * R.INT32_MAX < np.max(np.abs(ref["M"].astype(np.int64))) <= R.INT32_MAX, cin
        assert_scheme_stages_equal(f"f6 wide cin {cin}", got, ref, "wide")
    x, w = cin_bound_data(37577)
    with pytest.raises(ValueError, match="cin=37577 is past the int32 bound"):
        kernels.conv2d_int8_stages(x, w, algo="f6", scheme="wide")


# ---- the runner and the aarch64 build -----------------------------------------------------------

RUNNER_CASES = [  # (algo, transform, scheme, h, w, cin, cout); small: qemu is slow
    ("f2", "static", "tap", 7, 13, 3, 5),
    ("f4", "static", "tap", 7, 13, 17, 5),
    ("f6", "learned", "tap", 2, 31, 17, 8),
    ("f2", "learned", "wide", 2, 31, 17, 5),
    ("f4", "static", "wide", 1, 1, 3, 5),
    ("f6", "static", "wide", 7, 13, 17, 8),
    ("f4", "learned", "tap", 101, 90, 5, 3),  # fused: block by block of tiles (wb_wino_block_tiles)
    ("f2", "static", "wide", 101, 90, 5, 3),
]
RUNNER_CASES = [(*c, rq) for rq in REQUANTS for c in RUNNER_CASES]  # the default int form, then fp32
BAD_CASES = ["algo=f4 bits=32 h=4 w=4 cin=3 cout=3 scheme=tap",
             "algo=im2row bits=8 h=4 w=4 cin=3 cout=3 scheme=wide",
             "algo=f4 bits=8 h=4 w=4 cin=3 cout=3 scheme=none",
             "algo=f4 bits=8 h=4 w=4 cin=3 cout=3 requant=rndnu",
             "algo=f4 bits=32 h=4 w=4 cin=3 cout=3 requant=fp32"]
SEED = 7


def run_runner(cmd, tmp_path):
    cases = tmp_path / "cases.txt"
    cases.write_text("".join(f"algo={a} transform={t} scheme={s} requant={rq} bits=8 h={h} w={w} cin={ci} cout={co}\n"
                             for a, t, s, h, w, ci, co, rq in RUNNER_CASES) + "\n".join(BAD_CASES) + "\n")
    out = subprocess.run([*cmd, "--verify", "--seed", str(SEED), "--min-reps", "1", "--warmup", "0",
                          "--min-time-ms", "0", "--cases", str(cases)],
                         capture_output=True, text=True, timeout=600, check=True)
    return [l for l in map(json.loads, out.stdout.splitlines()) if l["type"] == "case"]


@pytest.fixture(scope="module")
def host_cases(tmp_path_factory):
    return run_runner([str(build.build_runner("host"))], tmp_path_factory.mktemp("host"))


def test_host_runner_scheme_lines_match_reference(host_cases):
    good, bad = host_cases[:len(RUNNER_CASES)], host_cases[len(RUNNER_CASES):]
    for c, (algo, transform, scheme, h, w, cin, cout, rq) in zip(good, RUNNER_CASES):
        assert c["status"] == "ok" and c["scheme"] == scheme and c["requant"] == rq, c
        assert c["kernel"] == f"wb_q8_conv_winograd_{scheme}_{transform}_{algo}"
        x = kernels.gaussian((1, h, w, cin), SEED)
        wt = kernels.gaussian((3, 3, cin, cout), SEED + 1)
        ref = R.winograd_int8_stages(x, wt, cook_toom(kernels.TILE[algo]), scheme, requant=rq)
        assert c["checksum"] == kernels.checksum(ref["y8"].astype(np.float32) * np.float32(ref["scale"]["Y"]))
        err = R.error_metrics(ref["y"], R.conv2d_direct(x, wt))
        assert c["error"]["sqnr_db"] == pytest.approx(err["sqnr_db"], abs=1e-4)
    assert [(c["status"], c["error_kind"]) for c in bad] == [("error", "bad_case")] * len(BAD_CASES)
    assert "scheme 'tap' does not apply to f4 at 32 bits" in bad[0]["message"]
    assert "requant 'rndnu' does not apply at 8 bits (int, fp32)" in bad[3]["message"]
    assert "requant 'fp32' does not apply at 32 bits (none)" in bad[4]["message"]


@needs_qemu
@pytest.mark.slow
@pytest.mark.parametrize("mcpu,qemu_cpu", [("cortex-a53", "cortex-a53"), ("cortex-a73", "cortex-a57")])
def test_aarch64_runner_under_qemu_agrees_with_host(host_cases, tmp_path, mcpu, qemu_cpu):
    """The in-order (a53) and out-of-order (a73: its own order of the static F4 output's columns)
    builds; qemu has no Cortex-A73, the A57 runs the same ARMv8.0 code."""
    cases = run_runner([QEMU, "-cpu", qemu_cpu, str(build.build_runner("aarch64", mcpu))], tmp_path)
    assert [c.get("checksum") for c in cases] == [c.get("checksum") for c in host_cases]
    assert [c.get("error") for c in cases] == [c.get("error") for c in host_cases]


def run_driver(driver, tmp_path, x, w, m, scheme, t=None, requant="int"):
    xq, _ = R.quantize_symmetric(x)
    wq, _ = R.quantize_symmetric(w)
    blob = np.array([m, t is not None, *x.shape[1:], w.shape[3]], np.int32).tobytes() + xq.tobytes() + wq.tobytes()
    if t is not None:
        blob += b"".join(np.ascontiguousarray(a, np.float64).tobytes() for a in (t.AT, t.G, t.BT))
    (tmp_path / "in.bin").write_bytes(blob)
    subprocess.run([QEMU, "-cpu", "cortex-a53", str(driver), str(tmp_path / "in.bin"), str(tmp_path / "out.bin"),
                    str(SCHEMES.index(scheme) + 1), "1" if requant == "fp32" else "0"], check=True, timeout=600)
    return np.frombuffer((tmp_path / "out.bin").read_bytes(), np.int8).reshape(2, *x.shape[:3], w.shape[3])


@needs_qemu
@pytest.mark.slow
@pytest.mark.parametrize("requant", REQUANTS)
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("algo,learned", [("f2", False), ("f4", False), ("f6", False), ("f6", True)])
def test_aarch64_int8_limits_under_qemu(aarch64_driver, tmp_path, algo, learned, scheme, requant):
    """Cin = 512 at the int8 limits (inputs +127, weights +-127), as test_kernels_q8 does for tensor."""
    x = np.ones((1, 4, 5, 512), np.float32)
    x[0, 0, 0, 0] = -1
    w = np.ones((3, 3, 512, 6), np.float32)
    w[..., 1::2] = -1
    m = kernels.TILE[algo]
    out = run_driver(aarch64_driver, tmp_path, x, w, m, scheme, cook_toom(m) if learned else None, requant)
    ref = R.winograd_int8_stages(x, w, cook_toom(m), scheme, requant=requant)
    assert np.array_equal(out[0], ref["y8"]) and np.array_equal(out[1], ref["y8"])


@needs_qemu
@pytest.mark.slow
@pytest.mark.parametrize("requant", REQUANTS)
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("m,matrices", [(2, "static"), (4, "static"), (6, "static"), (2, "default"),
                                        (4, "default"), (4, "barabasz"), (6, "barabasz")])
def test_aarch64_tile_transforms_awkward_shape_under_qemu(aarch64_driver, tmp_path, m, matrices, scheme,
                                                          requant):
    """The register-resident tile kernels (static: constant matrices; learned: matrices in vector
    lanes, default and Barabasz) with Cin = 17 (not a multiple of 8) and partial tiles, in both
    requantization forms (the int form's int32 and int64 outputs)."""
    t = (None if matrices == "static" else
         cook_toom(m, 3, BARABASZ_POINTS[(m, 3)]) if matrices == "barabasz" else cook_toom(m))
    x, w = data(7, 13, 17, 5, seed=5)
    out = run_driver(aarch64_driver, tmp_path, x, w, m, scheme, t, requant)
    ref = R.winograd_int8_stages(x, w, cook_toom(m) if t is None else t, scheme, requant=requant)
    assert np.array_equal(out[0], ref["y8"]) and np.array_equal(out[1], ref["y8"])


@needs_qemu
@pytest.mark.slow
def test_aarch64_wide_f6_at_the_cin_bound_under_qemu(aarch64_driver, tmp_path):
    x, w = cin_bound_data(37576)
    out = run_driver(aarch64_driver, tmp_path, x, w, 6, "wide")
    ref = R.winograd_int8_stages(x, w, cook_toom(6), "wide")
    assert np.array_equal(out[0], ref["y8"]) and np.array_equal(out[1], ref["y8"])


def test_static_kernels_constants_are_the_reference_integer_matrices():
    """src/wb_q8_default_tq.h holds BTq and ATq of the default transforms (scheme step 3)."""
    import re

    text = (build.KERNELS / "src" / "wb_q8_default_tq.h").read_text()
    for m in (2, 4, 6):
        t = cook_toom(m)
        for name, T in (("btq", t.BT), ("atq", t.AT)):
            body = re.search(rf"wb_q8_{name}_f{m}\[\d+\] = \{{([^}}]*)\}}", text).group(1)
            got = np.array([int(v) for v in body.replace(",", " ").split()])
            want, _ = R.quantize_matrix(T, R.BT_AT_LIMIT)
            assert np.array_equal(got, want.ravel()), (name, m)
