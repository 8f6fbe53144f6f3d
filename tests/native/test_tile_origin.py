"""The tile origin (`symmetric`: the grid centred on the image as the Winograd-aware training code
pads; `top-left`): every fp32 and int8 Winograd kernel against the numpy reference of the same
origin on awkward shapes, on the host build, through the runner's case lines, and on the aarch64
build under qemu (slow)."""

import shutil

import numpy as np
import pytest

from bench.native import kernels
from bench.native.build import build_runner
from bench.numerics import reference as R
from bench.numerics.winograd import Transform, cook_toom, save_transform
from bench.operators import SCHEMES, TILE_ORIGINS
from tests.native.test_runner import FAST, case_lines, run

def conv(x, w, algo, transform="static", origin=None, bits=32):
    return kernels.conv2d_timed(x, w, kernels.ConvOp(algo, bits, transform, None, origin))[0]


SHAPES = [(10, 10), (9, 13), (16, 16), (32, 32), (5, 7), (1, 1)]


def learned(m: int, seed: int = 0) -> Transform:
    """A Cook-Toom transform with its nonzero AT entries moved a little: not exact, so the origin
    changes the result."""
    t, rng = cook_toom(m), np.random.default_rng(seed)
    return Transform(m, 3, t.AT + 0.02 * rng.standard_normal(t.AT.shape) * (t.AT != 0), t.G, t.BT)


def data(h, w, cin=5, cout=7, seed=3):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((1, h, w, cin)).astype(np.float32),
            rng.standard_normal((3, 3, cin, cout)).astype(np.float32))


@pytest.mark.parametrize("origin", TILE_ORIGINS)
@pytest.mark.parametrize("m", [2, 4, 6])
def test_fp32_kernels_follow_the_reference_of_their_origin(m, origin):
    t = learned(m)
    for h, w in SHAPES:
        x, wt = data(h, w)
        ref = R.conv2d_winograd(x.astype(float), wt.astype(float), t, origin)
        y = conv(x, wt, f"f{m}", t, origin)
        assert R.error_metrics(y, ref)["rel_l2"] < 1e-5, (h, w)
        static = conv(x, wt, f"f{m}", origin=origin)    # exact: the origin changes nothing
        assert R.error_metrics(static, R.conv2d_direct(x, wt))["rel_l2"] < 1e-5, (h, w)


def test_the_origin_matters_for_a_learned_transform_only_where_the_size_is_not_a_multiple():
    x, wt = data(10, 12)
    y = {o: conv(x, wt, "f4", learned(4), o) for o in TILE_ORIGINS}
    assert not np.allclose(y["top-left"], y["symmetric"])   # 10 is not a multiple of 4
    x, wt = data(8, 12)
    y = {o: conv(x, wt, "f4", learned(4), o) for o in TILE_ORIGINS}
    assert np.array_equal(y["top-left"], y["symmetric"])


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("m", [2, 4, 6])
def test_int8_kernels_are_bit_exact_with_the_reference_of_the_symmetric_origin(m, scheme):
    for t in (None, learned(m, 1)):
        for h, w in SHAPES:
            x, wt = data(h, w, cin=17, cout=9)
            got = kernels.conv2d_int8_stages(x, wt, algo=f"f{m}", transform="static" if t is None else t,
                                             scheme=scheme, origin="symmetric")
            ref = R.winograd_int8_stages(x, wt, t or cook_toom(m), scheme, "symmetric")
            assert np.array_equal(got["y8"], ref["y8"]) and np.array_equal(got["y8_scalar"], ref["y8"]), (h, w)


def test_the_runner_takes_the_origin_from_its_case_line(tmp_path):
    runner = build_runner("host")
    path = save_transform(learned(4), tmp_path / "l4.txt")
    lines = "".join(f"algo=f4 transform=learned bits={b} h=10 w=14 cin=6 cout=5 origin={o} matrices={path}\n"
                    for b in (32, 8) for o in TILE_ORIGINS)
    p, out = run(runner, lines + "algo=f4 h=8 w=8 cin=1 cout=1 origin=middle\n", "--seed", "3", *FAST)
    cases = case_lines(out)
    x, wt = kernels.gaussian((1, 10, 14, 6), 3), kernels.gaussian((3, 3, 6, 5), 4)
    for case, (b, o) in zip(cases, [(b, o) for b in (32, 8) for o in TILE_ORIGINS]):
        y = conv(x, wt, "f4", learned(4), o, b)
        assert case["status"] == "ok" and case["checksum"] == kernels.checksum(y), (b, o)
    assert cases[0]["checksum"] != cases[1]["checksum"]
    assert cases[-1]["error_kind"] == "bad_case" and "unknown tile origin 'middle' (top-left, symmetric)" in cases[-1]["message"]


QEMU = shutil.which("qemu-aarch64-static")
CROSS = shutil.which("aarch64-linux-gnu-gcc")


@pytest.mark.skipif(not (QEMU and CROSS), reason="needs qemu-user-static and gcc-aarch64-linux-gnu (make setup)")
@pytest.mark.slow   # the aarch64 build under qemu
def test_aarch64_build_under_qemu_tiles_from_the_same_origin(tmp_path):
    """The cortex-a53 build under qemu (`-cpu max`: int8 needs the dot product) gives the host
    build's bytes for every algorithm, fp32 and int8 (every scheme), symmetric origin."""
    a53, host = build_runner("aarch64", "cortex-a53"), build_runner("host")
    mats = {m: save_transform(learned(m), tmp_path / f"l{m}.txt") for m in (2, 4, 6)}
    lines = "".join(f"algo=f{m} transform=learned bits={b} h={h} w={w} cin=17 cout=5 origin=symmetric "
                    f"matrices={mats[m]}" + (f" scheme={s}" if b == 8 else "") + "\n"
                    for m in (2, 4, 6) for h, w in ((10, 10), (16, 13)) for b, s in
                    ((32, None), *((8, s) for s in SCHEMES)))
    p_arm, arm = run(a53, lines, *FAST, prefix=(QEMU, "-cpu", "max"), timeout=600)
    assert p_arm.returncode == 0, p_arm.stderr
    _, ref = run(host, lines, *FAST)
    assert [c["status"] for c in case_lines(arm)] == ["ok"] * 24
    assert [c["checksum"] for c in case_lines(arm)] == [c["checksum"] for c in case_lines(ref)]


def test_a_transform_file_naming_its_origin_is_tiled_from_it(tmp_path):
    import json

    path = save_transform(learned(4), tmp_path / "t.json")
    path.write_text(json.dumps({**json.loads(path.read_text()), "tile_origin": "symmetric"}))
    x, wt = data(10, 10)
    assert np.array_equal(kernels.conv2d(x, wt, algo="f4", transform=str(path)), conv(x, wt, "f4", learned(4), "symmetric"))
    assert not np.allclose(kernels.conv2d(x, wt, algo="f4", transform=learned(4)), conv(x, wt, "f4", learned(4), "symmetric"))
