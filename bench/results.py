"""A results directory: `latency.csv` (tidy, one row per measured case) and `raw.json` (every runner
line with its raw samples, plus each run's metadata). Both are rewritten atomically (temp file +
rename) after every case, so an interrupted sweep always leaves valid files and nothing measured is
lost. The schema is documented in tables/README.md.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from pathlib import Path

from bench.errors import UsageError

SCHEMA_VERSION = 1
TOOL = "winobench"
CSV_NAME = "latency.csv"
RAW_NAME = "raw.json"

# Handbook contract first, then the extensions.
CONTRACT_COLUMNS = ["board", "core", "cpus", "bits", "algo", "transform", "h", "w", "cin", "cout",
                    "input_ms", "gemm_ms", "output_ms", "total_ms", "status"]
COLUMNS = CONTRACT_COLUMNS + [
    "threads", "emulated", "reps", "total_min_ms", "total_p10_ms", "total_p90_ms", "total_mad_ms",
    "weight_transform_ms", "gemm_gflops", "sqnr_db", "max_abs", "rel_l2", "layer", "count",
    "error_kind", "message", "run",
]
KEY_COLUMNS = ["board", "core", "threads", "bits", "algo", "transform", "h", "w", "cin", "cout"]
CSV_DTYPES = {"cpus": str, "board": str, "core": str, "algo": str, "transform": str, "status": str,
              "layer": str, "error_kind": str, "message": str}


def case_key(board: str, core: str, threads: int, case) -> tuple:
    """The KEY_COLUMNS values of a case measured on (board, core) with `threads` threads."""
    l = case.layer
    return (board, core, threads, case.bits, case.algo, case.transform, l.h, l.w, l.cin, l.cout)


def format_cpus(cpus) -> str:
    """[4, 5] -> '4,5' (read back with dtype str: a single CPU would otherwise parse as an int)."""
    return ",".join(str(c) for c in cpus)


def row_from_case(line: dict, case, run: int) -> dict:
    """A runner `case` line (as augmented by bench.deploy) -> one CSV row."""
    l = case.layer
    row = {"board": line.get("board", ""), "core": line.get("core", ""),
           "cpus": format_cpus(line.get("cpus", [])), "bits": case.bits, "algo": case.algo,
           "transform": case.transform, "h": l.h, "w": l.w, "cin": l.cin, "cout": l.cout,
           "status": line.get("status", "error"), "threads": line.get("threads", 1),
           "emulated": bool(line.get("emulated", False)), "layer": l.name, "count": l.count, "run": run}
    if row["status"] == "ok":
        for stage in ("input", "gemm", "output", "total"):
            row[f"{stage}_ms"] = line[f"{stage}_ms"]["median"]
        total = line["total_ms"]
        row.update(reps=line.get("reps"), total_min_ms=total.get("min"), total_p10_ms=total.get("p10"),
                   total_p90_ms=total.get("p90"), total_mad_ms=total.get("mad"),
                   weight_transform_ms=line.get("weight_transform_ms"), gemm_gflops=line.get("gemm_gflops"))
        for k, v in (line.get("error") or {}).items():
            row[k] = v
    else:
        row.update(error_kind=line.get("error_kind", "runtime"), message=line.get("message", ""))
    return row


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class ResultsDir:
    """Rows and raw lines of one results directory; `add` persists at once."""

    def __init__(self, path, rows=None, raw=None):
        self.path = Path(path)
        self.rows: list[dict] = rows or []
        self.raw: dict = raw or {"schema_version": SCHEMA_VERSION, "tool": TOOL, "runs": [], "cases": []}

    @classmethod
    def create(cls, path, resume: bool) -> "ResultsDir":
        """Open for a sweep: a new or empty directory, or (with resume) one of ours to continue.
        Nothing is created on disk until the first write."""
        path = Path(path)
        if (path / CSV_NAME).exists() or (path / RAW_NAME).exists():
            if not resume:
                raise UsageError(f"{path} already holds results; pass --resume to continue it or choose another --out")
            return cls.load(path)
        if path.exists() and not path.is_dir():
            raise UsageError(f"--out {path} is a file, not a directory")
        return cls(path)

    @classmethod
    def load(cls, path) -> "ResultsDir":
        """Read a results directory (or its latency.csv); UsageError when it is not ours."""
        path = Path(path)
        if path.is_file():
            path = path.parent
        csv_path, raw_path = path / CSV_NAME, path / RAW_NAME
        if not csv_path.exists():
            raise UsageError(f"{path} is not a winobench results directory (no {CSV_NAME})")
        try:
            raw = json.loads(raw_path.read_bytes().decode("utf-8")) if raw_path.exists() else None
        except (ValueError, RecursionError) as e:  # not UTF-8, not JSON, a huge number, deep nesting
            raise UsageError(f"{raw_path} is not valid JSON ({str(e)[:100]}); not a winobench results file") from None
        if raw is not None and (not isinstance(raw, dict) or raw.get("tool") != TOOL):
            raise UsageError(f"{raw_path} is not a winobench results file")
        if raw is not None and raw.get("schema_version") != SCHEMA_VERSION:
            raise UsageError(f"{raw_path} has schema_version {raw.get('schema_version')!r}; this version reads {SCHEMA_VERSION}")
        return cls(path, read_latency_csv(csv_path), raw)

    def measured_keys(self) -> set[tuple]:
        """Keys of the cases measured successfully (resume skips them; failed ones are retried)."""
        return {tuple(r[c] for c in KEY_COLUMNS) for r in self.rows if r["status"] == "ok"}

    def start_run(self, metadata: dict) -> int:
        self.raw["runs"].append({"run": len(self.raw["runs"]), **metadata})
        self._save()
        return len(self.raw["runs"]) - 1

    def update_run(self, run: int, **fields) -> None:
        self.raw["runs"][run].update(fields)
        self._save()

    def add(self, row: dict, raw_line: dict) -> None:
        """Append one case (replacing an earlier failed attempt at the same key) and persist."""
        key = tuple(row[c] for c in KEY_COLUMNS)
        self.rows = [r for r in self.rows if tuple(r[c] for c in KEY_COLUMNS) != key]
        self.rows.append({c: row.get(c) for c in COLUMNS})
        self.raw["cases"].append({"run": row.get("run"), **raw_line})
        self._save()

    def dataframe(self):
        """The rows as a DataFrame with every column of COLUMNS (a table with only the contract
        columns gets threads 1, not emulated, and empty extension columns)."""
        import pandas as pd

        df = pd.DataFrame(self.rows, columns=COLUMNS)
        for c in _FLOAT_COLUMNS:
            df[c] = df[c].astype(float)
        df["threads"] = df["threads"].fillna(1).astype(int)
        df["emulated"] = df["emulated"].map(lambda v: v is True)
        return df

    def _save(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.path / RAW_NAME, json.dumps(self.raw, indent=1, allow_nan=True) + "\n")
        lines = []

        class _Sink:
            def write(self, s):
                lines.append(s)

        writer = csv.DictWriter(_Sink(), fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for r in self.rows:
            writer.writerow({c: "" if r.get(c) is None else r[c] for c in COLUMNS})
        _atomic_write(self.path / CSV_NAME, "".join(lines))


_INT_COLUMNS = {"bits", "h", "w", "cin", "cout", "threads", "reps", "count", "run"}
_POSITIVE = {"bits", "h", "w", "cin", "cout", "threads"}
_FLOAT_COLUMNS = {c for c in COLUMNS if c.endswith("_ms")} | {"gemm_gflops", "sqnr_db", "max_abs", "rel_l2"}
_TIME_COLUMNS = ["input_ms", "gemm_ms", "output_ms", "total_ms"]
_REQUIRED = ["board", "core", "bits", "algo", "transform", "h", "w", "cin", "cout", "status"]
_BOOLEANS = {"True": True, "False": False, "true": True, "false": False, "1": True, "0": False}


def read_latency_csv(path: Path) -> list[dict]:
    """The typed rows of a latency.csv; UsageError naming the file, line, column and value when
    it is not one (not UTF-8, binary, missing contract columns, torn or junk rows)."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not UTF-8 text (byte {data[e.start]:#04x} at offset {e.start}); "
                         f"not a latency table") from None
    if "\0" in text:
        raise UsageError(f"{path}: binary content (a NUL byte at offset {text.index(chr(0))}); not a latency table")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        missing = [c for c in CONTRACT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise UsageError(f"{path} is not a winobench latency table (missing columns: {', '.join(missing)})")
        rows = [_typed(r, f"{path} line {reader.line_num}") for r in reader]
    except csv.Error as e:
        raise UsageError(f"{path} line {reader.line_num}: not CSV ({e})") from None
    _refuse_repeats(rows, path)
    return rows


def _refuse_repeats(rows: list[dict], path: Path) -> None:
    """`add` keeps one row per case: a table repeating one is not ours (or was edited)."""
    seen: dict[tuple, int] = {}
    for i, r in enumerate(rows):
        key = tuple(r.get(c, 1 if c == "threads" else None) for c in KEY_COLUMNS)
        if key in seen:
            raise UsageError(f"{path}: data rows {seen[key] + 1} and {i + 1} hold the same case "
                             f"({r['algo']} {r['transform']} {r['bits']}-bit {r['h']}x{r['w']}x{r['cin']}->{r['cout']} "
                             f"on {r['board']}/{r['core']}); a results table has one row per case")
        seen[key] = i


def _typed(row: dict, where: str) -> dict:
    """CSV strings back to the types `add` wrote (so keys compare equal on resume), refusing values
    `add` could not have written."""
    if None in row or None in row.values():
        raise UsageError(f"{where}: {'more' if None in row else 'fewer'} fields than the header (a torn or foreign row)")
    out = {c: _value(c, v, where) for c, v in row.items()}
    needed = _REQUIRED + (_TIME_COLUMNS if out["status"] == "ok" else [])
    empty = [c for c in needed if out.get(c) is None]
    if empty:
        raise UsageError(f"{where}: no value in column {empty[0]}" + (" of a row with status ok" if empty[0] in _TIME_COLUMNS else ""))
    return out


def _value(column: str, text: str, where: str):
    """One cell, typed; UsageError naming the column, the value and what is accepted."""
    if text == "":
        return None
    value, accepted = text, None
    if column == "bits":
        value, accepted = {"8": 8, "32": 32}.get(text), "8 or 32"
    elif column in _INT_COLUMNS:
        ok = re.fullmatch(r"[0-9]{1,9}", text) and not (column in _POSITIVE and int(text) == 0)
        value, accepted = (int(text) if ok else None), "an integer >= 1" if column in _POSITIVE else "an integer >= 0"
    elif column in _FLOAT_COLUMNS:
        value, accepted = _float(text), "a number"
        if column.endswith("_ms") and value is not None and not (math.isfinite(value) and value >= 0):
            value, accepted = None, "a number of milliseconds, finite and >= 0"
    elif column == "emulated":
        value, accepted = _BOOLEANS.get(text), "True or False"
    if value is None:
        raise UsageError(f"{where}: bad {column} {text[:40]!r}; expected {accepted}")
    return value


def _float(text: str) -> float | None:
    try:
        return float(text) if "_" not in text else None  # float() would read "1_0" as 10
    except ValueError:
        return None
