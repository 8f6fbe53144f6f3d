"""Error figures for sweep cases: the host build of the very kernels a board runs (int8 is bit-exact
across builds, fp32 byte-identical with FMA on both), fed seeded Gaussian data (the runner's
generator), against the float64 direct convolution of the unquantized data.

The error of a kernel depends on the algorithm, transform, bit width and channel counts, not on the
board, so it is computed once per case on the host while the board measures latency. Spatially it
is stationary apart from the image border, so layers larger than ERROR_CROP x ERROR_CROP are
measured on that crop (the runner's `--verify` checks full layers on the board: `bench verify`).
"""

from __future__ import annotations

import functools

from bench.native import kernels
from bench.measure.cases import Case
from bench.native.kernels import checksum
from bench.numerics.reference import conv2d_direct, conv2d_winograd, error_metrics
from bench.numerics.winograd import identity_error, load_transform
from bench.operators import NO_TRANSFORM

ERROR_CROP = 16
SEED = 1  # the runner's default --seed: x from SEED, weights from SEED + 1 (kernels_c/RUNNER.md)
# int8 as deployed: ranges calibrated on CALIBRATION_BATCHES batch of other data (seeded, never the
# evaluated x), reported as `sqnr_cal_db` beside the per-input best case `sqnr_db`.
CALIBRATION_SEED = 1001
CALIBRATION_BATCHES = 1


def host_build_run(case: Case, h: int, w: int):
    """(x, weights, output) of the case's kernel in the host build on the runner's data, h x w.
    An int8 case runs with its scheme and requantization form."""
    l = case.layer
    x = kernels.gaussian((1, h, w, l.cin), SEED)
    weights = kernels.gaussian((l.k, l.k, l.cin, l.cout), SEED + 1)
    transform = "static" if case.transform == NO_TRANSFORM else case.transform
    return x, weights, kernels.conv2d(x, weights, algo=case.algo, bits=case.bits, transform=transform, scheme=case.scheme,
                                      stride=l.stride, pad=l.pad, requant=case.requant)


@functools.lru_cache(maxsize=None)
def case_errors(case: Case) -> dict:
    """{"sqnr_db", "max_abs", "rel_l2", "error_h", "error_w"} for one case."""
    h, w = min(case.layer.h, ERROR_CROP), min(case.layer.w, ERROR_CROP)
    x, weights, out = host_build_run(case, h, w)
    ref = conv2d_direct(x, weights, case.layer.stride, case.layer.pad)
    errors = {**error_metrics(out, ref), "error_h": h, "error_w": w}
    if case.bits == 8:
        x_cal = kernels.gaussian(x.shape, CALIBRATION_SEED)
        transform = "static" if case.transform == NO_TRANSFORM else case.transform
        deployed = kernels.conv2d_int8_calibrated(x, weights, x_cal, algo=case.algo, transform=transform, scheme=case.scheme,
                                                   stride=case.layer.stride, pad=case.layer.pad)
        errors.update(sqnr_cal_db=error_metrics(deployed, ref)["sqnr_db"], calibration_seed=CALIBRATION_SEED)
    return errors


IDENTITY_TOL = 1e-9  # above this a transform is not an exact Winograd transform (a learned one)


def transform_of(case: Case):
    """The transform file of a case as a Transform, or None for static/learned/none."""
    return load_transform(case.transform_file) if case.transform_file else None


@functools.lru_cache(maxsize=None)
def same_matrices_check(case: Case) -> dict:
    """For a case whose transform is not exact: the host build's output on the runner's data for the
    full layer against the float64 Winograd convolution with the same matrices ({"rel_l2",
    "sqnr_db", "max_abs"}), its checksum, the transform's own identity error, and the relative L2
    error of that float64 Winograd convolution against the direct one (what the transform alone costs)."""
    t = transform_of(case)
    x, weights, out = host_build_run(case, case.layer.h, case.layer.w)
    same = conv2d_winograd(x, weights, t, case.origin)
    return {**error_metrics(out, same), "checksum": checksum(out), "identity_error": identity_error(t),
            "transform_rel_l2": error_metrics(same, conv2d_direct(x, weights))["rel_l2"]}


def is_exact_transform(case: Case) -> bool:
    t = transform_of(case)
    if t is None:
        return True

    return identity_error(t) <= IDENTITY_TOL
