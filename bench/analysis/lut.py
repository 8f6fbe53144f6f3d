"""Latency lookup tables for hardware-aware NAS.

One entry per (board, core, threads) x layer configuration x operator: the median, p90, mean and
standard deviation of the timed repetitions and how many there were, stage medians and error
figures; each table with the provenance of its measurements (bench.analysis.provenance). Layer keys
are bench.layers.Layer.key (`conv-input:32x32x64-output:32x32x64-kernel:3-stride:1`); operator keys
read `f4-static-int8`, `im2row-fp32`, `f6-learned-int8`, or `f4-<file stem>@<content digest>-int8`
for a transform file (bench.operators.transform_name); an int8 Winograd operator quantized with another scheme than `tensor` gains it as a suffix
(`f4-static-int8-tap`), one requantized through fp32 instead of the default fixed-point multiply
`-rq-fp32` (`f4-static-int8-tap-rq-fp32`). Each operator names its GEMM's product precision
(`precision`: fp32, int8, or int16 for the `wide` scheme, whose int8 operator multiplies int16 V by
int16 U). Other tools' formats: bench.analysis.exports.

    lut = load_lut("tables/run/lut.json")                  # one (board, core, threads) table
    lut.latency(layer, "f4-static-int8")                   # median ms
    lut.expected_latency(layer, {"f2-static-int8": 0.3, "f4-static-int8": 0.7})   # wiNAS: sum_j p_j F(o_j)
    lut.predict((20, 20, 48, 96), "f4-static-int8")      # a layer not measured (bench.analysis.predict)
    lut.network_latency(resnet18_cifar(0.5), "f4-static-int8")   # whole network, stage breakdown

The tensor form, for search code (numpy, or torch when the probabilities are torch tensors; torch
is never imported otherwise; bench.analysis.tensors):

    F = lut.latency_matrix(layers, OPS)                    # [L, O] ms; NaN where not measured
    F = lut.latency_matrix(layers, OPS, predict=True, like=logits)   # gaps predicted; torch, logits' device
    lut.expected_latency(layers, probs, ops=OPS)           # probs [L, O] or [B, L, O] -> [L] or [B, L]
    lut.network_latency(layers, probs, ops=OPS)["total_ms"]   # [] or [B]: sum of count x expectation

The table behind the tensor form is built once per (layers, operators, statistic) and kept on the
device of the probabilities, so a search step costs one small batched matmul.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.errors import UsageError
from bench.files import read_bytes
from bench.layers import Layer, layer_key
from bench.operators import NO_REQUANT, OUR_ENGINE, product_precision, row_op_key
from bench.analysis.predict import PredictError, fit_table, predict
from bench.measure.results import KEY_COLUMNS
from bench.analysis.tensors import (check_rows, compute_dtype, expectation, is_array, matrix_like, tolerance, torch_of,
                                    unstack, weighted_sum)

LUT_SCHEMA_VERSION = 2
# Version 1 had no mean_ms, std_ms, n_samples and no provenance; load_lut reads it as it was.
READ_SCHEMA_VERSIONS = (1, 2)


class LUTError(KeyError):
    """A layer or operator missing from the table; the message lists what the table has."""

    def __str__(self):
        return self.args[0]


def build_lut(df, samples: dict | None = None) -> list[dict]:
    """LUT rows from a latency DataFrame (bench.measure.results): successful, non-emulated cases only, one row
    per (board, core, threads, layer, operator). Emulated timings mean nothing and never enter a LUT.
    `samples`: {KEY_COLUMNS values: [total ms, ...]} (bench.analysis.provenance.total_samples) gives
    each entry its mean, standard deviation (n - 1) and number of samples; without, they are empty."""
    ok = df[(df["status"] == "ok") & (~df["emulated"].astype(bool)) & (df.get("where", "") != "emulated")]
    rows = []
    for r in ok.to_dict("records"):
        key = tuple(r.get(c) for c in KEY_COLUMNS)
        rows.append({
            "board": r["board"], "core": r["core"], "threads": int(r["threads"]),
            "layer": _row_layer(r).key, "h": int(r["h"]), "w": int(r["w"]),
            "cin": int(r["cin"]), "cout": int(r["cout"]), **dict(zip(("kernel", "stride", "pad"), _filter(r))),
            "op": row_op_key(r),
            "engine": r.get("engine") or OUR_ENGINE, "algo": r["algo"],
            "transform": r["transform"], "scheme": r.get("scheme", "none"), "requant": r.get("requant", NO_REQUANT),
            "bits": int(r["bits"]), "precision": product_precision(r["bits"], r.get("scheme", "none")),
            "median_ms": r["total_ms"], "p90_ms": _num(r["total_p90_ms"]),
            "input_ms": _num(r["input_ms"]), "gemm_ms": _num(r["gemm_ms"]), "output_ms": _num(r["output_ms"]),
            "sqnr_db": _num(r.get("sqnr_db")), "max_abs": _num(r.get("max_abs")), "rel_l2": _num(r.get("rel_l2")),
            "sqnr_cal_db": _num(r.get("sqnr_cal_db")),
            **sample_stats((samples or {}).get(key)), "cpus": r["cpus"], "run": _int_or_none(r.get("run")),
            "where": r.get("where") or None, "cpu_flag": r.get("cpu_flag") or None, "lanes": r.get("lanes") or None,
        })
    return rows


def _filter(r: dict) -> tuple[int, int, int]:
    """(k, stride, pad) of a table row; 3, 1, 1 where a frame has no such columns (older tables)."""
    return tuple(int(v) if _num(v) is not None else d for v, d in zip((r.get("k"), r.get("stride"), r.get("pad")), (3, 1, 1)))


def _row_layer(r: dict) -> Layer:
    k, stride, pad = _filter(r)
    return Layer(int(r["h"]), int(r["w"]), int(r["cin"]), int(r["cout"]), k=k, stride=stride, pad=pad)


def sample_stats(samples) -> dict:
    """{"mean_ms", "std_ms" (sample standard deviation, n - 1; 0 for one sample), "n_samples"} of raw
    samples in ms; all None without samples."""
    if not samples:
        return {"mean_ms": None, "std_ms": None, "n_samples": None}
    values = np.asarray(samples, dtype=float)
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return {"mean_ms": float(values.mean()), "std_ms": std, "n_samples": int(len(values))}


def _num(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _int_or_none(v):
    return None if _num(v) is None else int(v)


def _or_nan(v) -> float:
    return math.nan if v is None else float(v)


def table_name(row: dict) -> str:
    return f"{row['board']}/{row['core']}/t{row['threads']}"


def lut_json(rows: list[dict], predictors: dict | None = None, provenance: dict | None = None) -> dict:
    """{"schema_version", "unit", "tables": {"board/core/tN": {layer_key: {op_key: entry}}},
    "operators": {op_key: {algo, transform, bits, scheme, requant, precision}}}, plus "predictors":
    {"board/core/tN": {op_key: model}} (bench.analysis.predict) and "provenance": {"board/core/tN":
    {...}} (bench.analysis.provenance) when given."""
    tables: dict = {}
    sources: dict = {}
    for r in rows:
        table = tables.setdefault(table_name(r), {})
        where = (table_name(r), r["layer"], r["op"])
        if sources.setdefault(where, r["transform"]) != r["transform"]:
            raise UsageError(f"{where[0]} {where[1]}: operator key {r['op']} names two transform files, "
                             f"{sources[where]} and {r['transform']}; their measurements are not merged "
                             f"(files no longer readable lose their content digest: restore them or measure again)")
        table.setdefault(r["layer"], {})[r["op"]] = {k: r.get(k) for k in ENTRY_FIELDS}
    # what each operator key is, beside the tables (their entries stay numbers)
    operators = {r["op"]: {k: r[k] for k in ("algo", "transform", "bits", "scheme", "requant", "precision")} for r in rows}
    doc = {"schema_version": LUT_SCHEMA_VERSION, "tool": "winobench", "unit": "ms", "tables": tables,
           "operators": operators}
    if predictors:
        doc["predictors"] = predictors
    if provenance:
        doc["provenance"] = provenance
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
    provenance: dict = field(default_factory=dict)   # where, when and how it was measured (bench.analysis.provenance)
    _tables: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # tensor form, per layers x ops

    def entry(self, layer, op: str) -> dict:
        key = _key_of(layer)
        ops = self.entry_layer(key)
        if op not in ops:
            raise LUTError(f"operator {op!r} is not measured for {key} in {self.name}; measured: {', '.join(sorted(ops))}")
        return ops[op]

    def latency(self, layer, op: str, stat: str = "median_ms") -> float:
        """Latency in ms of one operator on one layer; `layer` is a key, a bench.layers.Layer or
        (h, w, cin, cout) (3x3 stride 1)."""
        return self.entry(layer, op)[stat]

    def expected_latency(self, layer, probs, stat: str = "median_ms", ops=None):
        """E[latency] = sum_j p_j F(o_j) under a categorical distribution over operators (wiNAS).

        `probs`: a dict {op: p} for one layer (floats, or torch scalars, which are stacked into one
        tensor); or an array with the operators `ops` on its last axis: [O] (or [B, O]) for one layer,
        [L, O] (or [B, L, O]) for a list of L layers, giving [L] (or [B, L]) ms. An array may be numpy
        or torch in any float dtype on any device; see bench.analysis.tensors for the checks,
        renormalisation and dtypes. An operator not measured on a layer raises LUTError."""
        if ops is not None or is_array(probs):
            return self._expected_array(layer, probs, stat, ops)
        tensors = [v for v in probs.values() if torch_of(v) is not None]
        if tensors:  # one stacked tensor: one check, no host round trip per operator
            torch, like = torch_of(tensors[0]), tensors[0]
            stacked = torch.stack([torch.as_tensor(v, dtype=like.dtype, device=like.device) for v in probs.values()])
            return self._expected_array(layer, stacked, stat, list(probs))
        plain = [float(p) for p in probs.values()]
        total = sum(plain)
        tol = tolerance(np.asarray(list(probs.values())).dtype)
        if any(p < 0 for p in plain) or not math.isclose(total, 1.0, abs_tol=tol):
            raise ValueError(f"operator probabilities must be non-negative and sum to 1, got sum {total:.6g}")
        return sum(p * self.latency(layer, op, stat) for op, p in probs.items() if p > 0)

    def _expected_array(self, layer, probs, stat: str, ops):
        if ops is None:
            raise ValueError("probabilities as an array need ops=[the operator key of each column]")
        probs = probs if torch_of(probs) is not None else np.asarray(probs)   # a list of lists reads as numpy
        one = _is_one_layer(layer)
        p = probs[..., None, :] if one else probs
        stack, _ = self._stack([layer] if one else list(layer), list(ops), stat, False, probs)
        _check_shape(p, stack.shape[0], stack.shape[1])
        check_rows(p, f"for {self.name}")
        e = expectation(p, stack[..., :1])[..., 0]
        return e[..., 0] if one else e

    def latency_matrix(self, layers, ops, stat: str = "median_ms", missing: float = math.nan, predict: bool = False,
                       like=None):
        """[layers x operators] latencies in ms, for search code: `layers` a list of layer keys, (h, w,
        cin, cout) tuples or bench.layers.Layer objects; `ops` operator keys. An entry not measured is
        `missing` (NaN unless told otherwise, so that it cannot pass unnoticed); with `predict`, it
        is LUT.predict's median where its model covers the layer. A float64 numpy array, or with
        `like` a torch tensor: "torch" (torch's default dtype, CPU) or a tensor (its device; its dtype,
        float32 for 16-bit floats), or a numpy array (its float dtype, float32 at least)."""
        layers = list(layers)
        table, known, _ = self._table(tuple(map(_layer_id, layers)), layers, list(ops), stat, predict)
        matrix = np.where(known, table[..., 0], missing)
        return matrix_like(matrix, like)

    def operators(self, layer) -> list[str]:
        """The operators measured for a layer (a key or (h, w, cin, cout))."""
        return sorted(self.entry_layer(_key_of(layer)))

    def predict(self, layer, op: str) -> float:
        """Predicted median ms of `op` on a layer (h, w, cin, cout), measured or not (bench.analysis.predict);
        PredictError (a ValueError, one line) outside the measured range or without a model."""
        h, w, cin, cout = _layer_dims(layer)
        flt = (layer.k, layer.stride, layer.pad) if hasattr(layer, "k") else _key_filter(layer)
        return predict(self.predictors.get(op), h, w, cin, cout, *flt, what=f"{op} on {self.name}")

    def network_latency(self, layers, assign, stat: str = "median_ms", predict: bool = False, ops=None) -> dict:
        """Whole-network latency: sum over layers of count x latency, with the stage breakdown.

        `layers`: bench.layers.Layer objects (or (h, w, cin, cout, count[, name]) tuples). `assign`:
        one operator key for every layer, or a dict from layer name (or layer key) to an operator key
        or to {op: probability} (wiNAS: the expected latency, which stays differentiable when the
        probabilities are torch tensors); a "default" entry covers unnamed layers. With `predict`,
        layers missing from the table use LUT.predict (their time counts in `predicted_ms`, not in the
        stage sums). Returns {"total_ms", "input_ms", "gemm_ms", "output_ms", "predicted_ms", "layers"}.

        The tensor form: `assign` an array of probabilities [L, O] (or [B, L, O]) over the operators
        `ops`, one row per layer (see expected_latency); each value of the result is then an array
        ([] or [B]), and "layers" the expected ms of each layer ([L] or [B, L]). With `predict`,
        every entry (layer, operator) not measured is predicted."""
        if ops is not None or is_array(assign):
            return self._network_array(list(layers), assign, stat, predict, ops)
        out = {"total_ms": 0.0, "input_ms": 0.0, "gemm_ms": 0.0, "output_ms": 0.0, "predicted_ms": 0.0, "layers": []}
        for layer in layers:
            _, _, _, _, count, name = _layer_fields(layer)
            key = _key_of(layer)
            choice = _assigned(assign, name, key)
            probs = {choice: 1.0} if isinstance(choice, str) else choice
            row = {"name": name, "key": key, "count": count, "op": choice}
            measured = key in self.layers or not predict
            if measured:
                for stage in ("input_ms", "gemm_ms", "output_ms"):
                    # an engine's operator has no stages: NaN, so the sum says "no breakdown", never 0
                    row[stage] = sum(p * _or_nan(self.latency(key, op, stage)) for op, p in probs.items())
                    out[stage] = out[stage] + count * row[stage]
                row["total_ms"] = self.expected_latency(key, probs, stat)
            else:
                row["total_ms"] = sum(p * self.predict(layer, op) for op, p in probs.items())
                out["predicted_ms"] = out["predicted_ms"] + count * row["total_ms"]
            row["predicted"] = not measured
            out["total_ms"] = out["total_ms"] + count * row["total_ms"]
            out["layers"].append(row)
        return out

    def _network_array(self, layers: list, probs, stat: str, predict: bool, ops) -> dict:
        if ops is None:
            raise ValueError("probabilities as an array need ops=[the operator key of each column]")
        probs = probs if torch_of(probs) is not None else np.asarray(probs)
        stack, counts = self._stack(layers, list(ops), stat, predict, probs)
        _check_shape(probs, stack.shape[0], stack.shape[1])
        check_rows(probs, f"for {self.name}")
        per_layer = expectation(probs, stack)          # [..., L, 5]
        sums = weighted_sum(per_layer, counts)         # [..., 5]
        out = dict(zip(_STACK, unstack(sums)))
        out["layers"] = per_layer[..., 0]
        return out

    def _table(self, ids: tuple, layers: list, ops: list, stat: str, predict: bool):
        """(values [L, O, 5] float64: total, input, gemm, output, predicted part; known [L, O]; counts
        [L]), built once per (layers, ops, stat, predict) and kept; `ids`: the layers' _layer_id."""
        key = (ids, tuple(ops), stat, predict)
        hit = self._tables.get(key)
        if hit is None:
            if len(self._tables) >= _KEPT_TABLES:
                self._tables.clear()
            hit = self._tables[key] = self._build_table(layers, ops, stat, predict)
        return hit

    def _build_table(self, layers: list, ops: list, stat: str, predict: bool):
        values = np.full((len(layers), len(ops), len(_STACK)), np.nan)
        known = np.zeros((len(layers), len(ops)), dtype=bool)
        counts = np.empty(len(layers))
        for i, layer in enumerate(layers):
            _, _, _, _, counts[i], _ = _layer_fields(layer)
            measured = self.layers.get(_key_of(layer), {})
            for j, op in enumerate(ops):
                entry = measured.get(op)
                if entry is not None and entry.get(stat) is not None:
                    values[i, j] = [entry[stat], *(_or_nan(entry.get(s)) for s in _STAGES), 0.0]
                    known[i, j] = True
                elif predict:
                    known[i, j] = self._predicted_cell(values[i, j], layer, op)
        return values, known, counts

    def _predicted_cell(self, cell, dims, op: str) -> bool:
        try:
            ms = self.predict(dims, op)
        except PredictError:
            return False
        cell[:] = [ms, 0.0, 0.0, 0.0, ms]
        return True

    def _stack(self, layers: list, ops: list, stat: str, predict: bool, like):
        """The table as `like` wants it (numpy, or torch on its device) with the counts, converted
        once and kept; LUTError naming the first entry neither measured nor (with predict) predicted."""
        ids = tuple(map(_layer_id, layers))
        values, known, counts = self._table(ids, layers, ops, stat, predict)
        key = (ids, tuple(ops), stat, predict, *_array_kind(like))
        hit = self._tables.get(key)
        if hit is None:
            if not known.all():
                raise self._missing(layers, ops, known, predict)
            hit = self._tables[key] = (matrix_like(values, like), matrix_like(counts, like))
        return hit

    def _missing(self, layers: list, ops: list, known, predict: bool) -> LUTError:
        i, j = np.argwhere(~known)[0]
        name = _layer_fields(layers[i])[5]
        how = "outside what the latency models cover" if predict else "measure it, or pass predict=True"
        return LUTError(f"{int((~known).sum())} of {known.size} entries are not in {self.name}, the first "
                        f"{ops[j]!r} on {name or _key_of(layers[i])} ({how}; latency_matrix(..., "
                        f"missing=VALUE) gives a matrix with a value of your choice there)")

    def entry_layer(self, key: str) -> dict:
        """layer key -> {op key: entry}; LUTError listing the layers when it is missing."""
        if key not in self.layers:
            raise LUTError(f"layer {key!r} is not in the table {self.name}; it has: {', '.join(sorted(self.layers))}")
        return self.layers[key]


_STAGES = ("input_ms", "gemm_ms", "output_ms")
_STACK = ("total_ms", "input_ms", "gemm_ms", "output_ms", "predicted_ms")
_KEPT_TABLES = 64


def _layer_id(layer) -> tuple | str:
    """What identifies a layer in the kept tables: its key, or its key and count."""
    if isinstance(layer, str):
        return layer
    if hasattr(layer, "cin"):
        return layer.key, layer.count
    return tuple(layer[:5])


def _key_of(layer) -> str:
    """The table key of a layer key, a bench.layers.Layer (its filter included) or an (h, w, cin,
    cout, ...) tuple (3x3 stride 1)."""
    if isinstance(layer, str):
        return layer
    if hasattr(layer, "key"):
        return layer.key
    return layer_key(*_layer_dims(layer))


def _is_one_layer(layer) -> bool:
    """A single layer (a key, a Layer, an (h, w, cin, cout) tuple) rather than a list of them."""
    return isinstance(layer, str) or hasattr(layer, "cin") or (
        isinstance(layer, tuple) and len(layer) > 0 and isinstance(layer[0], (int, np.integer)))


def _check_shape(p, n_layers: int, n_ops: int) -> None:
    shape = tuple(p.shape)
    if len(shape) < 2 or shape[-2:] != (n_layers, n_ops):
        raise ValueError(f"probabilities of shape {list(shape)} do not fit {n_layers} layer(s) x {n_ops} operator(s); "
                         f"expected [{n_layers}, {n_ops}] or [batch, {n_layers}, {n_ops}]")


def _array_kind(like) -> tuple:
    """(library, dtype, device) the tensor form computes in for probabilities `like`."""
    torch = torch_of(like)
    if torch is not None:
        return "torch", str(compute_dtype(like)), str(like.device)
    return "numpy", str(compute_dtype(like)), "cpu"


_KEY = re.compile(r"conv-input:(\d+)x(\d+)x(\d+)-output:\d+x\d+x(\d+)-")


def _layer_dims(layer) -> tuple[int, int, int, int]:
    """(h, w, cin, cout) of a layer key, a Layer or a tuple."""
    if hasattr(layer, "cin"):
        return layer.h, layer.w, layer.cin, layer.cout
    if isinstance(layer, str):
        match = _KEY.match(layer)
        if not match:
            raise LUTError(f"bad layer key {layer!r}; expected e.g. {layer_key(32, 32, 64, 64)!r}")
        return tuple(int(g) for g in match.groups())
    h, w, cin, cout = layer[:4]
    return int(h), int(w), int(cin), int(cout)


_KEY_FILTER = re.compile(r"-kernel:(\d+)-stride:(\d+)$")


def _key_filter(layer) -> tuple[int, int, int]:
    """(k, stride, same padding) of a layer key; 3x3 stride 1 for a tuple."""
    match = _KEY_FILTER.search(layer) if isinstance(layer, str) else None
    k, stride = (int(match.group(1)), int(match.group(2))) if match else (3, 1)
    return k, stride, k // 2


def _layer_fields(layer) -> tuple:
    """(h, w, cin, cout, count, name) of a bench.layers.Layer, a layer key (count 1) or an (h, w, cin,
    cout[, count[, name]]) tuple."""
    if hasattr(layer, "cin"):
        return layer.h, layer.w, layer.cin, layer.cout, layer.count, layer.name
    if isinstance(layer, str):
        return (*_layer_dims(layer), 1, "")
    h, w, cin, cout, *rest = layer
    return h, w, cin, cout, (rest[0] if rest else 1), (rest[1] if len(rest) > 1 else "")


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
    tables, predictors, provenance = (_read_csv_tables(path), {}, {}) if path.suffix == ".csv" else _read_json_tables(path)
    if table is None:
        if len(tables) != 1:
            raise UsageError(f"{path} holds {len(tables)} tables; choose one of: {_listing(tables)}")
        table = next(iter(tables))
    if table not in tables:
        raise UsageError(f"{path}: no table {table!r}; it has: {_listing(tables)}")
    return LUT(table, tables[table], predictors.get(table, {}), provenance.get(table, {}))


def _listing(names) -> str:
    """Names for a one-line message: as they are when printable, else quoted; cut when long."""
    names = sorted(names)
    text = ", ".join(n if n.isprintable() else repr(n) for n in names)
    return text if len(text) <= 300 else text[:300] + "..."


# The fields of an entry; mean_ms, std_ms and n_samples are new in schema version 2 (empty in a
# version 1 table, and in a lut.csv without those columns).
V1_ENTRY_FIELDS = ("median_ms", "p90_ms", "input_ms", "gemm_ms", "output_ms", "sqnr_db", "max_abs", "rel_l2")
NUMBER_FIELDS = ("median_ms", "p90_ms", "mean_ms", "std_ms", "n_samples", "input_ms", "gemm_ms", "output_ms",
                 "sqnr_db", "max_abs", "rel_l2", "sqnr_cal_db")
# Words, new in schema version 2 tables written since: where it ran (bench.measure.fidelity), the
# build's CPU flag and the int8 dense kernels' lane widths (bench.measure.cases.Case.lanes).
TEXT_FIELDS = ("where", "cpu_flag", "lanes")
ENTRY_FIELDS = NUMBER_FIELDS + TEXT_FIELDS


def _read_json_tables(path: Path) -> tuple[dict, dict, dict]:
    """The tables, the predictors (bench.analysis.predict models) and the provenance of a lut.json, checked."""
    try:
        doc = json.loads(read_bytes(path, "LUT file").decode("utf-8"))
    except (ValueError, RecursionError) as e:  # not UTF-8, not JSON, a huge number, deep nesting
        raise UsageError(f"{path}: not a readable winobench LUT ({str(e)[:100]})") from None
    if not isinstance(doc, dict) or doc.get("tool") != "winobench" or not isinstance(doc.get("tables"), dict):
        raise UsageError(f"{path}: not a winobench LUT")
    version = doc.get("schema_version")
    if type(version) is not int or version not in READ_SCHEMA_VERSIONS:
        raise UsageError(f"{path}: schema_version {str(version)[:20]!r}; this version reads "
                         f"{' and '.join(map(str, READ_SCHEMA_VERSIONS))}")
    for name, layers in doc["tables"].items():
        for layer, ops in (layers.items() if isinstance(layers, dict) else [(None, None)]):
            for op, entry in (ops.items() if isinstance(ops, dict) else [(None, None)]):
                _check_entry(entry, f"{path}: table {name!r} layer {layer!r} op {op!r}")
    predictors = doc.get("predictors", {})
    if not (isinstance(predictors, dict) and all(isinstance(m, dict) for m in predictors.values())):
        raise UsageError(f"{path}: bad predictors; expected a table of table name -> {{operator: model}}")
    provenance = doc.get("provenance", {})
    if not (isinstance(provenance, dict) and all(isinstance(p, dict) for p in provenance.values())):
        raise UsageError(f"{path}: bad provenance; expected a table of table name -> {{field: value}}")
    return doc["tables"], predictors, provenance


def _check_entry(entry, where: str) -> None:
    if not isinstance(entry, dict) or set(entry) - set(ENTRY_FIELDS):
        raise UsageError(f"{where[:200]}: not a LUT entry (a table of {', '.join(ENTRY_FIELDS)})")
    for k, v in entry.items():
        if k in TEXT_FIELDS:
            if not (v is None or (isinstance(v, str) and len(v) <= 100)):
                raise UsageError(f"{where[:200]}: bad {k} {str(v)[:40]!r}; expected a short text or null")
            continue
        if not (v is None or (type(v) in (int, float) and not math.isnan(v))):
            raise UsageError(f"{where[:200]}: bad {k} {str(v)[:40]!r}; expected a number or null")
    median = entry.get("median_ms")
    if not (type(median) in (int, float) and math.isfinite(median) and median >= 0):
        raise UsageError(f"{where[:200]}: bad median_ms {str(median)[:40]!r}; expected a finite number >= 0")


def _read_csv_tables(path: Path) -> dict:
    import csv
    import io

    try:
        reader = csv.DictReader(io.StringIO(read_bytes(path, "LUT file").decode("utf-8"), newline=""))
        needed = ("board", "core", "threads", "layer", "op") + V1_ENTRY_FIELDS
        if not set(needed) <= set(reader.fieldnames or []):
            raise UsageError(f"{path}: not a winobench lut.csv (columns needed: {', '.join(needed)})")
        rows = [{**r, **{k: _cell(r.get(k), k, path, reader.line_num) for k in NUMBER_FIELDS},
                 **{k: r.get(k) or None for k in TEXT_FIELDS}} for r in reader]
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
