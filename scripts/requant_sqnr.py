"""SQNR of the int8 schemes in both requantization forms (bench.numerics.reference, steps 2 and 8),
on the Gaussian layers of the README (the runner's data: x from seed 1, weights from seed 2), against
the float64 direct convolution; the last column is the largest |int - fp32| of the row. The figures
behind the default form (kernels_c/README.md, "Integer requantization": the faster form is the
default when both agree within 0.3 dB). Needs the host library (built on first use).

    .venv/bin/python scripts/requant_sqnr.py [--layers 16x64,32x32]
"""
import argparse

from bench.native.kernels import gaussian
from bench.numerics import reference as ref
from bench.numerics.winograd import BARABASZ_POINTS, cook_toom

TILES = {"F2": lambda: cook_toom(2), "F4": lambda: cook_toom(4),
         "F4 Barabasz": lambda: cook_toom(4, points=BARABASZ_POINTS[(4, 3)]), "F6": lambda: cook_toom(6)}


def sqnr_table(layers):
    """{(scheme, tile): [(fp32 dB, int dB) per layer]}, im2row as scheme 'im2row'."""
    out = {}
    for h, c in layers:
        x, w = gaussian((1, h, h, c), 1), gaussian((3, 3, c, c), 2)
        direct = ref.conv2d_direct(x, w)
        sqnr = lambda y: ref.error_metrics(y, direct)["sqnr_db"]  # noqa: E731
        out.setdefault(("im2row", ""), []).append(
            tuple(sqnr(ref.conv2d_im2row_int8(x, w, requant=r)["y"]) for r in ("fp32", "int")))
        for scheme in ("tensor", "tap", "wide"):
            for tile, make in TILES.items():
                t = make()
                out.setdefault((scheme, tile), []).append(
                    tuple(sqnr(ref.conv2d_winograd_int8(x, w, t, scheme, requant=r)) for r in ("fp32", "int")))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--layers", default="16x64,32x32", help="HxC,... (H x H x C -> C layers)")
    a = p.parse_args(argv)
    layers = [tuple(int(v) for v in s.split("x")) for s in a.layers.split(",")]
    names = " | ".join(f"{h}x{h}x{c} fp32 / int" for h, c in layers)
    print(f"| scheme | tile | {names} | max abs(int - fp32) dB |")
    print("| --- | --- |" + " --- |" * (len(layers) + 1))
    for (scheme, tile), per in sqnr_table(layers).items():
        cells = " | ".join(f"{f:.2f} / {i:.2f}" for f, i in per)
        print(f"| {scheme} | {tile} | {cells} | {max(abs(i - f) for f, i in per):.2f} |")


if __name__ == "__main__":
    main()
