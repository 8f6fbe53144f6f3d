"""Operations and memory traffic of each stage of a convolution: the arithmetic and memory terms of
the latency predictor (bench.analysis.predict) and the arithmetic intensity of the roofline (bench.analysis.plots).

A layer is H x W x Cin -> Cout, 3x3, stride 1, same padding unless its shape says otherwise. `e` is the element size of the
activations and weights (1 byte int8, 4 bytes fp32); GEMM results are `acc` = 4 bytes (int32 or
fp32). Operations count 2 per multiply-accumulate, as the runner's GOP/s do. Each buffer is counted
once per stage (ideal caching within the stage), so the intensity is the upper bound a roofline wants.

Winograd F(m x m, 3 x 3), a = m + 2, T = ceil(H/m) * ceil(W/m) tiles, P = a * a positions; a
matrix product with matrix X costs 2 nnz(X) operations per vector (multiply + add per non-zero):
nnz of the default Cook-Toom BT and AT for `static` (sparse code), full a*a and m*a for dense code
(`learned` and transform files).
  input   ops 2 T Cin (2 a nnz(BT))           (B^T d B: a columns, then a rows)
          bytes e H W Cin + e P T Cin          (read x, write V)
  gemm    ops 2 P T Cin Cout                   (P independent GEMMs of T x Cin by Cin x Cout)
          bytes e P (T Cin + Cin Cout) + acc P T Cout
  output  ops 2 T Cout (a nnz(AT) + m nnz(AT)) (A^T M A: a columns, then m rows)
          bytes acc P T Cout + e H W Cout
im2row, any k x k filter, stride and padding (Ho x Wo outputs, K = k k Cin):
  input   ops 0 (a copy)             bytes e H W Cin + e Ho Wo K    (read x, write the patches;
                                     nothing for 1x1 stride 1 unpadded, where the GEMM reads x)
  gemm    ops 2 Ho Wo K Cout         bytes e (Ho Wo K + K Cout) + acc Ho Wo Cout
  output  int8: ops Ho Wo Cout (requantize), bytes (acc + e) Ho Wo Cout; fp32: nothing (the GEMM
          writes y directly)
"""

from __future__ import annotations

import functools

import numpy as np
from bench.numerics.winograd import cook_toom

STAGES = ("input", "gemm", "output")
ACC_BYTES = 4


@functools.lru_cache(maxsize=None)
def _nonzeros(m: int, transform: str) -> tuple[int, int]:
    """(nnz(BT), nnz(AT)) of the code that runs: sparse for static, dense otherwise."""
    a = m + 2
    if transform != "static":
        return a * a, m * a

    t = cook_toom(m)
    return int(np.count_nonzero(t.BT)), int(np.count_nonzero(t.AT))


def stage_work(algo: str, bits: int, shape, transform: str = "static") -> dict[str, tuple[float, float]]:
    """{stage: (operations, bytes)} for one layer (h, w, cin, cout[, k, stride, pad]) and operator, by
    the formulas above (3x3 stride 1 padding 1 when the shape has no filter)."""
    h, w, cin, cout, *flt = shape
    e = 1 if int(bits) == 8 else 4
    if algo == "im2row":
        k, stride, pad = flt or (3, 1, 1)
        hw, kk = ((h + 2 * pad - k) // stride + 1) * ((w + 2 * pad - k) // stride + 1), k * k * cin
        output = (float(hw * cout), float((ACC_BYTES + e) * hw * cout)) if e == 1 else (0.0, 0.0)
        direct = (k, stride, pad) == (1, 1, 0)
        return {"input": (0.0, 0.0 if direct else float(e * (h * w * cin + hw * kk))),
                "gemm": (2.0 * hw * kk * cout, float(e * (hw * kk + kk * cout) + ACC_BYTES * hw * cout)),
                "output": output}
    m = int(algo[1:])
    a = m + 2
    t = -(-h // m) * -(-w // m)
    p = a * a
    nnz_bt, nnz_at = _nonzeros(m, transform)
    return {"input": (4.0 * a * nnz_bt * t * cin, float(e * h * w * cin + e * p * t * cin)),
            "gemm": (2.0 * p * t * cin * cout, float(e * p * (t * cin + cin * cout) + ACC_BYTES * p * t * cout)),
            "output": (2.0 * (a + m) * nnz_at * t * cout, float(ACC_BYTES * p * t * cout + e * h * w * cout))}
