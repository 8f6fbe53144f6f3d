"""Whole-network latency from a latency table: a list of layers with counts (a preset or a file),
an assignment of operators to layers (one everywhere, or a per-layer mapping in a JSON/TOML file),
the total with its stage breakdown and the speedup over im2row fp32, per (board, core, threads).

Layers come from bench.layers (presets, a network file) or from the table itself. Winograd applies
to 3x3 stride-1 layers only: an operator "everywhere" gives those layers that operator and every
other layer (the stem, strided and 1x1 convolutions) its only operator, im2row at the same precision.
Assignment file: layer name (or LUT layer key) -> operator key, or -> {operator: probability}
(the wiNAS expected latency); "default" covers every layer not named:
    {"default": "f4-static-int8", "stage1": "f2-static-int8"}
"""

from __future__ import annotations

import math
from pathlib import Path

from bench.measure.fidelity import CAVEATS
from bench.measure.fidelity import label as where_label
from bench.errors import UsageError, shown
from bench.files import read_mapping
from bench.layers import Layer
from bench.numerics.winograd import load_transform
from bench.operators import (BITS, accepted_schemes, op_key, precision_name, scheme_suffix, split_op_key,
                             transform_name)
from bench.analysis.lut import LUT, LUTError, lut_json

BASELINE = "im2row-fp32"
FASTEST = "fastest per layer"
FASTEST_OURS = "fastest winobench per layer"   # beside FASTEST when production engines are in the table


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


def _available(lut: LUT, l: Layer, predict: bool, owned: frozenset = frozenset()) -> set[str]:
    """Operators with a latency for a layer: measured, or (with predict) with a latency model (only
    im2row's for a layer Winograd does not apply to); never another layer's own transform (`owned`:
    the names of the network's own transform files): it has the shape's latency but not the layer's
    trained computation."""
    have = set(lut.layers.get(l.key, {}))
    if predict and not have:
        have = {op for op in lut.predictors if l.winograd or op.startswith("im2row")}
    mine = transform_name(l.transform) if l.transform else None
    return {op for op in have if not any(f"-{name}-" in f"{op}-" and name != mine for name in owned)}


def _owned(layers) -> frozenset:
    return frozenset(transform_name(l.transform) for l in layers if l.transform)


def only_operator(op: str) -> str:
    """The operator a layer Winograd does not apply to takes under an assignment of `op`: im2row at
    op's precision (im2row-fp32 for f4-static-fp32, im2row-int8 for f4-static-int8-tap)."""
    return f"im2row-{'int8' if '-int8' in f'{op}-' else 'fp32'}"


def resolve(layers, op: str) -> dict:
    """An operator everywhere as a per-layer assignment: Winograd layers take `op`, the others
    (strided, 1x1, 7x7, ...) their only operator at its precision."""
    return {_id(l): op if op.startswith("im2row") or l.winograd else only_operator(op) for l in layers}


def _layer_ms(lut: LUT, l: Layer, op: str, predict: bool) -> float:
    if predict and l.key not in lut.layers:
        return lut.predict(l, op)
    return lut.latency(l.key, op)


def _id(l: Layer) -> str:
    """How an assignment names a layer: its name, else its key."""
    return l.name or l.key


def _assignments(lut: LUT, layers, predict: bool) -> dict:
    """{label: per-layer assignment}: every operator used everywhere (where each layer has it or its
    only operator), im2row at both precisions, and the fastest per layer."""
    owned = _owned(layers)
    available = {_id(l): _available(lut, l, predict, owned) for l in layers}
    every = set().union(*available.values())
    out = {}
    for op in sorted(every):
        chosen = resolve(layers, op)
        if all(chosen[_id(l)] in available[_id(l)] for l in layers):
            out[op] = chosen
    if all(available.values()):
        engines = any(split_op_key(op) for op in every)
        try:
            out[FASTEST] = {_id(l): _fastest(lut, l, available[_id(l)], predict) for l in layers}
            if engines:   # the fastest of this project's kernels alone beside the fastest over every engine
                out[FASTEST_OURS] = {_id(l): _fastest(lut, l, {op for op in available[_id(l)]
                                                              if split_op_key(op) is None}, predict) for l in layers}
        except (LUTError, ValueError) as e:   # PredictError: a layer outside what the models support
            raise UsageError(f"{lut.name}: {e}") from None
    return out


def _fastest(lut: LUT, l: Layer, ops, predict: bool) -> str:
    return min(sorted(ops), key=lambda op: _layer_ms(lut, l, op, predict))


OWN = "own transforms"


def own_assignments(lut: LUT, layers) -> dict:
    """{label: {layer name: operator}} for layers carrying their own transform file (a network file's
    `transform`): each such layer on its own transform's operator, every other layer on im2row, one
    assignment per precision and scheme measured on every layer ("own transforms int8", ...)."""
    tiles = {l.name: f"f{load_transform(l.transform).m}" for l in layers if l.transform}
    if not tiles:
        return {}
    out = {}
    for bits in BITS:
        for scheme in accepted_schemes(next(iter(tiles.values())), bits):
            _add_own(out, lut, layers, tiles, bits, scheme)
    return out


def _add_own(out: dict, lut: LUT, layers, tiles: dict, bits: int, scheme: str) -> None:
    """The assignment of `bits` and `scheme` into `out`, when every layer's operator is measured."""
    choice = {_id(l): (op_key(tiles[l.name], l.transform, bits, scheme) if l.name in tiles
                       else op_key("im2row", "none", bits)) for l in layers}
    if all(choice[_id(l)] in lut.layers.get(l.key, {}) for l in layers):
        out[" ".join([OWN, precision_name(bits), scheme_suffix(scheme)]).strip()] = choice


def table_where(lut: LUT) -> str:
    """Where a table's entries were measured (bench.measure.fidelity), one value or several joined."""
    seen = {e.get("where") or "" for ops in lut.layers.values() for e in ops.values()}
    return "+".join(sorted(seen))


def network_rows(lut: LUT, layers, assign=None, predict: bool = False) -> list[dict]:
    """Rows of the network table for one LUT: the given assignment (an operator key, resolved per
    layer as `resolve` does, or a per-layer mapping), or each operator everywhere plus the fastest
    operator per layer (and, for layers with their own transforms, those: beside the
    static-transform and im2row baselines); each with its stage sums and its speedup over im2row fp32 everywhere. A
    row's "choice" is its per-layer assignment (for layer_rows)."""
    if assign is None:
        assignments = _assignments(lut, layers, predict)
        assignments.update(own_assignments(lut, layers))
    else:
        assignments = {assign if isinstance(assign, str) else "assignment":
                       resolve(layers, assign) if isinstance(assign, str) else assign}
    if not assignments:
        missing = [l.shape for l in layers if l.key not in lut.layers]
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
        rows.append({"table": lut.name, "where": table_where(lut), "assignment": label, **{k: net[k] for k in
                     ("total_ms", "input_ms", "gemm_ms", "output_ms", "predicted_ms")},
                     "speedup": base / net["total_ms"] if base else float("nan"), "choice": choice,
                     "per_layer": net["layers"]})
    return rows


def layer_rows(row: dict, layers) -> list[dict]:
    """The per-layer table of one network row: each layer's operator, its ms and count x ms."""
    out = []
    for l, r in zip(layers, row["per_layer"]):
        out.append({"table": row["table"], "assignment": row["assignment"], "layer": _id(l), "shape": l.shape,
                    "k": l.k, "stride": l.stride, "pad": l.pad, "count": l.count, "op": r["op"],
                    "ms": r["total_ms"], "count_x_ms": l.count * r["total_ms"], "predicted": r["predicted"]})
    return out


def layers_from_table(df) -> list[Layer]:
    """The layers a latency table measured, each once (shape and filter), with its name and count
    as the sweep recorded them: what `bench network` sums without --preset or --layers."""
    ok = df[df["status"] == "ok"]
    layers = []
    seen = set()
    for r in ok.to_dict("records"):
        shape = tuple(int(r[c]) for c in ("h", "w", "cin", "cout", "k", "stride", "pad"))
        if shape in seen:
            continue
        seen.add(shape)
        count = r.get("count")
        layers.append(Layer(*shape[:4], count=int(count) if count == count and count else 1,
                            name=r.get("layer") if isinstance(r.get("layer"), str) else "",
                            k=shape[4], stride=shape[5], pad=shape[6]))
    if not layers:
        raise UsageError("the table has no successful measurement to take layers from")
    names = [l.name for l in layers if l.name]
    return layers if len(names) == len(set(names)) else [Layer(l.h, l.w, l.cin, l.cout, l.count, "", l.k, l.stride, l.pad)
                                                          for l in layers]


def not_measured_lines(network, layers) -> list[str]:
    """`not measured: OP (x.x% of the multiply-adds), ...` for a network's other operations."""
    if not network or not network.not_measured:
        return []
    conv = sum(l.macs * l.count for l in layers)
    total = conv + sum(op["macs"] for op in network.not_measured)
    parts = [f"{op['op']} ({100 * op['macs'] / total:.2f}%)" for op in network.not_measured]
    return [f"not measured (share of the network's multiply-adds; convolutions {100 * conv / total:.2f}%): "
            + ", ".join(parts)]


def format_table(rows: list[dict], layers, network=None) -> str:
    n = sum(l.count for l in layers)
    lines = []
    for table in dict.fromkeys(r["table"] for r in rows):
        where = next(r["where"] for r in rows if r["table"] == table)
        words = " + ".join(where_label(w, table.split("/")[1]) for w in where.split("+"))
        lines.append(f"{table} ({words}): network of {n} layers "
                     f"({len(dict.fromkeys(l.key for l in layers))} shapes); ms, stage sums of count x median")
        lines.append(f"  {'assignment':<28} {'total':>9} {'input':>9} {'gemm':>9} {'output':>9} {'vs im2row fp32':>15}")
        for r in (r for r in rows if r["table"] == table):
            speed = "-" if r["speedup"] != r["speedup"] else f"{r['speedup']:.2f}x"
            pred = f"  ({r['predicted_ms']:.3f} ms predicted)" if r["predicted_ms"] else ""
            stages = " ".join("        -" if r[s] != r[s] else f"{r[s]:>9.3f}" for s in ("input_ms", "gemm_ms", "output_ms"))
            lines.append(f"  {r['assignment']:<28} {r['total_ms']:>9.3f} {stages} {speed:>15}{pred}")
    lines += not_measured_lines(network, layers)
    if any(r["predicted_ms"] for r in rows):   # the models predict a layer's total, not its stages
        lines.append("note: input/gemm/output sum the measured layers only; a total's predicted part is in brackets")
    wheres = {w for r in rows for w in r["where"].split("+")}
    lines += [f"note: {CAVEATS[w]}" for w in sorted(wheres) if w in CAVEATS]
    return "\n".join(lines)


def format_layers(rows: list[dict]) -> str:
    """The per-layer table (layer_rows) of one assignment per table."""
    lines = []
    for (table, label), group in _groups(rows):
        names = ["" if r["layer"].startswith("conv-input:") else r["layer"] for r in group]   # unnamed: its shape says it
        wn, wo = max([20, *map(len, names)]), max([22, *(len(r["op"]) for r in group)])   # whole names and keys
        lines.append(f"{table}, {label}: operator per layer")
        lines.append(f"  {'layer':<{wn}} {'shape':<24} {'count':>5} {'operator':<{wo}} {'ms':>9} {'count x ms':>11}")
        for name, r in zip(names, group):
            pred = " (predicted)" if r["predicted"] else ""
            lines.append(f"  {name:<{wn}} {r['shape']:<24} {r['count']:>5} {r['op']:<{wo}} {r['ms']:>9.3f} "
                         f"{r['count_x_ms']:>11.3f}{pred}")
    return "\n".join(lines)


def _groups(rows: list[dict]):
    keys = dict.fromkeys((r["table"], r["assignment"]) for r in rows)
    return [(k, [r for r in rows if (r["table"], r["assignment"]) == k]) for k in keys]
