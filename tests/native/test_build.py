"""bench.native.build: cached builds keyed by a hash of sources, flags and compiler, each checked
against the digest recorded when it was built, in a build directory nobody else can write to; clear
errors for a missing compiler or SIMDe; the committed default-transform header is what the generator
writes."""

import hashlib
import importlib.util
import shutil
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


@pytest.fixture
def cached_build(tmp_path, monkeypatch):
    """A build directory of its own holding a copy of the cached host runner (with its digest)."""
    runner = build.build_runner("host")
    mine = tmp_path / "build"
    mine.mkdir(mode=0o755)
    shutil.copytree(runner.parent, mine / runner.parent.name)
    monkeypatch.setattr(build, "BUILD_DIR", mine)
    return mine / runner.parent.name / runner.name


def test_a_cached_runner_is_checked_against_its_recorded_digest(cached_build):
    assert build.build_runner("host") == cached_build                 # the cached copy, verified
    assert build.verified_digest(cached_build) == hashlib.sha256(cached_build.read_bytes()).hexdigest()
    with open(cached_build, "ab") as f:                                # changed since it was built
        f.write(b"\0")
    for call in (lambda: build.build_runner("host"), lambda: build.verified_digest(cached_build)):
        with pytest.raises(build.BuildError, match="does not match the sha256 recorded when it was built"):
            call()
    stray = cached_build.parent / "stray"
    stray.write_bytes(b"a file the build never made")
    with pytest.raises(build.BuildError, match="no recorded digest"):
        build.verified_digest(stray)


def test_a_deployment_refuses_a_runner_changed_since_its_build(cached_build):
    from bench.boards.profiles import load_board
    from bench.boards.transport import open_transport
    from bench.measure.deploy import Deployment

    with open(cached_build, "ab") as f:
        f.write(b"\0")
    board = load_board("local")
    with open_transport(board) as t, pytest.raises(build.BuildError, match="refusing to run or push it"):
        Deployment(t, board, cached_build)


def test_a_symlinked_or_shared_build_directory_is_refused(cached_build, tmp_path):
    tag = cached_build.parent
    elsewhere = tmp_path / "elsewhere"
    tag.rename(elsewhere)
    tag.symlink_to(elsewhere)                                          # a symlinked tag directory
    with pytest.raises(PermissionError, match="build directory is a symlink; refusing to use it"):
        build.build_runner("host")
    tag.unlink()
    elsewhere.rename(tag)
    tag.parent.chmod(0o777)                                            # anyone could put a runner there
    with pytest.raises(PermissionError, match=r"writable by others \(mode 777"):
        build.build_runner("host")
