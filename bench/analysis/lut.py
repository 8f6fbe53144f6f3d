"""Latency lookup tables for hardware-aware NAS.

One entry per (board, core, threads) x layer configuration x operator, with median and p90 latency,
stage medians and error figures. Layer keys follow the once-for-all / ProxylessNAS lookup tables
(`conv-input:32x32x64-output:32x32x64-kernel:3-stride:1`); operator keys read `f4-static-int8`,
`im2row-fp32`, `f6-learned-int8`, or `f4-<file stem>-int8` for a transform file; an int8 Winograd
operator quantized with another scheme than `tensor` gains it as a suffix (`f4-static-int8-tap`), one
requantized through fp32 instead of the default fixed-point multiply `-rq-fp32`
(`f4-static-int8-tap-rq-fp32`). Each entry names its GEMM's product precision (`precision`: fp32, int8,
or int16 for the `wide` scheme, whose int8 operator multiplies int16 V by int16 U).

    lut = load_lut("tables/run/lut.json")                  # one (board, core, threads) table
    lut.latency(layer, "f4-static-int8")                   # median ms
    lut.expected_latency(layer, {"f2-static-int8": 0.3, "f4-static-int8": 0.7})   # wiNAS: sum_j p_j F(o_j)
    lut.predict((20, 20, 48, 96), "f4-static-int8")      # a layer not measured (bench.analysis.predict)
    lut.network_latency(resnet18_cifar(0.5), "f4-static-int8")   # whole network, stage breakdown
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import UsageError
from bench.layers import layer_key
from bench.operators import NO_REQUANT, op_key, product_precision
from bench.analysis.predict import fit_table, predict

LUT_SCHEMA_VERSION = 1


class LUTError(KeyError):
    """A layer or operator missing from the table; the message lists what the table has."""

    def __str__(self):
        return self.args[0]


def build_lut(df) -> list[dict]:
    """LUT rows from a latency DataFrame (bench.measure.results): successful, non-emulated cases only, one row
    per (board, core, threads, layer, operator). Emulated timings mean nothing and never enter a LUT."""
    ok = df[(df["status"] == "ok") & (~df["emulated"].astype(bool))]
    rows = []
    for _, r in ok.iterrows():
        rows.append({
            "board": r["board"], "core": r["core"], "threads": int(r["threads"]),
            "layer": layer_key(r["h"], r["w"], r["cin"], r["cout"]), "h": int(r["h"]), "w": int(r["w"]),
            "cin": int(r["cin"]), "cout": int(r["cout"]), "kernel": 3, "stride": 1,
            "op": op_key(r["algo"], r["transform"], r["bits"], r.get("scheme", "none"), r.get("requant")),
            "algo": r["algo"], "transform": r["transform"], "scheme": r.get("scheme", "none"),
            "requant": r.get("requant", NO_REQUANT), "bits": int(r["bits"]),
            "precision": product_precision(r["bits"], r.get("scheme", "none")),
            "median_ms": r["total_ms"], "p90_ms": _num(r["total_p90_ms"]),
            "input_ms": r["input_ms"], "gemm_ms": r["gemm_ms"], "output_ms": r["output_ms"],
            "sqnr_db": _num(r.get("sqnr_db")), "max_abs": _num(r.get("max_abs")), "rel_l2": _num(r.get("rel_l2")),
        })
    return rows


def _num(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def table_name(row: dict) -> str:
    return f"{row['board']}/{row['core']}/t{row['threads']}"


def lut_json(rows: list[dict], predictors: dict | None = None) -> dict:
    """{"schema_version", "unit", "tables": {"board/core/tN": {layer_key: {op_key: entry}}}}, plus
    "predictors": {"board/core/tN": {op_key: model}} (bench.analysis.predict) when given."""
    tables: dict = {}
    for r in rows:
        table = tables.setdefault(table_name(r), {})
        table.setdefault(r["layer"], {})[r["op"]] = {
            k: r[k] for k in ("median_ms", "p90_ms", "input_ms", "gemm_ms", "output_ms", "sqnr_db", "max_abs", "rel_l2",
                              "precision", "requant")}
    doc = {"schema_version": LUT_SCHEMA_VERSION, "tool": "winobench", "unit": "ms", "tables": tables}
    if predictors:
        doc["predictors"] = predictors
    return doc


def fit_predictors(rows: list[dict]) -> dict:
    """{"board/core/tN": {op_key: model}} for every table of build_lut rows (bench.analysis.predict)."""
    by_table: dict = {}
    for r in rows:
        by_table.setdefault(table_name(r), []).append(r)
    return {name: fit_table(entries) for name, entries in sorted(by_table.items())}


@dataclass
class LUT:
    name: str       # "board/core/tN"
    layers: dict    # layer_key -> op_key -> entry
    predictors: dict = field(default_factory=dict)   # op_key -> model (bench.analysis.predict)

    def entry(self, layer, op: str) -> dict:
        key = layer if isinstance(layer, str) else layer_key(*layer)
        ops = self.entry_layer(key)
        if op not in ops:
            raise LUTError(f"operator {op!r} is not measured for {key} in {self.name}; measured: {', '.join(sorted(ops))}")
        return ops[op]

    def latency(self, layer, op: str, stat: str = "median_ms") -> float:
        """Latency in ms of one operator on one layer; `layer` is a key or (h, w, cin, cout)."""
        return self.entry(layer, op)[stat]

    def expected_latency(self, layer, probs: dict, stat: str = "median_ms") -> float:
        """E[latency] = sum_j p_j F(o_j) under a categorical distribution over operators (wiNAS)."""
        plain = [float(p.detach()) if hasattr(p, "detach") else float(p) for p in probs.values()]  # torch: no grad
        total = sum(plain)
        if any(p < 0 for p in plain) or not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"operator probabilities must be non-negative and sum to 1, got sum {total:.6g}")
        return sum(p * self.latency(layer, op, stat) for op, p in probs.items() if p > 0)

    def operators(self, layer) -> list[str]:
        """The operators measured for a layer (a key or (h, w, cin, cout))."""
        return sorted(self.entry_layer(layer if isinstance(layer, str) else layer_key(*layer)))

    def predict(self, layer, op: str) -> float:
        """Predicted median ms of `op` on a layer (h, w, cin, cout), measured or not (bench.analysis.predict);
        PredictError (a ValueError, one line) outside the measured range or without a model."""
        h, w, cin, cout = _layer_dims(layer)
        return predict(self.predictors.get(op), h, w, cin, cout, what=f"{op} on {self.name}")

    def network_latency(self, layers, assign, stat: str = "median_ms", predict: bool = False) -> dict:
        """Whole-network latency: sum over layers of count x latency, with the stage breakdown.

        `layers`: bench.measure.cases.Layer objects (or (h, w, cin, cout, count[, name]) tuples). `assign`:
        one operator key for every layer, or a dict from layer name (or layer key) to an operator key
        or to {op: probability} (wiNAS: the expected latency, which stays differentiable when the
        probabilities are torch tensors); a "default" entry covers unnamed layers. With `predict`,
        layers missing from the table use LUT.predict (their time counts in `predicted_ms`, not in the
        stage sums). Returns {"total_ms", "input_ms", "gemm_ms", "output_ms", "predicted_ms", "layers"}."""
        out = {"total_ms": 0.0, "input_ms": 0.0, "gemm_ms": 0.0, "output_ms": 0.0, "predicted_ms": 0.0, "layers": []}
        for layer in layers:
            h, w, cin, cout, count, name = _layer_fields(layer)
            choice = _assigned(assign, name, layer_key(h, w, cin, cout))
            probs = {choice: 1.0} if isinstance(choice, str) else choice
            row = {"name": name, "key": layer_key(h, w, cin, cout), "count": count, "op": choice}
            measured = layer_key(h, w, cin, cout) in self.layers or not predict
            if measured:
                for stage in ("input_ms", "gemm_ms", "output_ms"):
                    row[stage] = sum(p * self.latency((h, w, cin, cout), op, stage) for op, p in probs.items())
                    out[stage] = out[stage] + count * row[stage]
                row["total_ms"] = self.expected_latency((h, w, cin, cout), probs, stat)
            else:
                row["total_ms"] = sum(p * self.predict((h, w, cin, cout), op) for op, p in probs.items())
                out["predicted_ms"] = out["predicted_ms"] + count * row["total_ms"]
            row["predicted"] = not measured
            out["total_ms"] = out["total_ms"] + count * row["total_ms"]
            out["layers"].append(row)
        return out

    def entry_layer(self, key: str) -> dict:
        """layer key -> {op key: entry}; LUTError listing the layers when it is missing."""
        if key not in self.layers:
            raise LUTError(f"layer {key!r} is not in the table {self.name}; it has: {', '.join(sorted(self.layers))}")
        return self.layers[key]


_KEY = re.compile(r"conv-input:(\d+)x(\d+)x(\d+)-output:\d+x\d+x(\d+)-")


def _layer_dims(layer) -> tuple[int, int, int, int]:
    """(h, w, cin, cout) of a layer key or a tuple."""
    if isinstance(layer, str):
        match = _KEY.match(layer)
        if not match:
            raise LUTError(f"bad layer key {layer!r}; expected e.g. {layer_key(32, 32, 64, 64)!r}")
        return tuple(int(g) for g in match.groups())
    h, w, cin, cout = layer[:4]
    return int(h), int(w), int(cin), int(cout)


def _layer_fields(layer) -> tuple:
    """(h, w, cin, cout, count, name) of a bench.measure.cases.Layer or a tuple."""
    if hasattr(layer, "cin"):
        return layer.h, layer.w, layer.cin, layer.cout, layer.count, layer.name
    h, w, cin, cout, count, *name = layer
    return h, w, cin, cout, count, (name[0] if name else "")


def _assigned(assign, name: str, key: str):
    if isinstance(assign, str):
        return assign
    for k in (name, key, "default"):
        if k and k in assign:
            return assign[k]
    raise LUTError(f"no operator assigned to layer {name or key!r}; the assignment names: {', '.join(map(str, assign))}")


def load_lut(path, table: str | None = None) -> LUT:
    """Load one table of a lut.json (or the lut.csv beside it); `table` ("board/core/tN") may be
    omitted when there is one. UsageError naming the file and what is wrong for anything that is
    not a well-formed winobench LUT."""
    path = Path(path)
    tables, predictors = (_read_csv_tables(path), {}) if path.suffix == ".csv" else _read_json_tables(path)
    if table is None:
        if len(tables) != 1:
            raise UsageError(f"{path} holds {len(tables)} tables; choose one of: {_listing(tables)}")
        table = next(iter(tables))
    if table not in tables:
        raise UsageError(f"{path}: no table {table!r}; it has: {_listing(tables)}")
    return LUT(table, tables[table], predictors.get(table, {}))


def _listing(names) -> str:
    """Names for a one-line message: as they are when printable, else quoted; cut when long."""
    names = sorted(names)
    text = ", ".join(n if n.isprintable() else repr(n) for n in names)
    return text if len(text) <= 300 else text[:300] + "..."


ENTRY_FIELDS = ("median_ms", "p90_ms", "input_ms", "gemm_ms", "output_ms", "sqnr_db", "max_abs", "rel_l2")


def _read_json_tables(path: Path) -> tuple[dict, dict]:
    """The tables and the predictors (bench.analysis.predict models) of a lut.json, checked."""
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, RecursionError) as e:  # not UTF-8, not JSON, a huge number, deep nesting
        raise UsageError(f"{path}: not a readable winobench LUT ({str(e)[:100]})") from None
    if not isinstance(doc, dict) or doc.get("tool") != "winobench" or not isinstance(doc.get("tables"), dict):
        raise UsageError(f"{path}: not a winobench LUT")
    if doc.get("schema_version") != LUT_SCHEMA_VERSION:
        raise UsageError(f"{path}: schema_version {str(doc.get('schema_version'))[:20]!r}; this version reads {LUT_SCHEMA_VERSION}")
    for name, layers in doc["tables"].items():
        for layer, ops in (layers.items() if isinstance(layers, dict) else [(None, None)]):
            for op, entry in (ops.items() if isinstance(ops, dict) else [(None, None)]):
                _check_entry(entry, f"{path}: table {name!r} layer {layer!r} op {op!r}")
    predictors = doc.get("predictors", {})
    if not (isinstance(predictors, dict) and all(isinstance(m, dict) for m in predictors.values())):
        raise UsageError(f"{path}: bad predictors; expected a table of table name -> {{operator: model}}")
    return doc["tables"], predictors


def _check_entry(entry, where: str) -> None:
    if not isinstance(entry, dict) or set(entry) - set(ENTRY_FIELDS):
        raise UsageError(f"{where[:200]}: not a LUT entry (a table of {', '.join(ENTRY_FIELDS)})")
    for k, v in entry.items():
        if not (v is None or (type(v) in (int, float) and not math.isnan(v))):
            raise UsageError(f"{where[:200]}: bad {k} {str(v)[:40]!r}; expected a number or null")
    median = entry.get("median_ms")
    if not (type(median) in (int, float) and math.isfinite(median) and median >= 0):
        raise UsageError(f"{where[:200]}: bad median_ms {str(median)[:40]!r}; expected a finite number >= 0")


def _read_csv_tables(path: Path) -> dict:
    import csv
    import io

    try:
        reader = csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8"), newline=""))
        needed = ("board", "core", "threads", "layer", "op") + ENTRY_FIELDS
        if not set(needed) <= set(reader.fieldnames or []):
            raise UsageError(f"{path}: not a winobench lut.csv (columns needed: {', '.join(needed)})")
        rows = [{**r, **{k: _cell(r[k], k, path, reader.line_num) for k in ENTRY_FIELDS}} for r in reader]
    except (UnicodeDecodeError, csv.Error) as e:
        raise UsageError(f"{path}: not a readable winobench lut.csv ({str(e)[:100]})") from None
    return _tables_from_rows(rows, path)


def _cell(text, column: str, path: Path, line: int):
    if text in ("", None):
        return None
    try:
        value = float(text) if "_" not in text else math.nan
    except ValueError:
        value = math.nan
    if math.isnan(value):
        raise UsageError(f"{path} line {line}: bad {column} {str(text)[:40]!r}; expected a number")
    return value


def _tables_from_rows(rows: list[dict], path: Path) -> dict:
    tables: dict = {}
    for r in rows:
        if None in r or any(v is None for k, v in r.items() if k not in ENTRY_FIELDS):
            raise UsageError(f"{path}: a row has more or fewer fields than the header")
        name = table_name(r)
        entry = {k: r[k] for k in ENTRY_FIELDS}
        _check_entry(entry, f"{path}: table {name!r} layer {r['layer']!r} op {r['op']!r}")
        tables.setdefault(name, {}).setdefault(r["layer"], {})[r["op"]] = entry
    return tables
