"""Latency lookup tables for hardware-aware NAS.

One entry per (board, core, threads) x layer configuration x operator, with median and p90 latency,
stage medians and error figures. Layer keys follow the once-for-all / ProxylessNAS lookup tables
(`conv-input:32x32x64-output:32x32x64-kernel:3-stride:1`); operator keys read `f4-static-int8`,
`im2row-fp32`, `f6-learned-int8`, or `f4-<file stem>-int8` for a transform file.

    lut = load_lut("tables/run/lut.json")                  # one (board, core, threads) table
    lut.latency(layer, "f4-static-int8")                   # median ms
    lut.expected_latency(layer, {"f2-static-int8": 0.3, "f4-static-int8": 0.7})   # wiNAS: sum_j p_j F(o_j)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from bench.cases import precision_name
from bench.errors import UsageError

LUT_SCHEMA_VERSION = 1


class LUTError(KeyError):
    """A layer or operator missing from the table; the message lists what the table has."""

    def __str__(self):
        return self.args[0]


def layer_key(h: int, w: int, cin: int, cout: int, kernel: int = 3, stride: int = 1) -> str:
    ho, wo = -(-h // stride), -(-w // stride)
    return f"conv-input:{h}x{w}x{cin}-output:{ho}x{wo}x{cout}-kernel:{kernel}-stride:{stride}"


def op_key(algo: str, transform: str, bits: int) -> str:
    precision = precision_name(bits)
    if algo == "im2row" or transform in ("none", "", None):
        return f"im2row-{precision}"
    name = transform if transform in ("static", "learned") else Path(transform).stem
    return f"{algo}-{name}-{precision}"


def build_lut(df) -> list[dict]:
    """LUT rows from a latency DataFrame (bench.results): successful, non-emulated cases only, one row
    per (board, core, threads, layer, operator). Emulated timings mean nothing and never enter a LUT."""
    ok = df[(df["status"] == "ok") & (~df["emulated"].astype(bool))]
    rows = []
    for _, r in ok.iterrows():
        rows.append({
            "board": r["board"], "core": r["core"], "threads": int(r["threads"]),
            "layer": layer_key(r["h"], r["w"], r["cin"], r["cout"]), "h": int(r["h"]), "w": int(r["w"]),
            "cin": int(r["cin"]), "cout": int(r["cout"]), "kernel": 3, "stride": 1,
            "op": op_key(r["algo"], r["transform"], r["bits"]), "algo": r["algo"], "transform": r["transform"],
            "bits": int(r["bits"]), "median_ms": r["total_ms"], "p90_ms": _num(r["total_p90_ms"]),
            "input_ms": r["input_ms"], "gemm_ms": r["gemm_ms"], "output_ms": r["output_ms"],
            "sqnr_db": _num(r.get("sqnr_db")), "max_abs": _num(r.get("max_abs")), "rel_l2": _num(r.get("rel_l2")),
        })
    return rows


def _num(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def lut_json(rows: list[dict]) -> dict:
    """{"schema_version", "unit", "tables": {"board/core/tN": {layer_key: {op_key: entry}}}}."""
    tables: dict = {}
    for r in rows:
        table = tables.setdefault(f"{r['board']}/{r['core']}/t{r['threads']}", {})
        table.setdefault(r["layer"], {})[r["op"]] = {
            k: r[k] for k in ("median_ms", "p90_ms", "input_ms", "gemm_ms", "output_ms", "sqnr_db", "max_abs", "rel_l2")}
    return {"schema_version": LUT_SCHEMA_VERSION, "tool": "winobench", "unit": "ms", "tables": tables}


@dataclass
class LUT:
    name: str       # "board/core/tN"
    layers: dict    # layer_key -> op_key -> entry

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
        total = sum(probs.values())
        if any(p < 0 for p in probs.values()) or not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"operator probabilities must be non-negative and sum to 1, got sum {total:.6g}")
        return sum(p * self.latency(layer, op, stat) for op, p in probs.items() if p > 0)

    def operators(self, layer) -> list[str]:
        """The operators measured for a layer (a key or (h, w, cin, cout))."""
        return sorted(self.entry_layer(layer if isinstance(layer, str) else layer_key(*layer)))

    def entry_layer(self, key: str) -> dict:
        """layer key -> {op key: entry}; LUTError listing the layers when it is missing."""
        if key not in self.layers:
            raise LUTError(f"layer {key!r} is not in the table {self.name}; it has: {', '.join(sorted(self.layers))}")
        return self.layers[key]


def load_lut(path, table: str | None = None) -> LUT:
    """Load one table of a lut.json (or the lut.csv beside it); `table` ("board/core/tN") may be
    omitted when there is one. UsageError naming the file and what is wrong for anything that is
    not a well-formed winobench LUT."""
    path = Path(path)
    tables = _read_csv_tables(path) if path.suffix == ".csv" else _read_json_tables(path)
    if table is None:
        if len(tables) != 1:
            raise UsageError(f"{path} holds {len(tables)} tables; choose one of: {_listing(tables)}")
        table = next(iter(tables))
    if table not in tables:
        raise UsageError(f"{path}: no table {table!r}; it has: {_listing(tables)}")
    return LUT(table, tables[table])


def _listing(names) -> str:
    """Names for a one-line message: as they are when printable, else quoted; cut when long."""
    names = sorted(names)
    text = ", ".join(n if n.isprintable() else repr(n) for n in names)
    return text if len(text) <= 300 else text[:300] + "..."


ENTRY_FIELDS = ("median_ms", "p90_ms", "input_ms", "gemm_ms", "output_ms", "sqnr_db", "max_abs", "rel_l2")


def _read_json_tables(path: Path) -> dict:
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
    return doc["tables"]


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
        name = f"{r['board']}/{r['core']}/t{r['threads']}"
        entry = {k: r[k] for k in ENTRY_FIELDS}
        _check_entry(entry, f"{path}: table {name!r} layer {r['layer']!r} op {r['op']!r}")
        tables.setdefault(name, {}).setdefault(r["layer"], {})[r["op"]] = entry
    return tables
