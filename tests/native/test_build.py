"""bench.native.build: cached builds keyed by a hash of sources, flags and compiler; clear errors for a
missing compiler or SIMDe; the committed default-transform header is what the generator writes."""

import importlib.util
import subprocess

import pytest

from bench.native import build

pytestmark = pytest.mark.slow   # cold builds of the runner and the library


def test_second_build_is_cached(tmp_path):
    first = build.build_runner("host")
    stamp = first.stat().st_mtime_ns
    again = build.build_runner("host")
    assert again == first and again.stat().st_mtime_ns == stamp  # not recompiled
    assert first.parent.name.endswith(build.build_hash("host"))
    lib = build.build_library()
    assert build.build_library() == lib and lib.name == "libwb.so"


def test_build_hash_depends_on_target_flags():
    h = build.build_hash("host")
    assert len(h) == 16 and h == build.build_hash("host")
    assert h != build.build_hash("host", "x86-64-v3")
    a53 = build.build_hash("aarch64", "cortex-a53")
    assert len({a53, build.build_hash("aarch64", "cortex-a73"),
                build.build_hash("aarch64", "cortex-a55", dotprod=True)}) == 3


def test_flags():
    host = build.flags("host")
    assert "-std=c11" in host and "-ffp-contract=off" in host and "-march=native" in host
    assert "-mcpu=cortex-a73" in build.flags("aarch64", "cortex-a73")
    assert "-mcpu=cortex-a55+dotprod" in build.flags("aarch64", "cortex-a55", dotprod=True)
    # in-order cores get the GEMMs whose loads dual-issue (wb_f32_ukernels.h), others the default
    assert "-DWB_INORDER_CORE=1" in build.flags("aarch64", "cortex-a53")
    assert "-DWB_INORDER_CORE=0" in build.flags("aarch64", "cortex-a73")
    with pytest.raises(build.BuildError, match="unknown target"):
        build.flags("riscv")
    with pytest.raises(build.BuildError, match="aarch64 targets only"):
        build.flags("host", dotprod=True)


def test_missing_compiler_is_named(monkeypatch):
    monkeypatch.setitem(build.COMPILERS, "aarch64", "no-such-aarch64-gcc")
    with pytest.raises(build.BuildError, match="no-such-aarch64-gcc not found"):
        build.build_runner("aarch64")


def test_missing_simde_is_named():
    build.check_simde("gcc")  # present here
    with pytest.raises(build.BuildError, match="SIMDe headers not found.*libsimde-dev"):
        build.check_simde("gcc", "simde/arm/no-such-header.h")


def test_host_without_fma_is_refused():
    """-march without FMA would make SIMDe round vfmaq_f32 twice: wb_neon.h stops the build."""
    with pytest.raises(build.BuildError, match="need FMA"):
        build.build_runner("host", "x86-64")


@pytest.mark.parametrize("target", ["host", "aarch64"])
def test_runner_is_static(target):
    if target == "aarch64" and build.shutil.which("aarch64-linux-gnu-gcc") is None:
        pytest.skip("no cross compiler")
    path = build.build_runner(target)
    headers = subprocess.run(["readelf", "-l", str(path)], capture_output=True, text=True).stdout
    assert "INTERP" not in headers  # no dynamic loader: runs on a board with nothing installed


def test_default_transform_header_is_regenerated_identically():
    spec = importlib.util.spec_from_file_location("gen", build.KERNELS / "tools" / "gen_default_transforms.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    from bench.numerics.winograd import cook_toom

    assert gen.HEADER.read_text() == gen.render(cook_toom)


def test_cli_prints_paths(capsys):
    assert build.main(["host"]) == 0
    assert capsys.readouterr().out.strip() == str(build.build_runner("host"))
    assert build.main(["host", "--hash"]) == 0
    assert capsys.readouterr().out.strip() == build.build_hash("host")
