"""Whole-network latency from a latency table: a list of layers with counts (a preset or a file),
an assignment of operators to layers (one everywhere, or a per-layer mapping in a JSON/TOML file),
the total with its stage breakdown and the speedup over im2row fp32, per (board, core, threads).

Layers come from bench.layers (presets or a layers file).
Assignment file: layer name (or LUT layer key) -> operator key, or -> {operator: probability}
(the wiNAS expected latency); "default" covers every layer not named:
    {"default": "f4-static-int8", "stage1": "f2-static-int8"}
"""

from __future__ import annotations

import math
from pathlib import Path

from bench.errors import UsageError, shown
from bench.files import read_mapping
from bench.layers import Layer
from bench.analysis.lut import LUT, LUTError, layer_key, lut_json

BASELINE = "im2row-fp32"
FASTEST = "fastest per layer"


def load_assignment(text: str):
    """--assign: an operator key (one everywhere) or a .json/.toml file mapping layers to operators
    or to {operator: probability} (numbers >= 0 summing to 1); UsageError naming what is wrong."""
    if not text.strip():
        raise UsageError("empty --assign; give an operator key (e.g. f4-static-int8) or a .json/.toml file")
    if Path(text).suffix not in (".json", ".toml"):
        return text
    mapping = read_mapping(Path(text), "assignment")
    for name, op in mapping.items():
        if isinstance(op, dict):
            _check_probabilities(op, f"{text}: layer {shown(name)}")
        elif not (isinstance(op, str) and op):
            raise UsageError(f"{text}: layer {shown(name)} maps to {shown(op)}; expected an operator key "
                             f"or {{op: probability}}")
    return mapping


def _check_probabilities(probs: dict, where: str) -> None:
    """{operator: probability}: plain numbers (not strings, booleans or tables) >= 0, summing to 1."""
    if not probs:
        raise UsageError(f"{where}: an empty {{op: probability}} table")
    for op, p in probs.items():
        if type(p) not in (int, float) or not math.isfinite(p) or p < 0:
            raise UsageError(f"{where}: bad probability {shown(p)} of {shown(op)}; expected a number from 0 to 1")
    total = math.fsum(probs.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise UsageError(f"{where}: the probabilities sum to {total:.6g}; expected 1")


def luts_from_rows(rows: list[dict], predictors: dict | None = None) -> list[LUT]:
    """One LUT per (board, core, threads) table of bench.analysis.lut.build_lut rows."""
    predictors = predictors or {}
    return [LUT(name, layers, predictors.get(name, {})) for name, layers in sorted(lut_json(rows)["tables"].items())]


def _common_ops(lut: LUT, layers, predict: bool) -> list[str]:
    """Operators available on every layer: measured, or (with predict) with a latency model."""
    ops = None
    for l in layers:
        have = set(lut.layers.get(_key(l), {}))
        if predict and not have:
            have = set(lut.predictors)
        ops = have if ops is None else ops & have
    return sorted(ops or [])


def _layer_ms(lut: LUT, l: Layer, op: str, predict: bool) -> float:
    if predict and _key(l) not in lut.layers:
        return lut.predict((l.h, l.w, l.cin, l.cout), op)
    return lut.latency(_key(l), op)


def _key(l: Layer) -> str:
    return layer_key(l.h, l.w, l.cin, l.cout)


def network_rows(lut: LUT, layers, assign=None, predict: bool = False) -> list[dict]:
    """Rows of the network table for one LUT: the given assignment, or each operator used everywhere
    plus the fastest operator per layer; each with its speedup over im2row fp32 everywhere."""
    if assign is None:
        assignments = {op: op for op in _common_ops(lut, layers, predict)}
        if assignments:
            try:
                assignments[FASTEST] = {l.name or _key(l): min(assignments, key=lambda op: _layer_ms(lut, l, op, predict))
                                        for l in layers}
            except (LUTError, ValueError) as e:   # PredictError: a layer outside what the models support
                raise UsageError(f"{lut.name}: {e}") from None
    else:
        assignments = {assign if isinstance(assign, str) else "assignment": assign}
    if not assignments:
        missing = [f"{l.h}x{l.w}x{l.cin}->{l.cout}" for l in layers if _key(l) not in lut.layers]
        why = f"layers not measured: {', '.join(missing)}; measure them or pass --predict" if missing else \
            "the layers have no operator in common"
        raise UsageError(f"{lut.name}: no operator is measured on every layer of the network ({why})")
    try:
        base = lut.network_latency(layers, BASELINE, predict=predict)["total_ms"]
    except (LUTError, ValueError):
        base = None
    rows = []
    for label, choice in assignments.items():
        try:
            net = lut.network_latency(layers, choice, predict=predict)
        except (LUTError, ValueError) as e:
            raise UsageError(f"{lut.name}: {e}") from None
        rows.append({"table": lut.name, "assignment": label, **{k: net[k] for k in
                     ("total_ms", "input_ms", "gemm_ms", "output_ms", "predicted_ms")},
                     "speedup": base / net["total_ms"] if base else float("nan")})
    return rows


def format_table(rows: list[dict], layers) -> str:
    n = sum(l.count for l in layers)
    lines = []
    for table in dict.fromkeys(r["table"] for r in rows):
        lines.append(f"{table}: network of {n} layers ({len(layers)} shapes); ms, stage sums of count x median")
        lines.append(f"  {'assignment':<22} {'total':>9} {'input':>9} {'gemm':>9} {'output':>9} {'vs im2row fp32':>15}")
        for r in (r for r in rows if r["table"] == table):
            speed = "-" if r["speedup"] != r["speedup"] else f"{r['speedup']:.2f}x"
            pred = f"  ({r['predicted_ms']:.3f} ms predicted)" if r["predicted_ms"] else ""
            lines.append(f"  {r['assignment']:<22} {r['total_ms']:>9.3f} {r['input_ms']:>9.3f} {r['gemm_ms']:>9.3f} "
                         f"{r['output_ms']:>9.3f} {speed:>15}{pred}")
    return "\n".join(lines)
