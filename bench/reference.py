"""float64 numpy references for every kernel, and the int8 pipelines the C kernels match bit for bit.

Layouts: activations NHWC (1, H, W, C), weights HWIO (r, r, Cin, Cout); stride 1, "same" zero padding
(r // 2 on each side). Clarity first, vectorised so that a 32x32x64->64 layer takes well under a second.

The int8 scheme (the contract with kernels_c/; every step is integer or a single IEEE operation, so C
and numpy agree to the bit)
-------------------------------------------------------------------------------------------------
round_half_away(v)  for a double v:  v >= 0 ? floor(v + 0.5) : -floor(-v + 0.5)

1. Inputs and weights, symmetric per tensor:  amax = max |x| (as double);  s = amax / 127.0 (s = 1.0
   when amax == 0);  q = clamp(round_half_away((double)x / s), -127, 127) as int8. -128 is never used,
   so two int8 x int8 products always fit an int16 (2 * 127 * 127 = 32258).
2. Requantization of an integer tensor T (int32 or int64) to int8, "fp32 requantization" as in
   XNNPACK's ARMv8 kernels:  amax = max |T| over the tensor;  mult = (float)(127.0 / amax)  (the
   double quotient rounded once to float32; mult = 1.0f when amax == 0);
   q = clamp(rint_f32((float)T * mult), -127, 127)  where (float)T rounds to nearest-even (vcvtq_f32_s32
   / scvtf), the product is one float32 multiply (never fused), and rint_f32 rounds half to even
   (vcvtnq_s32_f32). The real scale of q is  scale(T) / mult.
3. Transform matrices are quantized to integers with a power-of-two scale:  Tq = round_half_away(T * 2^k)
   with k the smallest k in 0..30 that makes T * 2^k integral and keeps every row's L1 norm of Tq
   within LIMIT; when no such k exists (non-dyadic or learned entries), the largest k within LIMIT.
   LIMIT = 4096 for BT and AT (then 127 * 4096^2 < 2^31, so BTq d BTq^T and ATq P ATq^T fit int32
   for any int8 d, P) and 32768 for G (the weight transform is offline, in int64). Cook-Toom matrices
   with dyadic points are therefore exact: BT and AT of F(2,3) and F(4,3) get k = 0, F(6,3) gets
   k = 2 for BT and k = 5 for AT.
4. im2row int8:  acc = sum over the 9 * Cin patch of xq * wq in int32; output = requant(acc), one step.
5. Winograd int8, one quantization step after each stage as in Winograd-aware networks:
     V  = BTq d BTq^T  per a x a input tile d of xq (zero padding, edge tiles included)  -> int32
     V8 = requant(V)           amax over all tiles, all positions, all channels
     U  = Gq g Gq^T   per (cin, cout) from wq, offline                                    -> int64
     U8 = requant(U)           amax over the whole transformed weight tensor
     M  = sum_cin V8 * U8  per Winograd position (the batched GEMM)                        -> int32
     P8 = requant(M)           amax over all positions, tiles and output channels
     Y  = ATq P8 ATq^T  per tile                                                           -> int32
     Y8 = requant(Y)           amax over the valid H x W outputs only (edge-tile overhang excluded)
   Real scales: s_V = s_x 2^-2kB / mult_V, s_U = s_w 2^-2kG / mult_U, s_P = s_V s_U / mult_P,
   s_Y = s_P 2^-2kA / mult_Y; the dequantized output is Y8 * s_Y.
   The amax of each stage is calibrated on the data being convolved (a calibration set of one
   sample, done before timing); the timed kernels then apply fixed multipliers, as a deployed
   network would.
"""

from __future__ import annotations

import math

import numpy as np

from bench.winograd import Transform, cook_toom

BT_AT_LIMIT = 4096
G_LIMIT = 32768


# ---------------------------------------------------------------------------------------------
# float64 references

def _check_shapes(x, w):
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"x must be NHWC with batch 1, got shape {x.shape}")
    if w.ndim != 4 or w.shape[0] != w.shape[1] or w.shape[0] % 2 == 0:
        raise ValueError(f"w must be HWIO with an odd square kernel, got shape {w.shape}")
    if w.shape[2] != x.shape[3]:
        raise ValueError(f"Cin mismatch: x has {x.shape[3]} channels, w expects {w.shape[2]}")
    return x, w


def _pad(x, before, after_h, after_w):
    return np.pad(x, ((0, 0), (before, after_h), (before, after_w), (0, 0)))


def conv2d_direct(x, w) -> np.ndarray:
    """Direct convolution: y[h, w] = sum over (i, j, cin) of xpad[h+i, w+j, cin] * w[i, j, cin, :]."""
    x, w = _check_shapes(x, w)
    r = w.shape[0]
    _, H, W, _ = x.shape
    xp = _pad(x, r // 2, r // 2, r // 2)
    y = np.zeros((1, H, W, w.shape[3]))
    for i in range(r):
        for j in range(r):
            y += xp[:, i:i + H, j:j + W, :] @ w[i, j]
    return y


def im2row(x: np.ndarray, r: int) -> np.ndarray:
    """Patch matrix [H*W, r*r*Cin], columns ordered (i, j, cin) like HWIO weights flattened."""
    _, H, W, C = x.shape
    xp = _pad(x, r // 2, r // 2, r // 2)
    cols = [xp[0, i:i + H, j:j + W, :] for i in range(r) for j in range(r)]
    return np.stack(cols, axis=2).reshape(H * W, r * r * C)


def conv2d_im2row(x, w) -> np.ndarray:
    """im2row: patch matrix times the weights flattened to [r*r*Cin, Cout]."""
    x, w = _check_shapes(x, w)
    _, H, W, _ = x.shape
    y = im2row(x, w.shape[0]) @ w.reshape(-1, w.shape[3])
    return y.reshape(1, H, W, w.shape[3])


def input_tiles(x: np.ndarray, m: int, r: int) -> np.ndarray:
    """Overlapping a x a tiles [tiles_h, tiles_w, a, a, C] of the zero-padded input; tile (i, j)
    produces outputs [i*m, i*m + m) x [j*m, j*m + m), the overhang past H, W is discarded later."""
    _, H, W, C = x.shape
    a = m + r - 1
    th, tw = -(-H // m), -(-W // m)
    pad = r // 2
    xp = _pad(x, pad, th * m + a - m - pad - H, tw * m + a - m - pad - W)[0]
    s0, s1, s2 = xp.strides
    return np.lib.stride_tricks.as_strided(xp, (th, tw, a, a, C), (m * s0, m * s1, s0, s1, s2), writeable=False)


def untile(Y: np.ndarray, H: int, W: int) -> np.ndarray:
    """[tiles_h, tiles_w, m, m, C] output tiles -> (1, H, W, C), overhang cropped."""
    th, tw, m, _, C = Y.shape
    return Y.transpose(0, 2, 1, 3, 4).reshape(1, th * m, tw * m, C)[:, :H, :W, :]


def conv2d_winograd(x, w, t: Transform | None = None) -> np.ndarray:
    """Winograd convolution with any transform (default F(4,3)), edge tiles included."""
    x, w = _check_shapes(x, w)
    t = t or cook_toom(4, w.shape[0])
    if t.r != w.shape[0]:
        raise ValueError(f"transform is for r = {t.r} but the kernel is {w.shape[0]} x {w.shape[0]}")
    _, H, W, _ = x.shape
    V = np.einsum("ij,hwjkc,lk->hwilc", t.BT, input_tiles(x, t.m, t.r), t.BT, optimize=True)
    U = np.einsum("ij,jkcd,lk->ilcd", t.G, w, t.G, optimize=True)
    M = np.einsum("hwijc,ijcd->hwijd", V, U, optimize=True)
    Y = np.einsum("ij,hwjkd,lk->hwild", t.AT, M, t.AT, optimize=True)
    return untile(Y, H, W)


# ---------------------------------------------------------------------------------------------
# The int8 scheme (see the module docstring)

def round_half_away(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return np.where(v >= 0, np.floor(v + 0.5), -np.floor(-v + 0.5))


def quantize_symmetric(x) -> tuple[np.ndarray, float]:
    """Float tensor -> (int8 tensor, scale): step 1 of the scheme."""
    x = np.asarray(x, dtype=np.float64)
    amax = float(np.max(np.abs(x))) if x.size else 0.0
    scale = amax / 127.0 if amax > 0 else 1.0
    return np.clip(round_half_away(x / scale), -127, 127).astype(np.int8), scale


def requant_multiplier(amax: int) -> np.float32:
    """float32(127 / amax), 1.0 for an all-zero tensor: step 2 of the scheme."""
    return np.float32(127.0 / amax) if amax > 0 else np.float32(1.0)


def requantize(T: np.ndarray, amax: int | None = None) -> tuple[np.ndarray, np.float32]:
    """Integer tensor -> (int8 tensor, multiplier): step 2 of the scheme."""
    T = np.asarray(T)
    if amax is None:
        amax = int(np.max(np.abs(T.astype(np.int64)))) if T.size else 0
    mult = requant_multiplier(amax)
    q = np.rint(T.astype(np.float32) * mult)
    return np.clip(q, -127, 127).astype(np.int8), mult


def quantize_matrix(T: np.ndarray, limit: int) -> tuple[np.ndarray, int]:
    """Transform matrix -> (int64 matrix Tq, k) with Tq ~ T * 2^k: step 3 of the scheme."""
    T = np.asarray(T, dtype=np.float64)
    best = None
    for k in range(31):
        Tq = round_half_away(T * 2.0 ** k)
        if np.max(np.sum(np.abs(Tq), axis=1)) > limit:
            break
        best = (Tq.astype(np.int64), k)
        if np.array_equal(Tq, T * 2.0 ** k):
            return best
    if best is None:
        raise ValueError(f"transform matrix has a row whose L1 norm exceeds {limit} even unscaled")
    return best


def conv2d_im2row_int8(x, w) -> dict:
    """int8 im2row (step 4). Returns a dict with the dequantized float64 output `y` and the integer
    intermediates (`xq`, `wq`, `y8`) and scales, so kernels can be compared bit for bit."""
    x, w = _check_shapes(x, w)
    _, H, W, _ = x.shape
    xq, s_x = quantize_symmetric(x)
    wq, s_w = quantize_symmetric(w)
    acc = im2row(xq.astype(np.int64), w.shape[0]) @ wq.reshape(-1, w.shape[3]).astype(np.int64)
    y8, mult = requantize(acc)
    s_y = s_x * s_w / float(mult)
    y8 = y8.reshape(1, H, W, w.shape[3])
    return {"y": y8 * s_y, "y8": y8, "xq": xq, "wq": wq, "s_x": s_x, "s_w": s_w, "s_y": s_y}


def winograd_int8_stages(x, w, t: Transform | None = None) -> dict:
    """int8 Winograd (step 5) with every intermediate: xq, wq, V8, U8, P8, Y8 (tile layouts as in
    conv2d_winograd), the matrix exponents kB, kG, kA, the multipliers and real scales, and `y`,
    the dequantized float64 output."""
    x, w = _check_shapes(x, w)
    t = t or cook_toom(4, w.shape[0])
    _, H, W, _ = x.shape
    xq, s_x = quantize_symmetric(x)
    wq, s_w = quantize_symmetric(w)
    BTq, kB = quantize_matrix(t.BT, BT_AT_LIMIT)
    Gq, kG = quantize_matrix(t.G, G_LIMIT)
    ATq, kA = quantize_matrix(t.AT, BT_AT_LIMIT)

    d = input_tiles(xq.astype(np.int64), t.m, t.r)
    V = np.einsum("ij,hwjkc,lk->hwilc", BTq, d, BTq, optimize=True)
    V8, mult_V = requantize(V)
    U = np.einsum("ij,jkcd,lk->ilcd", Gq, wq.astype(np.int64), Gq, optimize=True)
    U8, mult_U = requantize(U)
    M = np.einsum("hwijc,ijcd->hwijd", V8.astype(np.int64), U8.astype(np.int64), optimize=True)
    P8, mult_P = requantize(M)
    Y = np.einsum("ij,hwjkd,lk->hwild", ATq, P8.astype(np.int64), ATq, optimize=True)
    amax_Y = int(np.max(np.abs(untile(Y, H, W)))) if Y.size else 0
    Y8, mult_Y = requantize(Y, amax_Y)

    s_V = s_x * 2.0 ** (-2 * kB) / float(mult_V)
    s_U = s_w * 2.0 ** (-2 * kG) / float(mult_U)
    s_P = s_V * s_U / float(mult_P)
    s_Y = s_P * 2.0 ** (-2 * kA) / float(mult_Y)
    y8 = untile(Y8, H, W)
    return {"y": y8 * s_Y, "y8": y8, "xq": xq, "wq": wq, "V8": V8, "U8": U8, "P8": P8, "Y8": Y8,
            "kB": kB, "kG": kG, "kA": kA, "BTq": BTq, "Gq": Gq, "ATq": ATq,
            "mult": {"V": mult_V, "U": mult_U, "P": mult_P, "Y": mult_Y},
            "scale": {"x": s_x, "w": s_w, "V": s_V, "U": s_U, "P": s_P, "Y": s_Y}}


def conv2d_winograd_int8(x, w, t: Transform | None = None) -> np.ndarray:
    """Dequantized float64 output of the int8 Winograd pipeline."""
    return winograd_int8_stages(x, w, t)["y"]


# ---------------------------------------------------------------------------------------------
# Error metrics, always against the float64 direct convolution

def error_metrics(out, ref) -> dict:
    """SQNR in dB (10 log10 of signal over error energy; inf when exact), max abs error, relative L2."""
    out = np.asarray(out, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    err = out - ref
    signal, noise = float(np.sum(ref * ref)), float(np.sum(err * err))
    sqnr = math.inf if noise == 0 else (10 * math.log10(signal / noise) if signal > 0 else -math.inf)
    rel = math.sqrt(noise / signal) if signal > 0 else (0.0 if noise == 0 else math.inf)
    return {"sqnr_db": sqnr, "max_abs": float(np.max(np.abs(err))) if err.size else 0.0, "rel_l2": rel}
