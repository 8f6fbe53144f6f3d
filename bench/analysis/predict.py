"""Latency of layers that were not measured: a model per (board, core, threads, operator), fitted on
the measured layers from the arithmetic and memory terms of each stage (bench.analysis.workload).

    total_ms ~ sum over stages s of (a_s ops_s + b_s bytes_s) + c,   every coefficient >= 0

with each stage's (a_s, b_s) split in two regimes by whether its bytes exceed a threshold (the
working set leaving the core's caches makes every byte and operation dearer). The threshold is
picked from powers of two by training error. The fit is non-negative least squares on relative
residuals (scipy.optimize.nnls, each row divided by its latency), so a 4x4x8 layer counts as much as
a 224x224x512 one, reweighted a few times (Huber) so that a few disturbed measurements do not pull
the model. Its error is estimated by leave-one-layer-out cross-validation (the threshold is
chosen again inside every fold). A layer is (h, w, cin, cout, k, stride, pad): one model per
operator covers every filter measured with it (the terms of bench.analysis.workload follow k and
stride), and predictions are refused for a filter (k, stride) not measured, outside the box of
(h, w, cin, cout) measured with that filter or outside its measured range of cout/cin (a grid with
cin = cout cannot tell the input terms from the output terms), and when fewer than MIN_LAYERS
layers were measured. Models written before filters existed cover 3x3 stride 1 only.
"""

from __future__ import annotations

import numpy as np

from bench.analysis.workload import STAGES, stage_work
from bench.operators import OUR_ENGINE

MIN_LAYERS = 16
THRESHOLDS = [float(2 ** k) for k in range(14, 28)]   # 16 KiB .. 128 MiB
DIMENSIONS = ("h", "w", "cin", "cout")
ROBUST_ROUNDS = 6
HUBER_K = 1.345


class PredictError(ValueError):
    """A prediction the data cannot support; the message is one line saying why."""


def features(algo: str, bits: int, shape, threshold: float) -> np.ndarray:
    """The model's terms for a layer (h, w, cin, cout[, k, stride, pad]): each stage's operations
    and bytes, split by whether the stage's bytes exceed `threshold`, and a constant."""
    work = stage_work(algo, bits, tuple(int(v) for v in shape))
    out = []
    for stage in STAGES:
        ops, nbytes = work[stage]
        big = nbytes > threshold
        out += [0.0 if big else ops, 0.0 if big else nbytes, ops if big else 0.0, nbytes if big else 0.0]
    return np.array(out + [1.0])


def _nnls_relative(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative coefficients minimising the relative residuals, made robust to disturbed
    measurements (a shared or throttling board) by a few rounds of Huber reweighting."""
    from scipy.optimize import nnls

    weights = np.ones(len(y))
    for _ in range(ROBUST_ROUNDS):
        a = x / y[:, None] * weights[:, None]
        scale = a.max(axis=0)
        scale[scale == 0] = 1.0   # unused columns (e.g. im2row's input ops) stay at zero
        coef, _ = nnls(a / scale, weights)
        coef /= scale
        residual = np.abs(x @ coef / y - 1.0)
        spread = max(1.4826 * float(np.median(residual)), 1e-3)   # robust sigma (MAD)
        weights = np.sqrt(np.minimum(1.0, HUBER_K * spread / np.maximum(residual, 1e-12)))
    return coef


def _fit(algo: str, bits: int, layers: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """(threshold, coefficients) with the lowest median relative training error."""
    best = None
    for threshold in THRESHOLDS:
        x = np.array([features(algo, bits, l, threshold) for l in layers])
        coef = _nnls_relative(x, y)
        err = float(np.median(np.abs(x @ coef / y - 1.0)))
        if best is None or err < best[0]:
            best = (err, threshold, coef)
    return best[1], best[2]


def _cross_validate(algo: str, bits: int, layers: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Leave-one-layer-out relative errors |predicted / measured - 1|."""
    errors = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        threshold, coef = _fit(algo, bits, layers[keep], y[keep])
        errors.append(abs(features(algo, bits, layers[i], threshold) @ coef / y[i] - 1.0))
    return np.array(errors)


def filter_name(k: int, stride: int) -> str:
    return f"k{int(k)}s{int(stride)}"


def _box(layers: np.ndarray) -> dict:
    """The measured range of (h, w, cin, cout) and of cout/cin of some layers."""
    ratio = layers[:, 3] / layers[:, 2]
    return {"range": {d: [int(layers[:, i].min()), int(layers[:, i].max())] for i, d in enumerate(DIMENSIONS)},
            "cout_per_cin": [float(ratio.min()), float(ratio.max())]}


def fit_model(algo: str, bits: int, layers, latency_ms) -> dict | None:
    """A JSON-ready model from measured layers [(h, w, cin, cout[, k, stride, pad]), ...] (3x3
    stride 1 padding 1 when the filter is left out) and their median total ms, or None when there
    are fewer than MIN_LAYERS distinct layers. "filters": the box of each filter measured."""
    layers = np.array([(*l, 3, 1, 1)[:7] if len(l) == 4 else l for l in layers], dtype=float)
    y = np.asarray(latency_ms, dtype=float)
    if len(y) < MIN_LAYERS:
        return None
    threshold, coef = _fit(algo, bits, layers, y)
    cv = _cross_validate(algo, bits, layers, y)
    filters = {}
    for k, s in sorted({(int(l[4]), int(l[5])) for l in layers}):
        filters[filter_name(k, s)] = _box(layers[(layers[:, 4] == k) & (layers[:, 5] == s)])
    return {"algo": algo, "bits": int(bits), "threshold_bytes": threshold, "coef": [float(c) for c in coef],
            "n": int(len(y)), "cv_median_rel_err": float(np.median(cv)), "cv_p90_rel_err": float(np.percentile(cv, 90)),
            **_box(layers), "filters": filters}


def fit_table(entries: list[dict]) -> dict:
    """{op: model} for one LUT table, from its rows (bench.analysis.lut.build_lut rows of one table)."""
    by_op: dict = {}
    for r in entries:
        by_op.setdefault(r["op"], []).append(r)
    models = {}
    for op, rows in sorted(by_op.items()):
        if rows[0].get("engine", OUR_ENGINE) != OUR_ENGINE:
            continue   # the work model is of this project's stages; an engine's operator is looked up only
        shapes = [(r["h"], r["w"], r["cin"], r["cout"], r.get("kernel", 3), r.get("stride", 1), r.get("pad", 1)) for r in rows]
        model = fit_model(rows[0]["algo"], rows[0]["bits"], shapes, [r["median_ms"] for r in rows])
        if model is not None:
            models[op] = model
    return models


def predict(model: dict | None, *shape: int, what: str) -> float:
    """Predicted median total ms of a layer (h, w, cin, cout[, k, stride, pad]; 3x3 stride 1
    padding 1 without a filter); PredictError (one line) for a filter not measured or outside its
    measured range. `what` names the table and operator in messages."""
    if model is None:
        raise PredictError(f"no latency model for {what}: fewer than {MIN_LAYERS} layers measured "
                           "(measure a wider set, e.g. bench run --preset grid)")
    h, w, cin, cout, k, stride, pad = (*shape, 3, 1, 1) if len(shape) == 4 else shape
    filters = model.get("filters") or {filter_name(3, 1): model}   # a model from before filters: 3x3 stride 1
    box = filters.get(filter_name(k, stride))
    shape = f"{h}x{w}x{cin}->{cout}" + ("" if (k, stride) == (3, 1) else f" k{k}s{stride}")
    if box is None:
        raise PredictError(f"no latency model of {what} for {shape}: {k}x{k} stride {stride} was not measured "
                           f"(measured: {', '.join(filters)}; bench run --preset grid measures them all)")
    layer = dict(zip(DIMENSIONS, (h, w, cin, cout)))
    outside = [f"{d} {layer[d]} not in {lo}..{hi}" for d, (lo, hi) in box["range"].items()
               if not lo <= layer[d] <= hi]
    lo, hi = box["cout_per_cin"]
    if not lo * (1 - 1e-9) <= cout / cin <= hi * (1 + 1e-9):
        outside.append(f"cout/cin {cout / cin:.3g} not in {lo:.3g}..{hi:.3g}")
    if outside:
        raise PredictError(f"refusing to extrapolate {what} to {shape}: {', '.join(outside)} "
                           "(the range of the layers measured with that filter)")
    x = features(model["algo"], model["bits"], (h, w, cin, cout, k, stride, pad), model["threshold_bytes"])
    return float(x @ np.asarray(model["coef"]))
