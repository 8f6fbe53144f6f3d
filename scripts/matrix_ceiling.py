"""The ceiling integer transform matrices put on int8 Winograd, with one power-of-two scale per
matrix and one per row (bench.numerics.reference step 9), each cell "one scale -> per row".

SQNR in dB against the float64 Winograd convolution with the same float matrices (so an inexact
learned transform is not charged for its inexactness), seeded Gaussian 16x16x32->32 (float32):
  matrices only   the float64 Winograd convolution with the integer matrices dequantized: what
                  the integerization alone costs (no data quantization);
  tensor/tap/wide the int8 reference pipeline of each scheme in the fp32 requantization form (per
                  row: the reference alone for tensor and tap, which the kernels run with one scale);
  C wide fp32/int the host build's int8 wide kernels (bench.native.kernels, fp32 and int forms),
                  one scale per matrix on request (row_scales=False) -> their default, row scales.
Learned transforms: Cook-Toom with seeded multiplicative noise on every entry (1% and 5%), a
stand-in for trained ones (no public trained checkpoint here).

    .venv/bin/python scripts/matrix_ceiling.py
"""

from __future__ import annotations

import numpy as np

from bench.native import kernels
from bench.numerics import reference as R
from bench.numerics.winograd import Transform, cook_toom, named_transform


def learned(m: int, noise: float, seed: int = 0) -> Transform:
    t, rng = cook_toom(m), np.random.default_rng(seed)
    return Transform(m, 3, *(a * (1 + noise * rng.standard_normal(a.shape)) for a in (t.AT, t.G, t.BT)))


def dequantized(t: Transform, rows: str) -> Transform:
    q = R.integer_matrices(t, rows)
    back = {n: q[f"{n}Tq" if n != "G" else "Gq"] / np.ldexp(1.0, q[f"k{n}"] + q[f"d{n}"])[:, None] for n in "BGA"}
    return Transform(t.m, t.r, back["A"], back["G"], back["B"])


def figures(t: Transform, x, w) -> list[float]:
    same = R.conv2d_winograd(x, w, t)
    out = []
    for rows in ("", "BGA"):
        out.append(R.error_metrics(R.conv2d_winograd(x, w, dequantized(t, rows)), same)["sqnr_db"])
    for scheme in ("tensor", "tap", "wide"):
        for row_scales in (False, True):
            out.append(R.error_metrics(R.conv2d_winograd_int8(x, w, t, scheme, requant="fp32", row_scales=row_scales), same)["sqnr_db"])
    for requant in ("fp32", "int"):
        for row_scales in (False, None):
            y = kernels.conv2d_int8_stages(x, w, algo=f"f{t.m}", transform=t, scheme="wide", requant=requant,
                                           row_scales=row_scales)["y"]
            out.append(R.error_metrics(y, same)["sqnr_db"])
    return out


def main() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 16, 16, 32)).astype(np.float32)
    w = rng.standard_normal((3, 3, 32, 32)).astype(np.float32)
    transforms = [("Cook-Toom F4", cook_toom(4)), ("Cook-Toom F6", cook_toom(6)),
                  ("pso F4", named_transform("pso", 4)), ("pso F6", named_transform("pso", 6)),
                  ("learned F4 1%", learned(4, 0.01)), ("learned F4 5%", learned(4, 0.05)),
                  ("learned F6 1%", learned(6, 0.01)), ("learned F6 5%", learned(6, 0.05))]
    print("| transform | matrices only | tensor | tap | wide | C wide fp32 | C wide int |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, t in transforms:
        f = figures(t, x, w)
        cells = [f"{f[i]:.1f} -> {f[i + 1]:.1f}" for i in range(0, len(f), 2)]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
