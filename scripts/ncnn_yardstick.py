"""ncnn's Winograd F(4,3) stages under the static models the project scores its own kernels with: the
yardstick of kernels_c/README.md, "Against production engines". A benchmark, never a test.

    python scripts/ncnn_yardstick.py [--work DIR] [--json PATH] [--sdist FILE]

1. Downloads ncnn's source distribution from PyPI with pip (`pip download --no-binary ncnn
   --no-deps ncnn`; its setup.py versions itself by today's date, which newer pips refuse as an
   inconsistent version: the script then asks pip for the newest sdist by its URL), into a
   temporary directory that is removed afterwards (nothing of ncnn is committed).
2. Compiles a small driver that includes ncnn's own src/layer/arm/convolution_3x3_winograd.h and
   convolution_3x3_winograd_int8.h (their functions, unchanged; ncnn's Mat from its mat.h) with the
   project's cross compiler (aarch64-linux-gnu-g++, GCC 12 as aarch64-linux-gnu-gcc; Debian package
   g++-aarch64-linux-gnu) at -O3 for -mcpu=cortex-a53 and -mcpu=cortex-a73, ncnn's A53 GEMM path on
   for the a53 build, as its convolution_arm.cpp runs them on a 16x16x64->64 layer (input padded to
   18x18, 16 tiles).
3. Runs each stage once under `qemu-aarch64-static -d exec,nochain` (as kernels_c/tools/transform_mca.py
   does), takes the executed instruction stream of the call and scores it with llvm-mca's A53 and
   A57 models (the stream repeated 100 times) and the project's A53 dual-issue rules
   (bench.native.kernel_model), per unit of work: per tile x 4 channels for fp32 transforms (ncnn
   takes 8 at a time), per tile x 8 channels for int8, per 128-bit FMLA for the fp32 GEMM (a
   K = 64 panel, so the inner loop dominates).

Figures: A53 model / A53 rules from the a53 build, A57 model from the a73 build (LLVM has no A73
model), beside this project's from kernels_c/tools/transform_mca.py and `bench kernels`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.native.kernel_model import dual_issue_cycles  # noqa: E402

PIP_DEADLINE_S = 900
COMPILE_DEADLINE_S = 600
CXX = "aarch64-linux-gnu-g++"
BUILDS = {"a53": "cortex-a53", "a73": "cortex-a73"}


def _transform_mca():
    spec = importlib.util.spec_from_file_location("transform_mca", ROOT / "kernels_c" / "tools" / "transform_mca.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


TM = _transform_mca()

# The driver: ncnn's stage functions on one 16x16x64->64 layer, each wrapped in a function of its
# own (the stages are static inline in ncnn's headers) and called once. Buffers are external data
# of ncnn Mats (no ncnn library: the Mat methods used are inline in mat.h).
DRIVER = r"""
#include "platform.h"
#include "mat.h"
#include "option.h"
#include <arm_neon.h>
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <algorithm>
#include "layer/arm/arm_usability.h"
namespace ncnn {
/* what convolution_arm.cpp's includes give the headers, for one thread on an A53-class core */
static inline int get_omp_thread_num() { return 0; }
static inline int cpu_support_arm_asimdhp() { return 0; }
static inline int get_cpu_level2_cache_size() { return 512 * 1024; }
static inline int get_physical_big_cpu_count() { return 1; }
static inline int get_physical_cpu_count() { return 1; }
#include "layer/arm/convolution_3x3_winograd.h"
#include "layer/arm/convolution_3x3_winograd_int8.h"
}
using namespace ncnn;
enum { TILES = 16, B = 36, KK = 8, KG = 64, MM = 8 };
static float xin[18 * 18 * 64], btile[TILES * B * KK], bt[TILES * KK * B], bt64[TILES * KG * B];
static float at64[MM * KG * B], ttile[TILES * B * MM], yout[16 * 16 * MM];
static signed char xin8[18 * 18 * 64];
static short btile8[TILES * B * KK];
static int ttile8[TILES * B * MM], yout8[16 * 16 * MM];
#define NOINLINE extern "C" __attribute__((noinline))
NOINLINE void yard_fp32_input(void) {
    const Mat x(18, 18, 64 / 4, xin, 16u, 4);
    Mat t(TILES * B * KK, btile, 4u);
    conv3x3s1_winograd43_transform_input_tile(x, t, 0, TILES, 0, KK, 1);
}
NOINLINE void yard_fp32_repack(void) {
    const Mat t(TILES * B * KK, btile, 4u);
    Mat p(KK * TILES, B, bt, 4u);
    conv3x3s1_winograd_transpose_pack_B_tile(t, p, B, TILES, KK, 1);
}
NOINLINE void yard_fp32_gemm(int a53) {
    const Mat a(KG * MM, B, at64, 4u), b(KG * TILES, B, bt64, 4u);
    Mat c(TILES * B * MM, ttile, 4u);
    conv3x3s1_winograd_gemm_transB_packed_tile(a, b, c, B, MM, TILES, 0, KG, a53);
}
NOINLINE void yard_fp32_output(void) {
    const Mat t(TILES * B * MM, ttile, 4u), bias;
    Mat y(16, 16, MM / 4, yout, 16u, 4);
    conv3x3s1_winograd43_transform_output_tile(t, y, bias, 0, MM, 0, TILES);
}
NOINLINE void yard_int8_input(void) {
    const Mat x(18, 18, 64 / 8, xin8, 8u, 8);
    Mat t(TILES * B * KK, btile8, 2u);
    conv3x3s1_winograd43_transform_input_tile_int8(x, t, 0, TILES, 0, KK, 1);
}
NOINLINE void yard_int8_output(void) {
    const Mat t(TILES * B * MM, ttile8, 4u);
    Mat y(16, 16, MM / 8, yout8, 32u, 8);
    conv3x3s1_winograd43_transform_output_tile_int8(t, y, 0, MM, 0, TILES);
}
int main(int argc, char **argv) {
    for (size_t i = 0; i < sizeof xin / sizeof *xin; i++) xin[i] = (float)(i % 7) - 3, xin8[i] = (signed char)(i % 7 - 3);
    for (size_t i = 0; i < sizeof at64 / sizeof *at64; i++) at64[i] = 0.5f;
    for (size_t i = 0; i < sizeof bt64 / sizeof *bt64; i++) bt64[i] = 0.25f;
    for (size_t i = 0; i < sizeof ttile8 / sizeof *ttile8; i++) ttile8[i] = (int)(i % 13) - 6;
    yard_fp32_input(); yard_fp32_repack(); yard_fp32_gemm(argc > 1 && argv[1][0] == '1'); yard_fp32_output();
    yard_int8_input(); yard_int8_output();
    return (int)(yout[0] + yout8[0]) & 0;
}
"""

# (stage, wrapper, ncnn function, unit of work, units per call): per tile x 4 channels (fp32), x 8
# (int8), per 128-bit FMLA; gcc may keep the ncnn function apart from its wrapper (a static
# .constprop copy), so a stage's stream is the wrapper's and that function's
STAGES = [
    ("fp32 F(4,3) input", "yard_fp32_input", "conv3x3s1_winograd43_transform_input_tile", "tile x 4 channels", 32),
    ("fp32 F(4,3) repack (transpose_pack_B)", "yard_fp32_repack", "conv3x3s1_winograd_transpose_pack_B_tile",
     "tile x 4 channels", 32),
    ("fp32 F(4,3) output", "yard_fp32_output", "conv3x3s1_winograd43_transform_output_tile", "tile x 4 channels", 32),
    ("fp32 GEMM (gemm_transB_packed)", "yard_fp32_gemm", "conv3x3s1_winograd_gemm_transB_packed_tile", "128-bit FMLA",
     None),
    ("int8 F(4,3) input (int16 out, no requantization)", "yard_int8_input",
     "conv3x3s1_winograd43_transform_input_tile_int8", "tile x 8 channels", 16),
    ("int8 F(4,3) output (int32 in and out)", "yard_int8_output", "conv3x3s1_winograd43_transform_output_tile_int8",
     "tile x 8 channels", 16),
]


def download_sdist(dest: pathlib.Path) -> pathlib.Path:
    """ncnn's sdist from PyPI through pip; newer pips refuse its date-stamped version ("inconsistent
    version"), then the newest sdist pip discarded is fetched by its URL. Only ncnn itself as source:
    its build requirements come as wheels (from source, cmake alone outlasts the deadline)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-binary", "ncnn", "--no-deps", "-d", str(dest)]
    p = subprocess.run(cmd + ["ncnn"], capture_output=True, text=True, timeout=PIP_DEADLINE_S)
    if p.returncode != 0:
        urls = re.findall(r"Discarding (https://\S+?\.tar\.gz)", p.stdout + p.stderr)
        if not urls:
            raise SystemExit(f"pip download of ncnn failed:\n{(p.stdout + p.stderr)[-1500:]}")
        p = subprocess.run(cmd + [f"ncnn @ {urls[0]}"], capture_output=True, text=True, timeout=PIP_DEADLINE_S)
        if p.returncode != 0:
            raise SystemExit(f"pip download of {urls[0]} failed:\n{(p.stdout + p.stderr)[-1500:]}")
    sdists = sorted(dest.glob("ncnn-*.tar.gz"))
    if not sdists:
        raise SystemExit(f"pip left no ncnn sdist in {dest}")
    return sdists[-1]


def extract_src(sdist: pathlib.Path, dest: pathlib.Path) -> pathlib.Path:
    """ncnn's src/ (headers and the platform.h template) from the sdist, platform.h configured for
    an aarch64 Linux build with ncnn's inline-asm kernels and nothing else."""
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if re.match(r"[^/]+/src/", m.name) and m.isfile()
                   and not m.name.startswith("/") and ".." not in m.name]
        tar.extractall(dest, members=members, filter="data")
    src = next(dest.glob("*/src"))
    on = {"NCNN_STDIO", "NCNN_GNU_INLINE_ASM"}
    text = (src / "platform.h.in").read_text()
    text = re.sub(r"#cmakedefine01 (\w+)", lambda m: f"#define {m.group(1)} {int(m.group(1) in on)}", text)
    text = re.sub(r"#cmakedefine NCNN_VERSION_STRING .*", '#define NCNN_VERSION_STRING "yardstick"', text)
    text = re.sub(r"#cmakedefine NCNN_VERSION_NUMBER .*", "#define NCNN_VERSION_NUMBER 0", text)
    (src / "platform.h").write_text(text)
    (src / "ncnn_export.h").write_text("#pragma once\n#define NCNN_EXPORT\n#define NCNN_NO_EXPORT\n"
                                       "#define NCNN_DEPRECATED\n")
    return src


def compile_driver(src: pathlib.Path, mcpu: str, out: pathlib.Path) -> pathlib.Path:
    if shutil.which(CXX) is None:
        raise SystemExit(f"{CXX} not found: install the Debian package g++-aarch64-linux-gnu (GCC 12, the "
                         "C++ front end of the project's aarch64-linux-gnu-gcc)")
    (out.parent / "driver.cpp").write_text(DRIVER)
    subprocess.run([CXX, "-O3", f"-mcpu={mcpu}", "-static", "-I", str(src), str(out.parent / "driver.cpp"),
                    "-o", str(out)], check=True, timeout=COMPILE_DEADLINE_S)
    return out


def score(binary: pathlib.Path, a53_gemm: bool) -> dict:
    """{wrapper: {"a53", "a57", "a53_rules", "fmla"}} of one call each (the wrapper's executed
    instructions and its ncnn function's, if gcc kept that apart), the stream repeated 100 times
    under llvm-mca (cycles per call)."""
    funcs = TM.disassemble(str(binary))
    pcs = TM.trace_blocks(str(binary), "", argv=["1" if a53_gemm else "0"])
    out = {}
    for _, wrapper, ncnn_fn, _, _ in STAGES:
        mangled = re.compile(rf"(^{wrapper}|\d{ncnn_fn}E)")   # ..._tileE..., not ..._tile_int8E...
        stream = [x for name, ins in funcs.items() if mangled.search(name.split("@")[0])
                  for x in TM.dynamic_stream(ins, pcs)]
        out[wrapper] = {"a53": TM.mca(stream, "cortex-a53"), "a57": TM.mca(stream, "cortex-a57"),
                        "a53_rules": dual_issue_cycles(TM.as_insns(stream)),
                        "fmla": sum(op == "fmla" and ".4s" in args for _, op, args in stream)}
    return out


def table(a53: dict, a73: dict) -> list[dict]:
    rows = []
    for stage, fn, _, unit, units in STAGES:
        n53 = units or a53[fn]["fmla"]
        n73 = units or a73[fn]["fmla"]
        rows.append({"stage": stage, "unit": unit, "a53_model": a53[fn]["a53"] / n53,
                     "a53_rules": a53[fn]["a53_rules"] / n53, "a57_model": a73[fn]["a57"] / n73,
                     "a73_rules": a73[fn]["a53_rules"] / n73})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", help="working directory (default: a temporary one, removed)")
    p.add_argument("--sdist", help="use this ncnn sdist instead of downloading one")
    p.add_argument("--json", help="also write the rows to this JSON file")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ncnn-yardstick-") as tmp:
        work = pathlib.Path(a.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        sdist = pathlib.Path(a.sdist) if a.sdist else download_sdist(work / "dl")
        src = extract_src(sdist, work / "src")
        scores = {b: score(compile_driver(src, mcpu, work / f"driver-{b}"), b == "a53") for b, mcpu in BUILDS.items()}
        rows = table(scores["a53"], scores["a73"])
    print(f"ncnn {sdist.name}: F(4,3) on 16x16x64->64, {CXX} -O3; A53 model / A53 rules: -mcpu=cortex-a53 "
          "build; A57 model: -mcpu=cortex-a73 build (llvm-mca 14, the call's stream x 100)")
    print(f"{'stage':<48} {'per':<18} {'A53 model':>9} {'A53 rules':>9} {'A57 model':>9}")
    for r in rows:
        print(f"{r['stage']:<48} {r['unit']:<18} {r['a53_model']:9.1f} {r['a53_rules']:9.1f} {r['a57_model']:9.1f}")
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps({"sdist": sdist.name, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
