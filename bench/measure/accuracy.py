"""Error figures for sweep cases: the host build of the very kernels a board runs (int8 is bit-exact
across builds, fp32 byte-identical with FMA on both), against the float64 direct convolution of the
unquantized data and, for Winograd, against the float64 Winograd convolution with the same matrices
and tile origin (what the kernel's arithmetic costs, apart from what an inexact transform costs).

The data is the runner's seeded Gaussian input and weights, unless the case's layer names its
trained weights (a network file's `weights`, written by `bench transforms import --weights`): then
those weights, and with the trained input range the input is the Gaussian spread over that range
(ERROR_INPUT_SIGMAS standard deviations to its end) and int8 takes its input scale from that range.

The error of a kernel depends on the algorithm, transform, bit width and channel counts, not on the
board, so it is computed once per case on the host while the board measures latency. Spatially it
is stationary apart from the image border, so layers larger than ERROR_CROP x ERROR_CROP are
measured on that crop (the runner's `--verify` checks full layers on the board: `bench verify`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from bench.native import kernels
from bench.measure.cases import Case
from bench.native.kernels import ConvOp, checksum
from bench.numerics.reference import conv2d_direct, conv2d_winograd, error_metrics
from bench.numerics.trained import load_weights
from bench.numerics.winograd import cook_toom, identity_error, load_transform
from bench.operators import NO_TRANSFORM, TILE

ERROR_CROP = 16
SEED = 1  # the runner's default --seed: x from SEED, weights from SEED + 1 (kernels_c/RUNNER.md)
# int8 as deployed: ranges calibrated on CALIBRATION_BATCHES batch of other data (seeded, never the
# evaluated x), reported as `sqnr_cal_db` beside the per-input best case `sqnr_db`.
CALIBRATION_SEED = 1001
CALIBRATION_BATCHES = 1
# A trained input range is the extreme a quantizer saw in training: about 4 standard deviations of
# a layer's tens of thousands of activations. The checkpoint holds no activations, so the evaluated
# input is the Gaussian scaled to put the range's end ERROR_INPUT_SIGMAS deviations out.
ERROR_INPUT_SIGMAS = 4.0


def _op(case: Case) -> ConvOp:
    return ConvOp(case.algo, case.bits, "static" if case.transform == NO_TRANSFORM else case.transform, case.scheme,
                  requant=case.requant)


def host_build_run(case: Case, h: int, w: int):
    """(x, weights, output) of the case's kernel in the host build on the runner's data, h x w.
    An int8 case runs with its scheme and requantization form."""
    l = case.layer
    x = kernels.gaussian((1, h, w, l.cin), SEED)
    weights = kernels.gaussian((l.k, l.k, l.cin, l.cout), SEED + 1)
    return x, weights, kernels.conv2d_timed(x, weights, _op(case), stride=l.stride, pad=l.pad)[0]


@dataclass(frozen=True)
class ErrorData:
    """What a case's error figures are computed on: input, weights, calibration data, the int8
    input scale when a trained range fixes it (else None: calibrated), and `error_data`'s label."""

    x: np.ndarray
    weights: np.ndarray
    x_cal: np.ndarray
    input_scale: float | None
    label: str


def error_data(case: Case, h: int, w: int) -> ErrorData:
    """The runner's Gaussian data, or the layer's trained weights (and input range) when it has them."""
    l = case.layer
    x, x_cal = kernels.gaussian((1, h, w, l.cin), SEED), kernels.gaussian((1, h, w, l.cin), CALIBRATION_SEED)
    if not l.weights:
        return ErrorData(x, kernels.gaussian((l.k, l.k, l.cin, l.cout), SEED + 1), x_cal, None, "gaussian")
    weights, ranges = trained_weights(l.weights)
    if "input" not in ranges:
        return ErrorData(x, weights, x_cal, None, f"trained:{l.name}")
    amax = max(abs(v) for v in ranges["input"])
    spread = np.float32(amax / ERROR_INPUT_SIGMAS)
    return ErrorData(x * spread, weights, x_cal * spread, amax / 127, f"trained+range:{l.name}")


@functools.lru_cache(maxsize=16)
def trained_weights(path: str):
    return load_weights(path)


def same_matrices_reference(case: Case, x, weights):
    """The float64 Winograd convolution with the case's matrices and tile origin; None for im2row."""
    if case.algo not in TILE:
        return None
    return conv2d_winograd(x, weights, transform_of(case) or cook_toom(TILE[case.algo]), case.origin)


@functools.lru_cache(maxsize=None)
def case_errors(case: Case) -> dict:
    """{"sqnr_db", "max_abs", "rel_l2"} against the direct convolution, "sqnr_same_db" against the
    same-matrix Winograd one, "error_data", "error_h", "error_w"; int8 adds the calibrated
    ("sqnr_cal_db", "sqnr_cal_same_db", "calibration_seed")."""
    h, w = min(case.layer.h, ERROR_CROP), min(case.layer.w, ERROR_CROP)
    d = error_data(case, h, w)
    op, l = _op(case), case.layer
    out = kernels.conv2d_timed(d.x, d.weights, op, stride=l.stride, pad=l.pad)[0]
    ref, same = conv2d_direct(d.x, d.weights, l.stride, l.pad), same_matrices_reference(case, d.x, d.weights)
    errors = {**error_metrics(out, ref), "error_h": h, "error_w": w, "error_data": d.label}
    if same is not None:
        errors["sqnr_same_db"] = error_metrics(out, same)["sqnr_db"]
    if case.bits == 8:
        deployed = (kernels.conv2d_int8_at_scale(d.x, d.weights, d.x_cal, d.input_scale, op, stride=l.stride, pad=l.pad)
                    if d.input_scale else
                    kernels.conv2d_int8_calibrated(d.x, d.weights, d.x_cal, algo=op.algo, transform=op.transform,
                                                   scheme=case.scheme, requant=case.requant, stride=l.stride, pad=l.pad))
        errors.update(sqnr_cal_db=error_metrics(deployed, ref)["sqnr_db"], calibration_seed=CALIBRATION_SEED)
        if same is not None:
            errors["sqnr_cal_same_db"] = error_metrics(deployed, same)["sqnr_db"]
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
