"""Transform matrices as integers, step 3 of the int8 scheme (bench.numerics.reference): each matrix becomes
an integer matrix with a power-of-two scale whose rows fit the int8 kernels' accumulators (or, in
the references, one power-of-two scale per row: quantize_matrix_rows). Its own
module because both the scheme (bench.numerics.reference) and the transform loader (bench.numerics.winograd, which
refuses matrices the int8 kernels cannot use) need it.
"""

from __future__ import annotations

import numpy as np

# Largest row L1 norm of an integer BT or AT (input and output transforms) and of an integer G.
BT_AT_LIMIT = 4096
G_LIMIT = 32768


def round_half_away(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return np.where(v >= 0, np.floor(v + 0.5), -np.floor(-v + 0.5))


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


def quantize_matrix_rows(T: np.ndarray, limit: int) -> tuple[np.ndarray, int, np.ndarray]:
    """Transform matrix -> (int64 Tq, k, d) with one power-of-two scale per row: row i is
    quantize_matrix of that row alone, Tq[i] ~ T[i] * 2^(k + d[i]), k the smallest row exponent and
    d >= 0 (int64 per row) what each row has beyond it. A row of small entries then keeps more bits
    than one scale per matrix (bounded by its largest row) leaves it; every row's L1 stays within
    `limit`, so the integer bounds of the scheme hold unchanged."""
    T = np.atleast_2d(np.asarray(T, dtype=np.float64))
    rows = [quantize_matrix(T[i:i + 1], limit) for i in range(T.shape[0])]
    ks = np.array([k for _, k in rows], dtype=np.int64)
    zero = ~np.any(T != 0, axis=1)   # a zero row has no scale of its own: it never sets the minimum
    if zero.any() and not zero.all():
        ks[zero] = ks[~zero].max()
    k = int(ks.min())
    return np.vstack([q for q, _ in rows]).astype(np.int64), k, ks - k


def pass_lanes(Tq: np.ndarray) -> tuple[int, int]:
    """The lane widths (16 or 32 bits) of the int8 dense kernels' two passes with the integer
    matrix Tq, as the C plan picks them: a pass stays in 16-bit lanes while 127 (the largest int8)
    times the row L1 norm (once, then squared for the second pass) fits in an int16."""
    l1 = int(np.max(np.sum(np.abs(Tq), axis=1)))
    return (16 if 127 * l1 <= 32767 else 32), (16 if 127 * l1 * l1 <= 32767 else 32)


def lane_variant(AT, BT) -> str:
    """Which int8 dense (tensor scheme) tile kernels a transform runs: `in16/16 out16/32` gives the
    lane widths of the input transform's two passes (BT) and the output transform's (AT)."""
    bt, at = (pass_lanes(quantize_matrix(T, BT_AT_LIMIT)[0]) for T in (BT, AT))
    return f"in{bt[0]}/{bt[1]} out{at[0]}/{at[1]}"
