"""Transform matrices as integers, step 3 of the int8 scheme (bench.numerics.reference): each matrix becomes
an integer matrix with a power-of-two scale whose rows fit the int8 kernels' accumulators. Its own
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
