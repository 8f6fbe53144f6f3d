"""`bench kernels` and bench.native.kernel_model: the static model of a build's micro-kernels. A hand-written
aarch64 loop with a known answer checks the counting exactly; the real aarch64 builds check that
the GEMM loops are found and their figures fall in sane ranges (figures from llvm-mca's models
are deterministic for a given LLVM; no timing is asserted)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from bench.cli.main import main
from bench.native.kernel_model import Insn, dual_issue_cycles, model_binary

CROSS = shutil.which("aarch64-linux-gnu-gcc")
MCA = shutil.which("llvm-mca")
needs_tools = pytest.mark.skipif(not (CROSS and MCA), reason="needs gcc-aarch64-linux-gnu and llvm (make setup)")

# 7 stack references: 4 outside the loop (the prologue's stp and str, the epilogue's ldr and ldp),
# 3 inside it (sp and frame-pointer based); one non-stack load and one FMLA (8 flops) per iteration.
HAND_LOOP = """
    .text
    .global wb_test_ukernel_loop
    .type wb_test_ukernel_loop, %function
wb_test_ukernel_loop:
    stp x29, x30, [sp, #-32]!
    mov x29, sp
    str q8, [sp, #16]
1:
    ldr q0, [x0], #16
    ldr q1, [sp, #16]
    fmla v2.4s, v0.4s, v1.4s
    str q2, [x29, #16]
    ldp x2, x3, [sp]
    subs x1, x1, #1
    b.ne 1b
    add sp, sp, #0
    ldr q8, [sp, #16]
    ldp x29, x30, [sp], #32
    ret
    .size wb_test_ukernel_loop, .-wb_test_ukernel_loop
"""


# A tile array on the stack reached through a register made from sp (x19) and one copied from it
# (x20): 2 stack references in the loop; once x20 is overwritten by an address read from memory
# and x19 by arithmetic on an argument, their loads are not stack references.
DERIVED_LOOP = """
    .text
    .global wb_test_ukernel_tile
    .type wb_test_ukernel_tile, %function
wb_test_ukernel_tile:
    sub sp, sp, #256
    add x19, sp, #64
    mov x20, x19
1:
    ldr q0, [x19, #16]
    str q0, [x20], #16
    subs x1, x1, #1
    b.ne 1b
    ldr x20, [x0]
    ldr q1, [x20]
    add x19, x0, #8
    ldr q2, [x19]
    add sp, sp, #256
    ret
    .size wb_test_ukernel_tile, .-wb_test_ukernel_tile
"""


@pytest.fixture(scope="module")
def hand_object(tmp_path_factory):
    d = tmp_path_factory.mktemp("asm")
    (d / "loop.s").write_text(HAND_LOOP + DERIVED_LOOP)
    subprocess.run([CROSS, "-c", str(d / "loop.s"), "-o", str(d / "loop.o")], check=True, timeout=60)
    return d / "loop.o"


@needs_tools
def test_hand_written_loop_is_counted_exactly(hand_object):
    k, tile = model_binary(hand_object, "aarch64", ("cortex-a53", "a53-dual-issue", "cortex-a57"))
    assert (tile.name, tile.stack_refs, tile.loop["stack_refs"]) == ("wb_test_ukernel_tile", 2, 2)
    assert k.name == "wb_test_ukernel_loop"
    assert k.instructions == 14 and k.stack_refs == 7
    assert k.loop["instructions"] == 7 and k.loop["stack_refs"] == 3
    assert k.loop["flops"] == 8 and k.loop["macs"] == 0
    for model in ("cortex-a53", "cortex-a57"):
        r = k.models[model]
        assert 1 <= r["cycles"] < 50 and r["unparsed"] == 0
        assert r["flop_per_cycle"] == pytest.approx(8 / r["cycles"], abs=0.01)
    # 1 vector op + 3 q registers loaded/stored (2 cycles each) + 3 others pairing with nothing
    # left: 1 + 6 + ceil((3 - 1) / 2) = 8
    assert k.models["a53-dual-issue"]["cycles"] == 8


def test_dual_issue_rule():
    body = [Insn(0, "fmla", "v16.4s, v8.4s, v0.s[0]"), Insn(4, "ldr", "d10, [x5, #32]"),
            Insn(8, "fmla", "v17.4s, v9.4s, v0.s[0]"), Insn(12, "ins", "v10.d[1], x11"),
            Insn(16, "ldr", "q1, [x3], #16"), Insn(20, "fmla", "v18.4s, v9.4s, v0.s[1]")]
    # 3 FMLA + 2 for the q load + 1 shared by the d load and the INS
    assert dual_issue_cycles(body) == 3 + 2 + 1
    body.append(Insn(24, "ldr", "x9, [x5, #8]"))  # pairs with an FMLA: free
    assert dual_issue_cycles(body) == 6


@needs_tools
@pytest.mark.slow
@pytest.mark.parametrize("mcpu", ["cortex-a53", "cortex-a73"])
def test_real_build_gemm_loops(mcpu, tmp_path, capsys):
    out = tmp_path / "model.json"
    assert main(["kernels", "--mcpu", mcpu, "--json", str(out)]) == 0
    table = capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc["models"] == ["cortex-a53", "a53-dual-issue", "cortex-a57"]
    kernels = {k["name"]: k for k in doc["kernels"]}
    assert all(n.startswith("wb_") and "_ukernel_" in n.split(">")[0] for n in kernels)
    assert "wb_f32_gemm_ukernel_8x8__neon" in table and "wb_q8_gemm_ukernel_4x4c16__neon" in table
    f32 = kernels["wb_f32_gemm_ukernel_8x8__neon"]["loop"]
    assert f32["flops"] == 4 * 64 * 2 and f32["stack_refs"] == 0  # 4 k x 64 FMLA
    ld64 = kernels["wb_f32_gemm_ld64_ukernel_8x8__neon"]["loop"]
    assert ld64["flops"] == 2 * 64 * 2 and ld64["stack_refs"] == 0
    q8 = kernels["wb_q8_gemm_ukernel_4x4c16__neon"]["loop"]
    assert q8["macs"] == 16 * 16 and q8["stack_refs"] == 0
    for name in ("wb_f32_gemm_ukernel_8x8__neon", "wb_q8_gemm_ukernel_4x4c16__neon"):
        for model, r in kernels[name]["models"].items():
            frac = r["flop_peak_fraction"] if "f32" in name else r["mac_peak_fraction"]
            assert 0.05 < frac <= 1.01, (name, model, r)
    transforms = [n for n in kernels if "_winoin_" in n or "_winoout_" in n]
    assert len(transforms) >= 24  # every fp32 and int8 transform, static and learned
    assert all(kernels[n]["loop"] or ">" not in n for n in transforms)


@needs_tools
@pytest.mark.slow
def test_kernel_filter_and_bad_input(capsys):
    assert main(["kernels", "--kernel", "wb_q8_gemm_ukernel_4*", "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [k["name"] for k in doc["kernels"]] == ["wb_q8_gemm_ukernel_4x4c16__neon"]
    assert main(["kernels", "--kernel", "nothing_like_this*"]) == 2
    assert "matches no wb_* function" in capsys.readouterr().err
    assert main(["kernels", "--binary", "/nonexistent/wb-runner"]) == 2
    assert "is not a file" in capsys.readouterr().err
