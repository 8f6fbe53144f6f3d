"""Builds the C kernels of kernels_c/: the static `wb-runner` (host through SIMDe, or aarch64) and
the host shared library behind `bench.native.kernels`. There is one source list and one flag list for
every build (kernels_c/Makefile calls this module too); each build is cached under
kernels_c/build/ by a hash of the sources, the flags and the compiler, so a second call with the
same inputs does not recompile. The sha256 of each built file is recorded beside it
(`wb-runner.sha256`) and checked before a cached file is used, run or pushed (`verified_digest`); a
build directory that is a symlink or writable by others is refused.

    python -m bench.native.build host                      # prints the path of the host wb-runner
    python -m bench.native.build aarch64 --mcpu cortex-a73
    python -m bench.native.build host --library            # the shared library of bench.native.kernels
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from bench.files import build_dir, check_private_dir, kernels_dir, read_bytes, replacing

KERNELS = kernels_dir()
BUILD_DIR = build_dir()
TARGETS = ("host", "aarch64")
DEFAULT_MCPU = {"host": "native", "aarch64": "cortex-a53"}
COMPILERS = {"host": "gcc", "aarch64": "aarch64-linux-gnu-gcc"}
# In-order cores get the GEMM variants whose loads dual-issue with FMLA (wb_f32_ukernels.h).
INORDER_CORES = ("cortex-a35", "cortex-a53", "cortex-a55")
COMPILER_PACKAGES = {"host": "gcc", "aarch64": "gcc-aarch64-linux-gnu"}

# ISO C11: gcc then never contracts a*b+c into an FMA on its own (-ffp-contract=off says it
# again), so host and aarch64 builds round identically; FMAs are explicit vfmaq_f32 calls.
COMMON_FLAGS = ("-std=c11", "-O3", "-ffp-contract=off", "-D_GNU_SOURCE", "-pthread",
                "-Wall", "-Wextra", "-Wno-unused-parameter")


class BuildError(RuntimeError):
    """A build could not run or failed; the message names the missing tool or the compiler error."""


def target_flags(target: str = "host", mcpu: str | None = None, *, dotprod: bool = False) -> list[str]:
    """Flags that depend on the target: host builds use -march (native by default, which must
    include FMA), aarch64 builds -mcpu (cortex-a53 by default; +dotprod for v8.2 cores)."""
    if target not in TARGETS:
        raise BuildError(f"unknown target {target!r}; accepted: {', '.join(TARGETS)}")
    mcpu = mcpu or DEFAULT_MCPU[target]
    if target == "host":
        if dotprod:
            raise BuildError("dotprod builds are for aarch64 targets only")
        # 128-bit vectors only, as on NEON: no widening of the emulated code to AVX/AVX-512.
        return [f"-march={mcpu}", "-mprefer-vector-width=128"]
    return [f"-mcpu={mcpu}+dotprod" if dotprod else f"-mcpu={mcpu}", "-DWB_DOTPROD=%d" % dotprod,
            "-DWB_INORDER_CORE=%d" % (mcpu.split("+")[0] in INORDER_CORES)]


def flags(target: str = "host", mcpu: str | None = None, *, dotprod: bool = False) -> list[str]:
    return [*COMMON_FLAGS, *target_flags(target, mcpu, dotprod=dotprod),
            "-I", str(KERNELS / "include"), "-I", str(KERNELS / "src")]


def library_sources() -> list[pathlib.Path]:
    """Every kernel source: kernels_c/src/*.c, the int8 ones included, less the file-name patterns
    in $WB_BUILD_EXCLUDE (comma-separated, e.g. "q8*": a development aid while one family of
    kernels is half-written; the hash covers the list, so such builds are cached apart)."""
    exclude = [p for p in os.environ.get("WB_BUILD_EXCLUDE", "").split(",") if p]
    return sorted(p for p in (KERNELS / "src").glob("*.c") if not any(p.match(x) for x in exclude))


def source_defines() -> tuple[str, ...]:
    """Defines the source list implies: WB_WITHOUT_Q8 when the int8 registry file is left out, so the
    kernel table (src/wb_registry.c) names no int8 kernel."""
    return () if KERNELS / "src" / "q8-registry.c" in library_sources() else ("WB_WITHOUT_Q8",)


def runner_sources() -> list[pathlib.Path]:
    return library_sources() + sorted((KERNELS / "runner").glob("*.c"))


def _hashed_files() -> list[pathlib.Path]:
    headers = []
    for sub in ("include", "src", "runner"):
        headers += [p for p in (KERNELS / sub).glob("*") if p.suffix in (".h", ".inc")]
    return sorted(headers) + runner_sources()


def _compiler_identity(cc: str, target: str, mcpu: str | None) -> str:
    """Compiler version, plus the CPU model and features when -march=native decides the code."""
    version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    if target == "host" and (mcpu or "native") == "native":
        try:
            lines = pathlib.Path("/proc/cpuinfo").read_text().splitlines()
            version += "|" + "|".join(sorted({l for l in lines if l.startswith(("model name", "flags"))}))
        except OSError:
            pass
    return version


def _require_compiler(target: str) -> str:
    cc = COMPILERS[target]
    if shutil.which(cc) is None:
        raise BuildError(f"C compiler {cc} not found: install the Debian package "
                         f"{COMPILER_PACKAGES[target]} (`make setup` does)")
    return cc


def build_hash(target: str = "host", mcpu: str | None = None, *, dotprod: bool = False,
               defines: tuple[str, ...] = ()) -> str:
    """16 hex digits identifying a build: sources, flags and compiler. Results record it."""
    cc = _require_compiler(target)
    h = hashlib.sha256()
    h.update(_compiler_identity(cc, target, mcpu).encode())
    h.update("\0".join(COMMON_FLAGS + tuple(target_flags(target, mcpu, dotprod=dotprod))).encode())
    h.update("\0".join(f"-D{d}" for d in defines).encode())
    for path in _hashed_files():
        h.update(str(path.relative_to(KERNELS)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def check_simde(cc: str = "gcc", header: str = "simde/arm/neon.h") -> None:
    """Raises BuildError when the host compiler cannot find SIMDe's NEON header."""
    probe = subprocess.run([cc, "-xc", "-E", "-o", os.devnull, "-"], input=f"#include <{header}>\n",
                           capture_output=True, text=True)
    if probe.returncode != 0:
        raise BuildError(f"SIMDe headers not found ({header}): install the Debian package "
                         "libsimde-dev (`make setup` does)")


def _c_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _compile(cc, cmd_flags, sources, out: pathlib.Path, library: bool, info: str):
    """Compiles sources to objects in parallel, then links out (a shared library, position-independent,
    or a static executable); output appears atomically."""
    extra_link, pic = (["-shared"], True) if library else (["-static"], False)
    with tempfile.TemporaryDirectory(dir=_private(BUILD_DIR), prefix="tmp-") as tmp:
        tmp = pathlib.Path(tmp)
        info_c = tmp / "wb_build_info.c"
        info_c.write_text(info)
        pic_flags = ["-fPIC"] if pic else []

        def one(i_src):
            i, src = i_src
            obj = tmp / f"{i:03d}-{src.stem}.o"
            r = subprocess.run([cc, *cmd_flags, *pic_flags, "-c", str(src), "-o", str(obj)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise BuildError(f"compiling {src.name} failed:\n{r.stderr.strip()}")
            return obj

        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
            objs = list(ex.map(one, enumerate([*sources, info_c])))
        linked = tmp / out.name
        r = subprocess.run([cc, *cmd_flags, *pic_flags, *map(str, objs), "-o", str(linked),
                            *extra_link, "-lm"], capture_output=True, text=True)
        if r.returncode != 0:
            raise BuildError(f"linking {out.name} failed:\n{r.stderr.strip()}")
        _private(out.parent)
        os.replace(linked, out)
        record_digest(out)
    return out


def _private(directory: pathlib.Path) -> pathlib.Path:
    """A build directory, created if missing (not writable by others), refused when it is a symlink
    or others can write to it: what is found there is executed and pushed to boards."""
    directory.mkdir(mode=0o755, parents=True, exist_ok=True)
    return check_private_dir(directory, "build directory")


def _digest_file(path: pathlib.Path) -> pathlib.Path:
    return path.with_name(path.name + ".sha256")


def _sha256(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def record_digest(path: pathlib.Path) -> str:
    """Record the sha256 of a file just built beside it (`NAME.sha256`)."""
    digest = _sha256(path)
    with replacing(_digest_file(path)) as tmp:
        tmp.write_text(digest + "\n")
    return digest


def verified_digest(path: pathlib.Path) -> str:
    """The sha256 of a built file after checking it against the one recorded when it was built;
    BuildError naming the file when there is no record or it does not match."""
    path = pathlib.Path(path)
    try:
        recorded = read_bytes(_digest_file(path), "build digest", limit=256).decode("ascii", "replace").strip()
    except FileNotFoundError:
        raise BuildError(f"{path} has no recorded digest ({_digest_file(path).name}): not built by "
                         f"bench.native.build; refusing to run or push it") from None
    actual = _sha256(path)
    if actual != recorded:
        raise BuildError(f"{path} does not match the sha256 recorded when it was built (changed since); "
                         f"refusing to run or push it; remove {path.parent} to rebuild")
    return actual


def _build(target, mcpu, dotprod, *, library: bool, defines: tuple[str, ...] = ()) -> pathlib.Path:
    cc = _require_compiler(target)
    defines = tuple(defines) + source_defines()
    digest = build_hash(target, mcpu, dotprod=dotprod, defines=defines)
    name = "libwb.so" if library else "wb-runner"
    tag = f"{target}-{mcpu or DEFAULT_MCPU[target]}{'-dotprod' if dotprod else ''}-{digest}"
    out = _private(BUILD_DIR) / tag / name
    if os.path.lexists(out.parent):
        check_private_dir(out.parent, "build directory")
    if out.exists() and _digest_file(out).exists():
        verified_digest(out)
        return out
    if target == "host":
        check_simde(cc)
    extra = tuple(f"-D{d}" for d in defines)
    cmd_flags = flags(target, mcpu, dotprod=dotprod) + list(extra)
    cflags = " ".join(COMMON_FLAGS + tuple(target_flags(target, mcpu, dotprod=dotprod)) + extra)
    info = (f"const char wb_build_cflags[] = {_c_string(cflags)};\n"
            f"const char wb_build_hash[] = {_c_string(digest)};\n")
    if library:
        return _compile(cc, cmd_flags, library_sources(), out, True, info)
    return _compile(cc, cmd_flags, runner_sources(), out, False, info)


def build_runner(target: str = "host", mcpu: str | None = None, *, dotprod: bool = False,
                 defines: tuple[str, ...] = ()) -> pathlib.Path:
    """Builds (or finds in the cache) the static wb-runner for target ("host" or "aarch64") and
    returns its path. mcpu: -march value on the host (default native), -mcpu on aarch64
    (default cortex-a53). `defines` ("NAME=VALUE", passed as -D) are for test builds only, such as
    the deliberately slowed kernel of tests/test_compare.py; they change the build hash."""
    return _build(target, mcpu, dotprod, library=False, defines=tuple(defines))


def build_library(mcpu: str | None = None) -> pathlib.Path:
    """Builds (or finds) the host shared library loaded by bench.native.kernels."""
    return _build("host", mcpu, False, library=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.native.build", description=__doc__.split("\n\n")[0])
    p.add_argument("target", choices=TARGETS)
    p.add_argument("--mcpu", help="host: -march value (default native); aarch64: -mcpu (default cortex-a53)")
    p.add_argument("--dotprod", action="store_true", help="aarch64 only: enable the v8.2 dot product")
    p.add_argument("--library", action="store_true", help="build the host shared library instead")
    p.add_argument("--hash", action="store_true", help="print the build hash instead of building")
    a = p.parse_args(argv)
    try:
        if a.hash:
            print(build_hash(a.target, a.mcpu, dotprod=a.dotprod))
        elif a.library:
            if a.target != "host":
                raise BuildError("the shared library is built for the host only")
            print(build_library(a.mcpu))
        else:
            print(build_runner(a.target, a.mcpu, dotprod=a.dotprod))
    except BuildError as e:
        print(f"bench.native.build: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
