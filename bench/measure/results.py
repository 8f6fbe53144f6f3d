"""A results directory: `latency.csv` (tidy, one row per measured case) and `raw.jsonl` (JSON Lines:
each run's metadata, every runner `case` record with its raw samples, every `peak` record).

Both files are append-only: each finished case adds one CSV row and one JSON line, flushed and
fsync'd, so the cost of recording a case does not grow with the sweep and a crash loses at most the
line being written. Reading back is tolerant: a torn last line (no newline, or not parseable) is
dropped, and the case is measured again on `--resume`. A retried key may appear twice in the file;
readers keep its last row. One writer at a time: `open_for_writing` takes an advisory lock
(`.lock`), and a second `bench run` on the same directory is refused. The schema is documented in
tables/README.md.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import math
import os
import re
from pathlib import Path

from bench.errors import MeasurementError, UsageError
from bench.measure.protocol import STAGES, CaseRecord, Where

SCHEMA_VERSION = 2
TOOL = "winobench"
CSV_NAME = "latency.csv"
RAW_NAME = "raw.jsonl"
LOCK_NAME = ".lock"

# The contract columns first (tables/README.md: users and scripts depend on them), then the extensions.
CONTRACT_COLUMNS = ["board", "core", "cpus", "bits", "algo", "transform", "h", "w", "cin", "cout",
                    "input_ms", "gemm_ms", "output_ms", "total_ms", "status"]
COLUMNS = CONTRACT_COLUMNS + [
    "scheme", "requant", "threads", "emulated", "reps", "total_min_ms", "total_p10_ms", "total_p90_ms", "total_mad_ms",
    "weight_transform_ms", "gemm_gflops", "sqnr_db", "max_abs", "rel_l2", "layer", "count",
    "error_kind", "message", "run",
]
KEY_COLUMNS = ["board", "core", "threads", "bits", "algo", "transform", "scheme", "requant", "h", "w", "cin", "cout"]
CSV_DTYPES = {"cpus": str, "board": str, "core": str, "algo": str, "transform": str, "scheme": str, "requant": str,
              "status": str, "layer": str, "error_kind": str, "message": str}
# Settings that change what a measurement means; --resume refuses to mix them unless told to.
COMPARED_SETTINGS = ("threads", "min_reps", "min_time_ms", "warmup")


class ResultsFull(MeasurementError):
    """The results could not be written (a full disk): the sweep stops, what is recorded stays."""


def case_key(board: str, core: str, threads: int, case) -> tuple:
    """The KEY_COLUMNS values of a case measured on (board, core) with `threads` threads."""
    l = case.layer
    return (board, core, threads, case.bits, case.algo, case.transform, case.scheme, case.requant, l.h, l.w, l.cin,
            l.cout)


def format_cpus(cpus) -> str:
    """[4, 5] -> '4,5' (read back with dtype str: a single CPU would otherwise parse as an int)."""
    return ",".join(str(c) for c in cpus)


def row_from_case(rec: CaseRecord, case, run: int) -> dict:
    """A case record (with its board context) -> one CSV row."""
    l, where = case.layer, rec.where or Where("", "", (), 1, False)
    row = {"board": where.board, "core": where.core, "cpus": format_cpus(where.cpus), "bits": case.bits,
           "algo": case.algo, "transform": case.transform, "scheme": case.scheme, "requant": case.requant,
           "h": l.h, "w": l.w,
           "cin": l.cin, "cout": l.cout, "status": rec.status, "threads": where.threads,
           "emulated": where.emulated, "layer": l.name, "count": l.count, "run": run}
    if rec.ok:
        for stage in STAGES:
            row[f"{stage}_ms"] = rec.stages[stage].median
        total = rec.stages["total"]
        row.update(reps=rec.reps, total_min_ms=total.min, total_p10_ms=total.p10, total_p90_ms=total.p90,
                   total_mad_ms=total.mad, weight_transform_ms=rec.weight_transform_ms, gemm_gflops=rec.gemm_gflops)
        row.update(rec.error or {})
    else:
        row.update(error_kind=rec.error_kind or "runtime", message=rec.message)
    return row


def _row_key(row: dict) -> tuple:
    return tuple(row.get(c) for c in KEY_COLUMNS)


def _whole_lines(path: Path) -> list[str]:
    """The complete lines of a text file: a last line without its newline (torn by a crash) is
    left out. UsageError for a file that is not UTF-8 text."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path} is not UTF-8 text (byte {data[e.start]:#04x} at offset {e.start}); "
                         f"not a winobench results file") from None
    if "\0" in text:
        raise UsageError(f"{path}: binary content (a NUL byte at offset {text.index(chr(0))}); "
                         f"not a winobench results file")
    lines = text.split("\n")
    return lines[:-1]  # the part after the last newline is empty, or torn


def _csv_text(rows: list[dict], header: bool) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    if header:
        writer.writeheader()
    for r in rows:
        writer.writerow({c: "" if r.get(c) is None else r[c] for c in COLUMNS})
    return buf.getvalue()


def _append(path: Path, text: str) -> None:
    """Append and make it durable before going on (a crash loses at most this text). A write that
    fails (a full disk) is cut back off, so the file never ends in half a line."""
    with open(path, "a", encoding="utf-8", newline="") as f:
        start = f.tell()
        try:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        except OSError:
            f.truncate(start)
            raise


def _without_samples(record: dict) -> dict:
    """A case record with its stage statistics but not the raw samples (the bulk of it)."""
    out = {k: ({kk: vv for kk, vv in v.items() if kk != "samples"} if isinstance(v, dict) else v)
           for k, v in record.items()}
    out["samples_dropped"] = "disk full"
    return out


class ResultsDir:
    """Rows and raw records of one results directory; `add` appends them at once."""

    def __init__(self, path, rows=None, records=None):
        self.path = Path(path)
        self._rows: dict[tuple, dict] = {_row_key(r): r for r in rows or []}
        self.records: list[dict] = records or []
        self._lock_fd: int | None = None
        self._runs = sum(1 for r in self.records if r.get("type") == "run")

    @property
    def rows(self) -> list[dict]:
        """One row per key, the last written."""
        return list(self._rows.values())

    @classmethod
    def create(cls, path, resume: bool, settings: dict | None = None, mix_settings: bool = False) -> "ResultsDir":
        """Check that `path` can take a sweep (new or empty; with resume: one of ours, written with the
        same `settings` unless `mix_settings`). Nothing is written: `open_for_writing` does that."""
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise UsageError(f"--out {path} is a file, not a directory")
        holds = (path / CSV_NAME).exists() or (path / RAW_NAME).exists()
        if resume and not holds:
            raise UsageError(f"--resume: {path} holds no results (no {CSV_NAME}); check the path, "
                             f"or drop --resume to start a new table")
        if not holds:
            return cls(path)
        if not resume:
            raise UsageError(f"{path} already holds results; pass --resume to continue it or choose another --out")
        results = cls.load(path)
        if settings is not None and not mix_settings:
            results.check_settings(settings)
        return results

    def check_settings(self, settings: dict) -> None:
        for run in (r for r in self.records if r.get("type") == "run"):
            old = run.get("settings") or {}
            diff = [f"{k} {old[k]} (now {settings.get(k)})" for k in COMPARED_SETTINGS
                    if k in old and old[k] != settings.get(k)]
            if diff:
                raise UsageError(f"--resume: {self.path} was measured with other settings: {', '.join(diff)}; "
                                 f"use the same settings, or pass --mix-settings to mix them")

    @classmethod
    def load(cls, path) -> "ResultsDir":
        """Read a results directory (or its latency.csv); UsageError when it is not ours."""
        path = Path(path)
        if path.is_file():
            path = path.parent
        csv_path, raw_path = path / CSV_NAME, path / RAW_NAME
        if not csv_path.exists():
            raise UsageError(f"{path} is not a winobench results directory (no {CSV_NAME})")
        records = _read_records(raw_path) if raw_path.exists() else []
        lines = _whole_lines(csv_path)
        reader = csv.DictReader(lines)
        rows = []
        try:
            missing = [c for c in CONTRACT_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise UsageError(f"{csv_path} is not a winobench latency table (missing columns: {', '.join(missing)})")
            for r in reader:
                if None in r or any(v is None for v in r.values()):
                    continue  # a row with the wrong number of fields: never kept
                rows.append(_typed(r, f"{csv_path} line {reader.line_num}"))
        except csv.Error as e:
            raise UsageError(f"{csv_path} line {max(reader.line_num, 1)}: not CSV ({e})") from None
        return cls(path, rows, records)

    # -- writing ---------------------------------------------------------------------------------

    def open_for_writing(self) -> "ResultsDir":
        """Create the directory, take the lock (UsageError when another writer holds it) and bring
        the files to a clean state (header written, a torn last line cut off)."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UsageError(f"{self.path} is being written by another bench run; wait for it to finish "
                             f"or choose another --out") from None
        self._lock_fd = fd
        for name in (CSV_NAME, RAW_NAME):
            _cut_torn_tail(self.path / name)
        if not (self.path / CSV_NAME).exists() or (self.path / CSV_NAME).stat().st_size == 0:
            _append(self.path / CSV_NAME, _csv_text([], header=True))
        if not self.records:
            self._write_record({"type": "header", "tool": TOOL, "schema_version": SCHEMA_VERSION})
        return self

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None

    def __enter__(self):
        return self if self._lock_fd is not None else self.open_for_writing()

    def __exit__(self, *exc):
        self.close()

    def _write_record(self, record: dict) -> None:
        self.records.append(record)
        _append(self.path / RAW_NAME, json.dumps(record, separators=(",", ":"), allow_nan=True) + "\n")

    def measured_keys(self) -> set[tuple]:
        """Keys of the cases measured successfully (resume skips them; failed ones are retried)."""
        return {k for k, r in self._rows.items() if r["status"] == "ok"}

    def start_run(self, metadata: dict) -> int:
        run = self._runs
        self._runs += 1
        self._write_record({"type": "run", "run": run, **metadata})
        return run

    def add_record(self, kind: str, run: int, record: dict) -> None:
        """Run metadata that arrives during a sweep: `runner` (an info line), `peak`, `run_end`."""
        self._write_record({**record, "type": kind, "run": run})

    def add(self, row: dict, rec: CaseRecord) -> None:
        """Append one case: its raw record first (the samples), then its row. On a full disk the
        record is kept without its samples if that fits, and the caller is told to stop
        (ResultsFull): nothing measured so far is lost and no file ends in half a line."""
        row = {c: row.get(c) for c in COLUMNS}
        record = {**rec.to_json(), "type": "case", "run": row.get("run"), **{k: row[k] for k in KEY_COLUMNS}}
        full = None
        try:
            try:
                self._write_record(record)
            except OSError as e:
                full = e
                self.records.pop()
                self._write_record(_without_samples(record))
            _append(self.path / CSV_NAME, _csv_text([row], header=False))
        except OSError as e:
            raise ResultsFull(f"cannot write to {self.path}: {e.strerror}; the {len(self._rows)} cases "
                              f"recorded before are kept (free space, then bench run --resume)") from None
        self._rows.pop(_row_key(row), None)
        self._rows[_row_key(row)] = row
        if full is not None:
            raise ResultsFull(f"cannot write to {self.path}: {full.strerror}; {len(self._rows)} cases are "
                              f"recorded (the last without its raw samples); free space, then bench run --resume")

    def dataframe(self):
        """The table, one row per key (the last written), in the order the rows were written: the
        rows `load` checked (or `add` wrote), every column of COLUMNS (a table with only the contract
        columns gets threads 1, not emulated, scheme none and empty figures)."""
        import pandas as pd

        df = pd.DataFrame(self.rows, columns=COLUMNS)
        for c in _FLOAT_COLUMNS:
            df[c] = df[c].astype(float)
        df["threads"] = df["threads"].fillna(1).astype(int)
        df["emulated"] = df["emulated"].map(lambda v: v is True)
        df["scheme"] = df["scheme"].fillna("none")
        df["requant"] = df["requant"].fillna("none")
        return df

    def runs(self) -> list[dict]:
        return [r for r in self.records if r.get("type") == "run"]


def _cut_torn_tail(path: Path) -> None:
    """Cut a last line that has no newline (a write torn by a crash) off the file."""
    if not path.exists():
        return
    with open(path, "rb+") as f:
        data = f.read()
        end = data.rfind(b"\n") + 1
        if end != len(data):
            f.truncate(end)
            f.flush()
            os.fsync(f.fileno())


def _read_records(path: Path) -> list[dict]:
    lines = _whole_lines(path)
    records = []
    for n, text in enumerate(lines, start=1):
        try:
            rec = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, a number too long, nesting too deep
            if n == len(lines):
                break  # torn last record: dropped
            raise UsageError(f"{path} line {n} is not JSON; not a winobench results file") from None
        if not isinstance(rec, dict):
            raise UsageError(f"{path} line {n} is not a JSON object; not a winobench results file")
        records.append(rec)
    if records and (records[0].get("tool") != TOOL or records[0].get("type") != "header"):
        raise UsageError(f"{path} is not a winobench results file")
    if records and records[0].get("schema_version") != SCHEMA_VERSION:
        raise UsageError(f"{path} has schema_version {records[0].get('schema_version')!r}; "
                         f"this version reads {SCHEMA_VERSION}")
    return records


def load_samples(path):
    """The raw samples of a results directory as a pandas DataFrame: the KEY_COLUMNS, `run`, `stage`
    (total_ms, input_ms, gemm_ms, output_ms) and `samples` (a list of floats, ms), one row per
    successful case and stage. A retried key keeps its last measurement."""
    import pandas as pd

    results = ResultsDir.load(path)
    latest = {}
    for rec in results.records:
        if rec.get("type") == "case" and rec.get("status") == "ok":
            rec = {**rec, "requant": rec.get("requant") or default_old_requant(rec.get("bits"))}
            latest[tuple(rec.get(c) for c in KEY_COLUMNS)] = rec
    rows = [{**{c: rec.get(c) for c in KEY_COLUMNS}, "run": rec.get("run"), "stage": f"{s}_ms",
             "samples": [float(v) for v in (rec.get(f"{s}_ms") or {}).get("samples", [])]}
            for rec in latest.values() for s in STAGES]
    return pd.DataFrame(rows, columns=KEY_COLUMNS + ["run", "stage", "samples"])


def load_peaks(path):
    """The runner's `peak` records of a results directory as a pandas DataFrame: board, core, cpus,
    threads, run and every field the peak line carries (f32_gflops, i8_gops, ...)."""
    import pandas as pd

    results = ResultsDir.load(path)
    rows = [{k: v for k, v in rec.items() if k != "type"} for rec in results.records if rec.get("type") == "peak"]
    base = ["board", "core", "cpus", "threads", "run", "f32_gflops", "i8_gops"]
    extra = sorted({k for r in rows for k in r} - set(base))
    return pd.DataFrame(rows, columns=base + extra)


_INT_COLUMNS = {"bits", "h", "w", "cin", "cout", "threads", "reps", "count", "run"}
_POSITIVE = {"bits", "h", "w", "cin", "cout", "threads"}
_FLOAT_COLUMNS = {c for c in COLUMNS if c.endswith("_ms")} | {"gemm_gflops", "sqnr_db", "max_abs", "rel_l2"}
_TIME_COLUMNS = ["input_ms", "gemm_ms", "output_ms", "total_ms"]
_REQUIRED = ["board", "core", "bits", "algo", "transform", "h", "w", "cin", "cout", "status"]
_BOOLEANS = {"True": True, "False": False, "true": True, "false": False, "1": True, "0": False}


def _typed(row: dict, where: str) -> dict:
    """CSV strings back to the types `add` wrote (so keys compare equal on resume), refusing values
    `add` could not have written: UsageError naming `where`, the column and the value."""
    out = {c: _value(c, v, where) for c, v in row.items()}
    needed = _REQUIRED + (_TIME_COLUMNS if out["status"] == "ok" else [])
    empty = [c for c in needed if out.get(c) is None]
    if empty:
        raise UsageError(f"{where}: no value in column {empty[0]}" + (" of a row with status ok" if empty[0] in _TIME_COLUMNS else ""))
    out["scheme"] = out.get("scheme") or "none"
    out["requant"] = out.get("requant") or default_old_requant(out["bits"])
    return out


def default_old_requant(bits) -> str:
    """The requantization form of a row written before the `requant` column existed: every int8
    kernel then requantized through fp32 (kernels_c/README.md, "Integer requantization")."""
    return "fp32" if bits == 8 else "none"


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
