"""kernels_c/kernels.toml, the one table of the C kernels, against what it generates (the
instantiation files, the registry's list, the int8 default matrices), the kernel files of
kernels_c/src/, the registry of the host library, and the Python side's vocabulary."""

import importlib.util
import re

import numpy as np
import pytest

from bench.native import build, kernels

SRC = build.KERNELS / "src"
KERNEL_FILE = re.compile(r"^(f32|q8)-(gemm|packb|im2row|winoin|winoout)-.*\.c$")


def _generator():
    spec = importlib.util.spec_from_file_location("gen_kernels", build.KERNELS / "tools" / "gen_kernels.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen


GEN = _generator()
TABLE = GEN.load()


def test_generated_files_are_current(tmp_path):
    """Regenerated into a temporary directory, every generated file equals the committed one
    (`make -C kernels_c generate` rewrites them), and src/ holds no generated file the table
    no longer makes."""
    written = {p.name for p in GEN.write(tmp_path, TABLE)}
    stale = [n for n in sorted(written) if (tmp_path / n).read_text() != (SRC / n).read_text()]
    assert not stale, f"stale, run `make -C kernels_c generate`: {stale}"
    marked = {p.name for p in SRC.iterdir() if p.is_file() and GEN.MARK in p.read_text()}
    assert marked == written


def _grammar_name(file_name: str) -> str:
    """f32-gemm-8x8-ld64-neon.c -> wb_f32_gemm_ld64_ukernel_8x8__neon (kernels_c/README.md)."""
    dtype, op, shape, *variant, isa = file_name[:-2].split("-")
    return f"wb_{'_'.join([dtype, op, *variant])}_ukernel_{shape}__{isa}"


def test_every_kernel_file_is_in_the_table_and_defines_its_name():
    winograd = {GEN.file_name(k): k for k in TABLE["winograd"]}
    listed = set(winograd) | set(TABLE["gemm_and_packing"])
    assert len(listed) == len(winograd) + len(TABLE["gemm_and_packing"])
    on_disk = {p.name for p in SRC.glob("*.c") if KERNEL_FILE.match(p.name)}
    assert on_disk == listed
    for name in sorted(listed):
        text = (SRC / name).read_text()
        assert re.search(rf"\b{_grammar_name(name)}\b", text), name
        if name in winograd:
            assert GEN.function_name(winograd[name]) == _grammar_name(name)
            assert (GEN.MARK in text) != bool(winograd[name].get("hand_written")), name


@pytest.mark.parametrize("conv", TABLE["convs"], ids=lambda c: c["name"])
def test_the_registry_finds_each_conv_of_the_table(conv):
    """wb_conv_create on the conv's (bits, algo, transform, scheme) gives the kernel of that name:
    the table, the generated list and each kernel's own wb_kernel agree."""
    x = kernels.gaussian((1, 5, 5, 3), 1)
    w = kernels.gaussian((3, 3, 3, 2), 2)
    transform = "static" if conv["transform"] == "none" else conv["transform"]
    _, times = kernels.conv2d_timed(x, w, kernels.ConvOp(conv["algo"], conv["bits"], transform, conv["scheme"]))
    assert times.kernel == conv["name"]
    assert np.isfinite(times.total_ms).all()
