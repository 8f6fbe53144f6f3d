"""float64 numpy references for every kernel, and the int8 pipelines the C kernels match bit for bit.

Layouts: activations NHWC (1, H, W, C), weights HWIO (r, r, Cin, Cout); stride 1, "same" zero padding
(r // 2 on each side), except where a function takes `stride` and `pad` (the direct and im2row
references: any stride, zero padding `pad` on each side, None for r // 2). Clarity first, vectorised so that a 32x32x64->64 layer takes well under a second.

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
5. Winograd int8 `tensor` scheme, one quantization step after each stage as in Winograd-aware
   networks:
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
   This is the `tensor` scheme; `tap` and `wide` (steps 6, 7) share steps 1-3 and the exact
   integer transforms V = BTq d BTq^T (int32: |V| <= 127 L1B^2, L1B = max row L1 of BTq) and
   U = Gq g Gq^T (int64). Helpers: rshift(v, s) = floor((v + 2^(s-1)) / 2^s) for s > 0, v for
   s = 0 (NEON SRSHR / SRSHL by -s); shift_to_fit(b, L) = the smallest s >= 0 with
   rshift(b, s) <= L. Both end with the same output stage:
     out(Z, zb):  T = ATq Z (along the first position index, exact),  s1 = shift_to_fit(zb L1A,
                  2^31 - 1) (L1A = max row L1 of ATq), T' = rshift(T, s1) (|T'| < 2^31),
                  Y = T' ATq^T (exact, |Y| < 2^31 L1A < 2^53),
                  Y8 = clamp(rint_f32(float32(float64(Y)) * mult_Y), -127, 127), mult_Y from the
                  amax of Y over the valid outputs (step 2). float64(Y) is exact, so
                  float32(float64(Y)) is Y rounded once to nearest-even.
6. tap, one scale per Winograd position p = (i, j):
     V8[p] = requant(V[p]), mult_V[p] from the amax of position p over all tiles and channels;
     U8[p] = requant(U[p]), mult_U[p] per position over (cin, cout);
     M = sum_cin V8 U8 (int32, |M| <= 127^2 Cin: Cin <= 133143);  P8[p] = requant(M[p]), mult_P[p];
     the position scales folded into the output's integers:  d[p] = (double)mult_V[p] *
     (double)mult_U[p] * (double)mult_P[p] (left to right), dmin = min_p d[p],
     Sq[p] = round_half_away(ldexp(dmin / d[p], 20)) in 1..2^20 (int32; 2^14 lost F6 3 dB);
     Z = P8 Sq (int32, |Z| <= 127 * 2^20), Y8 = out(Z, 127 * 2^20).
     s_Y = s_x s_w 2^(-2kB - 2kG - 20) / dmin * 2^(s1 - 2kA) / mult_Y.
     Default matrices: s1 = 0 for F2, 1 for F4 (L1A = 19), 8 for F6 (ATq = 32 AT, L1A = 2146).
7. wide, V and U in int16, int32 products, nothing requantized in the Winograd domain:
     V16 = rshift(V, sV), sV = shift_to_fit(127 L1B^2, 32767): the transform's integer scale
     2^(2kB) is undone just enough for int16: sV = 0 for F2 (|V| <= 508) and F4 (12700), 4 for F6
     (BTq = 4 BT, |V| <= 457200, |V16| <= 28575 = vb16).
     U16: B = (2^31 - 1) // vb16 (the largest sum_cin |U16| that keeps |M| < 2^31 for any int8
     input), amax = max |U|, Lsum[p] = max over cout of sum over cin |U[p, :, cout]|;
     QU = min(32767, (B - Cin) amax // max_p Lsum[p]) (integer arithmetic; the plan is refused
     when QU < 1: in the worst case Lsum = Cin amax, so any Cin <= B / 2 is accepted: 2113665 F2,
     84546 F4, 37576 F6); e[p] = the largest e in 0..15 with pmax[p] QU 2^e <= 32767 amax and
     Lsum[p] QU 2^e <= (B - Cin) amax (pmax[p] = max |U[p]|): a data-free power of two per
     position that gives the small positions the int16 range; mult_U = float32(QU / amax) (1 when
     amax = 0); U16[p] = clamp(rint_f32(float32(U[p]) * (mult_U 2^e[p])), -32767, 32767) (the
     float32 factor mult_U 2^e[p] is exact). The slack Cin in B - Cin covers the rounding, so
     sum_cin |U16[p, :, co]| <= B and |M| <= 2^31 - 1 always.
     M = sum_cin V16 U16 (int32, SMLAL);  Y8 = out(rshift(M, e[p]), 2^31 - 1)
     (s1 = 2 F2, 5 F4, 12 F6 with the default matrices).
     s_Y = s_x s_w 2^(sV - 2kB - 2kG) / mult_U * 2^(s1 - 2kA) / mult_Y.
8. Integer requantization, the `int` form of every scheme (steps 2-7 as written are the `fp32` form; the
   weights' U8 and U16 stay as written, offline): every requantization of a stage tensor T the kernels
   run (V8, P8, Y8; im2row's output) becomes a fixed-point multiply with rounding, as gemmlowp's and
   XNNPACK's ARM kernels (SQRDMULH):
     requant_int(T, L) = clamp(sqrdmulh_L(T, b), -127, 127),  b = min(2^(L-1) - 1, (127 2^(L-1)) // amax)
     (amax = 0: b = 2^(L-1) - 1),  sqrdmulh_L(x, b) = floor((2 x b + 2^(L-1)) / 2^L), the round half up of
     x b / 2^(L-1), at the lane width L of the stage's values: 16 where the stage's bound fits int16 (V of
     F2 and F4: 127 L1B^2 <= 32767; Y of tensor F2: 127 L1A^2 <= 32767), else 32 (P: the int32 sums; V of
     F6; Y of tensor F4/F6 and of tap/wide). An int64 stage (tap/wide output with an int64 second pass)
     first shifts to int32: T' = rshift(T, R), R = shift_to_fit(amax, 2^31 - 1), then L = 32 with amax'
     = rshift(amax, R). b is rounded down, so |T| <= amax (always: amax is calibrated on the same data)
     gives |q| <= 127; the real multiplier is exactly b / 2^(L-1) (times 2^-R). One rounding, at the int8
     value: the multiplier's few bits (at least 7) only scale the result, and the scale follows b exactly.
   tap/wide output: where L1A^2 <= 512 (the default F2 and F4) both passes run in int32 with no shift:
     tap Sq with k = 14 bits (int16 factors) instead of 20, Z = P8 Sq (|Z| <= 127 2^14); wide Z =
     rshift(M, e[p] + h), h = shift_to_fit((2^31 - 1) L1A^2, 2^31 - 1) (4 F2, 9 F4), in the GEMM's
     epilogue; Y = ATq Z ATq^T (|Y| < 2^31), Y8 = requant_int(Y, 32). Elsewhere (F6) the output stage of
     the fp32 form (k = 20, int64 passes, s1), with Y8 = requant_int(Y, 64).
   Real scales: the fp32 form's with each multiplier replaced by b / 2^(L-1) (2^-R), tap's 2^-20 by 2^-k,
   wide's 2^s1 by 2^h.
9. Row scales (`row_scales`; tensor and tap in the fp32 form only): a matrix that step 3 leaves
   inexact is quantized row by row instead (matrix_quant.quantize_matrix_rows): row i is
   Tq[i] = step 3 of that row alone, ~ T[i] 2^(k + d[i]), k the smallest row exponent, d[i] >= 0;
   every row's L1 stays within LIMIT, so every integer bound above holds. An exact matrix keeps its
   one scale (d = 0: the default matrices compute exactly as in steps 5-7). Position p = (i, j)
   of V then carries 2^xV[p] beyond the common scale 2^2kB, xV[p] = dB[i] + dB[j] (U: xU from dG;
   output (i, j) of Y: xA from dA), folded away where each scheme already scales:
     tensor: V8, U8 and Y8 requantize with amax over T 2^-x (exact in float64) and per-position
             float32 multipliers mult 2^-x[p] (exact: a power of two times a float32);
     tap:    d[p] = (mV[p] mU[p]) mP[p] 2^(xV[p] + xU[p]) (exact), Y8 as tensor's;
     wide:   rshift(M, e[p] + xV[p]) before the output transform; G keeps one scale (U's own
             per-position e would otherwise start 2^xU apart and starve small positions). Y8 in the
             fp32 form as tensor's; in the int form always the int64 output (s1, no h: int32_output
             is off when any row takes a scale of its own), with amax = max |rshift(Y[p], xA[p])|
             over the valid outputs, R = shift_to_fit(amax, 2^31 - 1), b = step 8's b of
             rshift(amax, R) at 32 bits, and per output position one rounding shift:
             Y8 = clamp(sqrdmulh_32(rshift(Y[p], R + xA[p]), b), -127, 127); |rshift(Y[p], R +
             xA[p])| <= rshift(amax, R) < 2^31 (one rounding of Y 2^-xA within amax + 1/2 never
             passes the next multiple), so the int32 lanes and |q| <= 127 hold as in step 8.
   Real scales keep the formulas above with kB, kG, kA the common (smallest) exponents (the int
   form's Y multiplier b 2^(-31 - R)).
   The C kernels take row scales for wide in both forms (the default: default_row_scales;
   wb_q8_spec.one_scale turns them off): BT and AT per row, the shift e[p] + xV[p] in the int16
   GEMM's epilogue, and per output position a float32 multiplier (fp32) or a rounding shift R +
   xA[p] (int) in the output tile kernel's `rows` variants. tensor and tap gain nothing from row
   scales (their Winograd-domain requantizations bound them) and stay reference-only.
"""

from __future__ import annotations

import math

import numpy as np

from bench.operators import REQUANTS, SCHEMES, TILE_ORIGINS, resolve_requant

from bench.numerics.matrix_quant import BT_AT_LIMIT, G_LIMIT, quantize_matrix, quantize_matrix_rows, round_half_away
from bench.numerics.winograd import Transform, cook_toom


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


def out_size(n: int, r: int, stride: int = 1, pad: int | None = None) -> int:
    """Output rows (or columns) of an r x r convolution over n, zero padding pad (None: r // 2)."""
    pad = r // 2 if pad is None else pad
    return (n + 2 * pad - r) // stride + 1


def _taps(x: np.ndarray, r: int, stride: int, pad: int | None):
    """[(i, j, view (Ho, Wo, C) of the padded input under tap (i, j))] and (Ho, Wo)."""
    _, H, W, _ = x.shape
    pad = r // 2 if pad is None else pad
    Ho, Wo = out_size(H, r, stride, pad), out_size(W, r, stride, pad)
    if Ho < 1 or Wo < 1:
        raise ValueError(f"a {r}x{r} filter with padding {pad} does not fit a {H} x {W} input")
    xp = _pad(x, pad, pad, pad)
    return [(i, j, xp[0, i:i + stride * (Ho - 1) + 1:stride, j:j + stride * (Wo - 1) + 1:stride, :])
            for i in range(r) for j in range(r)], (Ho, Wo)


def conv2d_direct(x, w, stride: int = 1, pad: int | None = None) -> np.ndarray:
    """Direct convolution: y[h, w] = sum over (i, j, cin) of xpad[s*h+i, s*w+j, cin] * w[i, j, cin, :]."""
    x, w = _check_shapes(x, w)
    taps, (Ho, Wo) = _taps(x, w.shape[0], stride, pad)
    y = np.zeros((1, Ho, Wo, w.shape[3]))
    for i, j, view in taps:
        y[0] += view @ w[i, j]
    return y


def im2row(x: np.ndarray, r: int, stride: int = 1, pad: int | None = None) -> np.ndarray:
    """Patch matrix [Ho*Wo, r*r*Cin], columns ordered (i, j, cin) like HWIO weights flattened."""
    taps, (Ho, Wo) = _taps(x, r, stride, pad)
    return np.stack([view for _, _, view in taps], axis=2).reshape(Ho * Wo, r * r * x.shape[3])


def conv2d_im2row(x, w, stride: int = 1, pad: int | None = None) -> np.ndarray:
    """im2row: patch matrix times the weights flattened to [r*r*Cin, Cout]."""
    x, w = _check_shapes(x, w)
    r = w.shape[0]
    y = im2row(x, r, stride, pad) @ w.reshape(-1, w.shape[3])
    return y.reshape(1, out_size(x.shape[1], r, stride, pad), out_size(x.shape[2], r, stride, pad), w.shape[3])


def tile_offset(size: int, m: int, origin: str = "top-left") -> int:
    """Where the tile grid starts, in outputs before the first one: 0 from the top-left; with the
    `symmetric` origin of the Winograd-aware training code (which pads a size that is not a multiple
    of m by the same amount on both sides before tiling) half of what the last tile overhangs, (m -
    size % m) % m // 2 (that code's rule for even sizes; odd ones it cannot tile at all)."""
    if origin not in TILE_ORIGINS:
        raise ValueError(f"unknown tile origin {origin!r}; accepted: {', '.join(TILE_ORIGINS)}")
    return (m - size % m) % m // 2 if origin == "symmetric" else 0


def input_tiles(x: np.ndarray, m: int, r: int, offset=(0, 0)) -> np.ndarray:
    """Overlapping a x a tiles [tiles_h, tiles_w, a, a, C] of the zero-padded input; tile (i, j)
    produces outputs [i*m - oy, i*m - oy + m) x [j*m - ox, j*m - ox + m) for offset (oy, ox) (0, 0
    from the top-left); outputs outside H, W are discarded later."""
    _, H, W, C = x.shape
    oy, ox = offset
    a = m + r - 1
    th, tw = -(-(H + oy) // m), -(-(W + ox) // m)
    pad = r // 2
    xp = np.pad(x, ((0, 0), (pad + oy, th * m + a - m - pad - oy - H), (pad + ox, tw * m + a - m - pad - ox - W), (0, 0)))[0]
    s0, s1, s2 = xp.strides
    return np.lib.stride_tricks.as_strided(xp, (th, tw, a, a, C), (m * s0, m * s1, s0, s1, s2), writeable=False)


def untile(Y: np.ndarray, H: int, W: int, offset=(0, 0)) -> np.ndarray:
    """[tiles_h, tiles_w, m, m, C] output tiles -> (1, H, W, C), the outputs outside cropped."""
    th, tw, m, _, C = Y.shape
    oy, ox = offset
    return Y.transpose(0, 2, 1, 3, 4).reshape(1, th * m, tw * m, C)[:, oy:oy + H, ox:ox + W, :]


def tile_offsets(x, m: int, origin: str) -> tuple[int, int]:
    """(oy, ox) of tile_offset for the image x (1, H, W, C)."""
    return tile_offset(x.shape[1], m, origin), tile_offset(x.shape[2], m, origin)


def conv2d_winograd(x, w, t: Transform | None = None, origin: str = "top-left") -> np.ndarray:
    """Winograd convolution with any transform (default F(4,3)), edge tiles included, the tile grid
    starting at `origin` (tile_offset)."""
    x, w = _check_shapes(x, w)
    t = t or cook_toom(4, w.shape[0])
    if t.r != w.shape[0]:
        raise ValueError(f"transform is for r = {t.r} but the kernel is {w.shape[0]} x {w.shape[0]}")
    _, H, W, _ = x.shape
    offset = tile_offsets(x, t.m, origin)
    V = np.einsum("ij,hwjkc,lk->hwilc", t.BT, input_tiles(x, t.m, t.r, offset), t.BT, optimize=True)
    U = np.einsum("ij,jkcd,lk->ilcd", t.G, w, t.G, optimize=True)
    M = np.einsum("hwijc,ijcd->hwijd", V, U, optimize=True)
    Y = np.einsum("ij,hwjkd,lk->hwild", t.AT, M, t.AT, optimize=True)
    return untile(Y, H, W, offset)


# ---------------------------------------------------------------------------------------------
# The int8 scheme (see the module docstring)

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


def v_lanes(Tq: np.ndarray) -> int:
    """Lane width (16 or 32) of a stage made by the integer matrix Tq on both sides of int8 values:
    16 when its bound 127 L1^2 fits int16 (step 8)."""
    return 16 if 127 * max_row_l1(Tq) ** 2 <= 32767 else 32


def sqrdmulh(x, b, lanes: int) -> np.ndarray:
    """NEON SQRDMULH at `lanes` bits: floor((2 x b + 2^(L-1)) / 2^L), x b / 2^(L-1) rounded half up
    (it saturates only for x = b = -2^(L-1), which step 8 never asks)."""
    x = np.asarray(x, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if lanes == 32:  # 2 x b needs 64 bits; numpy int64 is exact below 2^63
        return (2 * x * b + (1 << 31)) >> 32
    return (2 * x * b + (1 << (lanes - 1))) >> lanes


def int_multiplier(amax: int, lanes: int) -> int:
    """Step 8's b: min(2^(L-1) - 1, floor(127 2^(L-1) / amax)), 2^(L-1) - 1 for amax = 0."""
    top = (1 << (lanes - 1)) - 1
    return top if amax <= 0 else min(top, (127 << (lanes - 1)) // int(amax))


def requantize_int(T: np.ndarray, lanes: int, amax: int | None = None) -> tuple[np.ndarray, float]:
    """Integer tensor -> (int8 tensor, real multiplier): step 8 at lane width 16, 32 or 64 (int64
    values: a rounding shift to int32 first). The multiplier is b / 2^(L-1) (times 2^-R), exact."""
    T = np.asarray(T, dtype=np.int64)
    if amax is None:
        amax = int(np.max(np.abs(T))) if T.size else 0
    shift = shift_to_fit(amax, INT32_MAX) if lanes == 64 else 0
    if shift:
        T, amax = rshift(T, shift), int(rshift(amax, shift))
    lanes = min(lanes, 32)
    b = int_multiplier(amax, lanes)
    q = np.clip(sqrdmulh(T, b, lanes), -127, 127).astype(np.int8)
    return q, math.ldexp(b, 1 - lanes - shift)


def requantize_form(T: np.ndarray, requant: str, lanes: int, amax: int | None = None):
    """Step 2 (requant "fp32") or step 8 ("int", at `lanes` bits): (int8 tensor, multiplier)."""
    return requantize(T, amax) if requant == "fp32" else requantize_int(T, lanes, amax)


def conv2d_im2row_int8(x, w, stride: int = 1, pad: int | None = None, requant: str = REQUANTS[0]) -> dict:
    """int8 im2row (step 4; step 8 for requant "int"), any stride and padding. Returns a dict with the
    dequantized float64 output `y` and the integer intermediates (`xq`, `wq`, `y8`) and scales, so
    kernels can be compared bit for bit."""
    x, w = _check_shapes(x, w)
    r = w.shape[0]
    xq, s_x = quantize_symmetric(x)
    wq, s_w = quantize_symmetric(w)
    acc = im2row(xq.astype(np.int64), r, stride, pad) @ wq.reshape(-1, w.shape[3]).astype(np.int64)
    y8, mult = requantize_form(acc, resolve_requant(8, requant), 32)
    s_y = s_x * s_w / float(mult)
    y8 = y8.reshape(1, out_size(x.shape[1], r, stride, pad), out_size(x.shape[2], r, stride, pad), w.shape[3])
    return {"y": y8 * s_y, "y8": y8, "xq": xq, "wq": wq, "s_x": s_x, "s_w": s_w, "s_y": s_y}


def winograd_int8_stages(x, w, t: Transform | None = None, scheme: str = "tensor", origin: str = "top-left",
                         **options) -> dict:
    """int8 Winograd with every intermediate, for `scheme` "tensor" (step 5), "tap" (step 6) or
    "wide" (step 7), the tile grid from `origin`. Options: `requant` the requantization form ("int":
    step 8, the default, or "fp32"), `row_scales` one power-of-two scale per matrix row (step 9;
    tensor and tap in the fp32 form only; None, the default: where the C kernels take them, wide).
    Common keys: xq, wq, Y8 (tile layout), y8 (cropped), y (dequantized float64), kB, kG, kA, BTq,
    Gq, ATq, mult, scale (scale["Y"] is the real scale of y8), and with row scales dB, dG, dA. Per scheme: tensor V8, U8, P8; tap V8, U8, P8, Sq, s1;
    wide V16, U16, M, sV, QU, e, s1 (the int form's int32 output: s1 = 0, tap k, wide h)."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown int8 scheme {scheme!r}; accepted: {', '.join(SCHEMES)}")
    requant, row_scales = _int8_options(options, scheme)
    # wide gives U's positions power-of-two scales of its own (e); rows of G scaled apart would put
    # them 2^(dG_i + dG_j) apart before that and starve the small ones: wide keeps one scale for G
    q = _quantized_inputs(x, w, t, origin, ("BA" if scheme == "wide" else "BGA") if row_scales else "")
    q["requant"] = requant
    st = {"tensor": _tensor_stages, "tap": _tap_stages, "wide": _wide_stages}[scheme](q)
    y8 = untile(st["Y8"], q["H"], q["W"], q["offset"])
    st.update({"y": y8 * st["scale"]["Y"], "y8": y8, "scheme": scheme, "requant": requant})
    st.update({k: q[k] for k in ("xq", "wq", "kB", "kG", "kA", "BTq", "Gq", "ATq")})
    if row_scales:
        st.update({k: q[k] for k in ("dB", "dG", "dA")})
    return st


def conv2d_winograd_int8(x, w, t: Transform | None = None, scheme: str = "tensor", origin: str = "top-left",
                         **options) -> np.ndarray:
    """Dequantized float64 output of the int8 Winograd pipeline of `scheme` (options as
    winograd_int8_stages takes them)."""
    return winograd_int8_stages(x, w, t, scheme, origin, **options)["y"]


INT8_OPTIONS = ("requant", "row_scales")   # the keyword options of the int8 Winograd references


def default_row_scales(scheme: str, requant: str) -> bool:
    """Where the C kernels take row scales (step 9) by themselves: wide, in either form."""
    return scheme == "wide"


def _int8_options(options: dict, scheme: str) -> tuple:
    """(requant, row_scales) of the int8 Winograd references' options (row_scales None: the
    kernels' rule, default_row_scales); TypeError for others, ValueError for row scales in the int
    form outside wide (step 9 defines them there for wide only)."""
    unknown = set(options) - set(INT8_OPTIONS)
    if unknown:
        raise TypeError(f"unexpected keyword argument {sorted(unknown)[0]!r} (accepted: {', '.join(INT8_OPTIONS)})")
    requant = resolve_requant(8, options.get("requant", REQUANTS[0]))
    row_scales = options.get("row_scales")
    row_scales = default_row_scales(scheme, requant) if row_scales is None else bool(row_scales)
    if row_scales and requant != "fp32" and scheme != "wide":
        raise ValueError(f"row scales in the {requant!r} requantization form are defined for scheme wide, "
                         f"not {scheme!r}; accepted: wide, or requant fp32")
    return requant, row_scales


def integer_matrices(t: Transform, rows: str = "") -> dict:
    """Step 3 (step 9 for the matrices named in `rows`, of "B", "G", "A"): {"BTq", "kB", "Gq", "kG",
    "ATq", "kA"} and the per-row excess exponents "dB", "dG", "dA" (zeros with one scale per matrix)."""
    out = {}
    for name, T, limit in (("B", t.BT, BT_AT_LIMIT), ("G", t.G, G_LIMIT), ("A", t.AT, BT_AT_LIMIT)):
        (Tq, k), d = quantize_matrix(T, limit), np.zeros(np.shape(T)[0], np.int64)
        if name in rows and not np.array_equal(Tq, np.asarray(T, np.float64) * 2.0 ** k):
            Tq, k, d = quantize_matrix_rows(T, limit)   # an exact matrix keeps its one scale
        out.update({f"{name}Tq" if name != "G" else "Gq": Tq, f"k{name}": k, f"d{name}": d})
    out["BTq"], out["ATq"] = out.pop("BTq"), out.pop("ATq")
    return out


def _quantized_inputs(x, w, t, origin: str = "top-left", rows: str = "") -> dict:
    """Steps 1 and 3 and the exact transforms V = BTq d BTq^T (int64 tiles) and U = Gq g Gq^T;
    "xV", "xU" (a x a) and "xA" (m x m) are the exponents a Winograd position or output carries
    beyond the common scale with row scales (step 9), zeros without."""
    x, w = _check_shapes(x, w)
    t = t or cook_toom(4, w.shape[0])
    if t.r != w.shape[0]:
        raise ValueError(f"transform is for r = {t.r} but the kernel is {w.shape[0]} x {w.shape[0]}")
    xq, s_x = quantize_symmetric(x)
    wq, s_w = quantize_symmetric(w)
    mats = integer_matrices(t, rows)
    BTq, kB, Gq, kG, ATq, kA = (mats[k] for k in ("BTq", "kB", "Gq", "kG", "ATq", "kA"))
    offset = tile_offsets(x, t.m, origin)
    d = input_tiles(xq.astype(np.int64), t.m, t.r, offset)
    V = np.einsum("ij,hwjkc,lk->hwilc", BTq, d, BTq, optimize=True)
    U = np.einsum("ij,jkcd,lk->ilcd", Gq, wq.astype(np.int64), Gq, optimize=True)
    excess = {f"x{n}": mats[f"d{n}"][:, None] + mats[f"d{n}"][None, :] for n in ("B", "G", "A")}
    return {"xq": xq, "wq": wq, "s_x": s_x, "s_w": s_w, "kB": kB, "kG": kG, "kA": kA,
            "BTq": BTq, "Gq": Gq, "ATq": ATq, "V": V, "U": U, "H": x.shape[1], "W": x.shape[2],
            "offset": offset, "dB": mats["dB"], "dG": mats["dG"], "dA": mats["dA"],
            "xV": excess["xB"], "xU": excess["xG"], "xA": excess["xA"]}


def positions(table: np.ndarray, ndim: int) -> np.ndarray:
    """A per-position table (a x a, or m x m) shaped to broadcast over a tensor in tile layout
    [th, tw, a, a, C] (ndim 5) or U's [a, a, cin, cout] (ndim 4)."""
    return table[:, :, None, None] if ndim == 4 else table[None, None, :, :, None]


def requantize_excess(T: np.ndarray, excess: np.ndarray, amax=None) -> tuple[np.ndarray, np.float32]:
    """Step 2 (step 9) for an integer tensor whose Winograd positions carry 2^excess[p] beyond its
    common scale: amax of |T| 2^-excess (exact in float64), then float32 multipliers mult
    2^-excess[p] (a power of two times a float32: exact); returns (int8, mult of the common scale).
    Without excess it is `requantize`, to the bit."""
    if not np.any(excess):
        return requantize(T, amax)
    f = np.ldexp(1.0, -positions(excess, T.ndim))
    if amax is None:
        amax = float(np.max(np.abs(T.astype(np.float64) * f))) if T.size else 0.0
    mult = requant_multiplier(amax)
    q = np.rint(T.astype(np.float32) * (np.float64(mult) * f).astype(np.float32))
    return np.clip(q, -127, 127).astype(np.int8), mult


def _tensor_stages(q: dict) -> dict:
    if q["requant"] == "fp32":
        V8, mult_V = requantize_excess(q["V"], q["xV"])
    else:
        V8, mult_V = requantize_int(q["V"], v_lanes(q["BTq"]))
    U8, mult_U = requantize_excess(q["U"], q["xU"])
    M = np.einsum("hwijc,ijcd->hwijd", V8.astype(np.int64), U8.astype(np.int64), optimize=True)
    P8, mult_P = requantize_form(M, q["requant"], 32)
    Y = np.einsum("ij,hwjkd,lk->hwild", q["ATq"], P8.astype(np.int64), q["ATq"], optimize=True)
    if q["requant"] == "fp32":
        common = Y * np.ldexp(1.0, -positions(q["xA"], 5))
        amax_Y = np.max(np.abs(untile(common, q["H"], q["W"], q["offset"]))) if Y.size else 0
        Y8, mult_Y = requantize_excess(Y, q["xA"], int(amax_Y) if not np.any(q["xA"]) else float(amax_Y))
    else:
        amax_Y = int(np.max(np.abs(untile(Y, q["H"], q["W"], q["offset"])))) if Y.size else 0
        Y8, mult_Y = requantize_int(Y, v_lanes(q["ATq"]), amax_Y)
    s_V = q["s_x"] * 2.0 ** (-2 * q["kB"]) / float(mult_V)
    s_U = q["s_w"] * 2.0 ** (-2 * q["kG"]) / float(mult_U)
    s_P = s_V * s_U / float(mult_P)
    s_Y = s_P * 2.0 ** (-2 * q["kA"]) / float(mult_Y)
    return {"V8": V8, "U8": U8, "P8": P8, "Y8": Y8,
            "mult": {"V": mult_V, "U": mult_U, "P": mult_P, "Y": mult_Y},
            "scale": {"x": q["s_x"], "w": q["s_w"], "V": s_V, "U": s_U, "P": s_P, "Y": s_Y}}


# ---------------------------------------------------------------------------------------------
# The tap and wide schemes (module docstring, steps 6 and 7)

TAP_SCALE_BITS = 20  # Sq <= 2^20: an int32 factor per position (2^14 cost F6 3 dB)
INT_TAP_SCALE_BITS = 14  # the int form's int32 output (step 8): Sq an int16 factor
INT32_OUTPUT_L1A2 = 512  # the int form's output passes run in int32 where L1A^2 <= this (step 8)
INT32_MAX = 2**31 - 1
INT16_MAX = 32767


def rshift(v, s) -> np.ndarray:
    """Rounding arithmetic shift right (NEON SRSHR): floor((v + 2^(s-1)) / 2^s), v where s = 0;
    s may be an array broadcast against v."""
    v = np.asarray(v, dtype=np.int64)
    s = np.asarray(s, dtype=np.int64)
    return (v + np.where(s > 0, np.left_shift(1, np.maximum(s - 1, 0)), 0)) >> s


def max_row_l1(Tq: np.ndarray) -> int:
    return int(np.max(np.sum(np.abs(np.asarray(Tq, dtype=np.int64)), axis=1)))


def shift_to_fit(bound: int, limit: int) -> int:
    """The smallest s >= 0 with rshift(bound, s) <= limit."""
    s = 0
    while int(rshift(bound, s)) > limit:
        s += 1
    return s


def requantize_positions(T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 2 with one amax per Winograd position: T in tile layout [th, tw, a, a, C] or U's
    [a, a, cin, cout]; returns (int8 tensor, float32 multipliers [a, a])."""
    T = np.asarray(T, dtype=np.int64)
    lead = 0 if T.ndim == 4 else 2
    axes = tuple(i for i in range(T.ndim) if i not in (lead, lead + 1))
    amax = np.max(np.abs(T), axis=axes, initial=0)
    mult = np.array([[requant_multiplier(int(v)) for v in row] for row in amax], dtype=np.float32)
    shape = [1] * T.ndim
    shape[lead], shape[lead + 1] = mult.shape
    q = np.rint(T.astype(np.float32) * mult.reshape(shape))
    return np.clip(q, -127, 127).astype(np.int8), mult


def requantize_positions_form(T: np.ndarray, requant: str, lanes: int) -> tuple[np.ndarray, np.ndarray]:
    """requantize_positions in form `requant`: the int form (step 8) with one b per position;
    multipliers float32 (fp32) or float64 b / 2^(L-1) (int), [a, a]."""
    if requant == "fp32":
        return requantize_positions(T)
    T = np.asarray(T, dtype=np.int64)
    lead = 0 if T.ndim == 4 else 2
    axes = tuple(i for i in range(T.ndim) if i not in (lead, lead + 1))
    amax = np.max(np.abs(T), axis=axes, initial=0)
    b = np.array([[int_multiplier(int(v), lanes) for v in row] for row in amax], dtype=np.int64)
    shape = [1] * T.ndim
    shape[lead], shape[lead + 1] = b.shape
    q = np.clip(sqrdmulh(T, b.reshape(shape), lanes), -127, 127).astype(np.int8)
    return q, np.ldexp(b.astype(np.float64), 1 - lanes)


def tap_factors(mult_V, mult_U, mult_P, bits: int = TAP_SCALE_BITS, excess=None) -> tuple[np.ndarray, float]:
    """Step 6: Sq[p] = round_half_away(2^bits dmin / d[p]), d[p] = (mV[p] mU[p]) mP[p] in double
    (bits 20; 14 for the int form's int32 output, step 8; times 2^excess[p] with row scales, step 9:
    exact); returns (Sq int64 [a, a], dmin)."""
    d = (np.asarray(mult_V, np.float64) * np.asarray(mult_U, np.float64)) * np.asarray(mult_P, np.float64)
    if excess is not None:
        d = np.ldexp(d, excess)
    dmin = float(np.min(d))
    return round_half_away(np.ldexp(dmin / d, bits)).astype(np.int64), dmin


def wide_weight_scaling(U: np.ndarray, vbound16: int) -> tuple[int, np.ndarray]:
    """Step 7: (QU, e) for U (a, a, cin, cout) int64, from B = (2^31 - 1) // vbound16."""
    a, _, cin, _ = U.shape
    B = INT32_MAX // vbound16
    amax = int(np.max(np.abs(U), initial=0))
    lsum = np.max(np.sum(np.abs(U), axis=2), axis=2, initial=0)  # [a, a]
    pmax = np.max(np.abs(U), axis=(2, 3), initial=0)
    if amax == 0:
        return INT16_MAX, np.zeros((a, a), np.int64)
    qu = min(INT16_MAX, (B - cin) * amax // int(np.max(lsum)))
    if qu < 1:
        raise ValueError(f"wide scheme: cin={cin} is past the int32 bound for these weights "
                         f"((B - cin) * max|U| < max column L1 of U, B = {B})")
    e = np.zeros((a, a), np.int64)
    for i in range(a):
        for j in range(a):
            while (e[i, j] < 15 and int(pmax[i, j]) * (qu << (e[i, j] + 1)) <= INT16_MAX * amax
                   and int(lsum[i, j]) * (qu << (e[i, j] + 1)) <= (B - cin) * amax):
                e[i, j] += 1
    return qu, e


def output_transform(Z: np.ndarray, ATq: np.ndarray, zbound: int) -> tuple[np.ndarray, int]:
    """Y = rshift(ATq Z, s1) ATq^T per tile, exact in int64; s1 keeps the first pass in int32."""
    s1 = shift_to_fit(zbound * max_row_l1(ATq), INT32_MAX)
    T = rshift(np.einsum("ij,hwjkd->hwikd", ATq, Z, optimize=True), s1)
    return np.einsum("hwikd,lk->hwild", T, ATq, optimize=True), s1


def requantize_output(Y: np.ndarray, info: dict, lanes: int = 64):
    """Y8 = requant(Y) in the form info["requant"], amax over the valid info["H"] x info["W"] outputs
    (the grid starting info["offset"] outputs before the image). fp32 form: Y int64 through float64
    (exact below 2^53) to float32; with row scales (step 9) output position (i, j) carries
    2^xA[i, j] beyond the common scale and takes the multiplier mult 2^-xA[i, j]. int form: step 8
    at `lanes` bits (32 or 64); with row scales step 9's (requantize_int_excess)."""
    H, W, offset, excess = info["H"], info["W"], info["offset"], info["xA"]
    if info["requant"] != "fp32" and np.any(excess):
        return requantize_int_excess(Y, positions(excess, 5), untile(rshift(Y, positions(excess, 5)), H, W, offset))
    if info["requant"] != "fp32":
        return requantize_int(Y, lanes, int(np.max(np.abs(untile(Y, H, W, offset)), initial=0)))
    if np.any(excess):
        f = np.ldexp(1.0, -positions(excess, 5))
        mult = requant_multiplier(float(np.max(np.abs(untile(Y * f, H, W, offset)), initial=0)))
        q = np.rint(Y.astype(np.float64).astype(np.float32) * (np.float64(mult) * f).astype(np.float32))
        return np.clip(q, -127, 127).astype(np.int8), mult
    mult = requant_multiplier(int(np.max(np.abs(untile(Y, H, W, offset)), initial=0)))
    q = np.rint(Y.astype(np.float64).astype(np.float32) * mult)
    return np.clip(q, -127, 127).astype(np.int8), mult


def requantize_int_excess(Y: np.ndarray, excess: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, float]:
    """Step 9's int form: Y (int64) whose outputs carry 2^excess beyond the common scale; `valid`
    = rshift(Y, excess) over the valid outputs. amax = max |valid|, R = shift_to_fit(amax, 2^31 - 1),
    b from rshift(amax, R) at 32 bits, then per output position one rounding shift by R + excess
    and SQRDMULH by b: (int8 tensor, real multiplier b 2^(-31 - R) of the common scale)."""
    amax = int(np.max(np.abs(valid), initial=0))
    shift = shift_to_fit(amax, INT32_MAX)
    b = int_multiplier(int(rshift(amax, shift)), 32)
    q = np.clip(sqrdmulh(rshift(Y, shift + excess), b, 32), -127, 127).astype(np.int8)
    return q, math.ldexp(b, -31 - shift)


def int32_output(q: dict) -> bool:
    """Whether the tap/wide output stage runs in int32 (the int form where L1A^2 <= 512 and no
    matrix takes row scales, steps 8 and 9)."""
    rows = np.any(q["dB"]) or np.any(q["dA"])
    return q["requant"] == "int" and max_row_l1(q["ATq"]) ** 2 <= INT32_OUTPUT_L1A2 and not rows


def plain_output(Z: np.ndarray, ATq: np.ndarray) -> np.ndarray:
    """Y = ATq Z ATq^T per tile, the int form's int32 output (step 8; no wrap by its bound)."""
    Y = np.einsum("ij,hwjkd,lk->hwild", ATq, Z, ATq, optimize=True)
    assert np.max(np.abs(Y), initial=0) <= INT32_MAX
    return Y


def _tap_stages(q: dict) -> dict:
    rq, narrow = q["requant"], int32_output(q)
    V8, mult_V = requantize_positions_form(q["V"], rq, v_lanes(q["BTq"]))
    U8, mult_U = requantize_positions(q["U"])
    M = np.einsum("hwijc,ijcd->hwijd", V8.astype(np.int64), U8.astype(np.int64), optimize=True)
    P8, mult_P = requantize_positions_form(M, rq, 32)
    bits = INT_TAP_SCALE_BITS if narrow else TAP_SCALE_BITS
    Sq, dmin = tap_factors(mult_V, mult_U, mult_P, bits, q["xV"] + q["xU"])
    Z = P8.astype(np.int64) * Sq[:, :, None]
    Y, s1 = (plain_output(Z, q["ATq"]), 0) if narrow else output_transform(Z, q["ATq"], 127 << bits)
    Y8, mult_Y = requantize_output(Y, q, 32 if narrow else 64)
    s_Z = q["s_x"] * q["s_w"] * 2.0 ** (-2 * q["kB"] - 2 * q["kG"] - bits) / dmin
    s_Y = s_Z * 2.0 ** (s1 - 2 * q["kA"]) / float(mult_Y)
    return {"V8": V8, "U8": U8, "P8": P8, "Y8": Y8, "Sq": Sq, "s1": s1, "k": bits,
            "mult": {"V": mult_V, "U": mult_U, "P": mult_P, "Y": mult_Y},
            "scale": {"x": q["s_x"], "w": q["s_w"], "Z": s_Z, "Y": s_Y}}


def _wide_stages(q: dict) -> dict:
    vbound = 127 * max_row_l1(q["BTq"]) ** 2
    sV = shift_to_fit(vbound, INT16_MAX)
    V16 = rshift(q["V"], sV).astype(np.int16)
    qu, e = wide_weight_scaling(q["U"], int(rshift(vbound, sV)))
    amax_U = int(np.max(np.abs(q["U"]), initial=0))
    mult_U = np.float32(qu / amax_U) if amax_U > 0 else np.float32(1.0)
    mults = (mult_U * np.ldexp(np.float32(1), e.astype(np.int32))).astype(np.float32)
    U16 = np.rint(q["U"].astype(np.float32) * mults[:, :, None, None])
    U16 = np.clip(U16, -INT16_MAX, INT16_MAX).astype(np.int16)
    M = np.einsum("hwijc,ijcd->hwijd", V16.astype(np.int64), U16.astype(np.int64), optimize=True)
    assert np.max(np.abs(M), initial=0) <= INT32_MAX  # guaranteed by QU and e
    e_rows = e + q["xV"] + q["xU"]   # row scales (step 9) add their excess to the shift
    if int32_output(q):  # step 8: the shift h in the GEMM's epilogue, both passes in int32
        h = shift_to_fit(INT32_MAX * max_row_l1(q["ATq"]) ** 2, INT32_MAX)
        Y, s1 = plain_output(rshift(M, e_rows[:, :, None] + h), q["ATq"]), 0
        Y8, mult_Y = requantize_output(Y, q, 32)
    else:
        h = 0
        Y, s1 = output_transform(rshift(M, e_rows[:, :, None]), q["ATq"], INT32_MAX)
        Y8, mult_Y = requantize_output(Y, q, 64)
    s_M = q["s_x"] * q["s_w"] * 2.0 ** (sV - 2 * q["kB"] - 2 * q["kG"]) / float(mult_U)
    s_Y = s_M * 2.0 ** (s1 + h - 2 * q["kA"]) / float(mult_Y)
    return {"V16": V16, "U16": U16, "M": M.astype(np.int32), "Y8": Y8, "sV": sV, "QU": qu, "e": e,
            "s1": s1, "h": h, "mult": {"U": mult_U, "Y": mult_Y},
            "scale": {"x": q["s_x"], "w": q["s_w"], "M": s_M, "Y": s_Y}}


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
