"""A results directory: `latency.csv` (tidy, one row per measured case) and `raw.jsonl` (JSON Lines:
each run's metadata, every runner `case` record with its raw samples, every `peak` record).

Both files are append-only: each finished case adds one CSV row and one JSON line, written with
`os.write` on a raw file descriptor and fsync'd, so the cost of recording a case does not grow with
the sweep and a crash loses at most the line being written; a write that fails (a full disk) is cut
back with `os.ftruncate`, so no file ends in half a line. Reading back is tolerant and streamed: a
torn last line (no newline, or not parseable) is dropped, and the case is measured again on
`--resume`; memory does not grow with the samples, which `raw.jsonl` keeps at most MAX_SAMPLES of
per stage (a uniform subset, the same repetitions for every stage, beside the runner's exact
statistics over all of them). A retried key may appear twice in the file; readers keep its last row.

One writer at a time: `ResultsLock` (an advisory lock on `.lock`, taken before anything is read and
removed again on release) refuses a second writer whatever stage the first is in. A start that
fails before the files are opened leaves nothing behind (nor a directory it created); a new table's
header is written whole (temporary file and rename), never as a 0-byte file. The schema is
documented in tables/README.md.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import math
import os
import random
import re
from pathlib import Path

from bench.errors import MeasurementError, UsageError
from bench.files import read_lines, replacing
from bench.measure.protocol import STAGES, CaseRecord, Where
from bench.operators import NO_REQUANT, OUR_ENGINE, transform_digest

SCHEMA_VERSION = 2
TOOL = "winobench"
CSV_NAME = "latency.csv"
RAW_NAME = "raw.jsonl"
LOCK_NAME = ".lock"
MAX_SAMPLES = 1000   # raw samples kept per stage and case (a uniform subset when there are more)

# The contract columns first (tables/README.md: users and scripts depend on them), then the extensions.
CONTRACT_COLUMNS = ["board", "core", "cpus", "bits", "algo", "transform", "h", "w", "cin", "cout",
                    "input_ms", "gemm_ms", "output_ms", "total_ms", "status"]
COLUMNS = CONTRACT_COLUMNS + [
    "k", "stride", "pad", "scheme", "requant", "engine", "threads", "emulated", "reps", "total_min_ms", "total_p10_ms",
    "total_p90_ms", "total_mad_ms",
    "weight_transform_ms", "gemm_gflops", "sqnr_db", "max_abs", "rel_l2", "layer", "count",
    "engine_version", "error_kind", "message", "run", "transform_digest", "where", "cpu_flag", "lanes", "sqnr_cal_db",
    "sqnr_same_db", "sqnr_cal_same_db", "error_data",
]
KEY_COLUMNS = ["board", "core", "threads", "engine", "bits", "algo", "transform", "scheme", "requant", "h", "w", "cin",
               "cout", "k", "stride", "pad"]
# The filter of tables and records written before these columns existed: every layer was 3x3/1/1.
DEFAULT_FILTER = {"k": 3, "stride": 1, "pad": 1}
CSV_DTYPES = {"cpus": str, "board": str, "core": str, "algo": str, "transform": str, "scheme": str, "requant": str, "transform_digest": str,
              "engine": str, "engine_version": str, "status": str, "layer": str, "error_kind": str, "message": str,
              "where": str, "cpu_flag": str, "lanes": str, "error_data": str}
# Settings that change what a measurement means; --resume refuses to mix them unless told to.
COMPARED_SETTINGS = ("threads", "min_reps", "min_time_ms", "warmup")


class ResultsFull(MeasurementError):
    """The results could not be written (a full disk): the sweep stops, what is recorded stays."""


def case_key(board: str, core: str, threads: int, case) -> tuple:
    """The KEY_COLUMNS values of a case measured on (board, core) with `threads` threads."""
    l = case.layer
    return (board, core, threads, case.engine, case.bits, case.algo, case.transform, case.scheme, case.requant, l.h, l.w,
            l.cin, l.cout, l.k, l.stride, l.pad)


def format_cpus(cpus) -> str:
    """[4, 5] -> '4,5' (read back with dtype str: a single CPU would otherwise parse as an int)."""
    return ",".join(str(c) for c in cpus)


def row_from_case(rec: CaseRecord, case, run: int) -> dict:
    """A case record (with its board context) -> one CSV row."""
    l, where = case.layer, rec.where or Where("", "", (), 1, False)
    row = {"board": where.board, "core": where.core, "cpus": format_cpus(where.cpus), "bits": case.bits,
           "algo": case.algo, "transform": case.transform, "scheme": case.scheme, "requant": case.requant,
           "engine": case.engine,
           "engine_version": rec.raw.get("engine_version"), "h": l.h, "w": l.w,
           "cin": l.cin, "cout": l.cout, "k": l.k, "stride": l.stride, "pad": l.pad, "status": rec.status, "threads": where.threads,
           "emulated": where.emulated, "layer": l.name, "count": l.count, "run": run,
           "transform_digest": transform_digest(case.transform),
           "where": where.fidelity or None, "cpu_flag": where.cpu_flag or None, "lanes": getattr(case, "lanes", None)}
    if rec.ok:
        for stage in STAGES:   # an engine exposes no stages: empty, not zero
            row[f"{stage}_ms"] = rec.stages[stage].median if stage in rec.stages else None
        total = rec.stages["total"]
        row.update(reps=rec.reps, total_min_ms=total.min, total_p10_ms=total.p10, total_p90_ms=total.p90,
                   total_mad_ms=total.mad, weight_transform_ms=rec.weight_transform_ms, gemm_gflops=rec.gemm_gflops)
        row.update(rec.error or {})
    else:
        row.update(error_kind=rec.error_kind or "runtime", message=rec.message)
    return row


def _row_key(row: dict) -> tuple:
    return tuple(row.get(c) for c in KEY_COLUMNS)


def capped_samples(record: dict) -> dict:
    """A case record with at most MAX_SAMPLES samples per stage: a uniform random subset of the
    repetitions (the same ones for every stage, in their order), `samples_capped` saying so. The
    stage statistics stay the runner's, over every repetition; a random subset of independent
    samples is a sample of the same distribution, so a rank test on it stays valid."""
    out = dict(record)
    for s in STAGES:
        v = record.get(f"{s}_ms")
        if isinstance(v, dict) and isinstance(v.get("samples"), list) and len(v["samples"]) > MAX_SAMPLES:
            out[f"{s}_ms"] = {**v, "samples": kept_samples(v["samples"])}
            out["samples_capped"] = MAX_SAMPLES
    return out


def kept_samples(samples: list) -> list:
    """At most MAX_SAMPLES of `samples`, uniformly at random and in their order; the choice depends
    on the count only, so every stage of a case keeps the same repetitions."""
    n = len(samples)
    if n <= MAX_SAMPLES:
        return samples
    return [samples[i] for i in sorted(random.Random(n).sample(range(n), MAX_SAMPLES))]


def _csv_text(rows: list[dict], header: bool, columns: list[str] = COLUMNS) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    if header:
        writer.writeheader()
    for r in rows:
        writer.writerow({c: "" if r.get(c) is None else r[c] for c in columns})
    return buf.getvalue()


def _header(csv_path: Path) -> list[str]:
    """The columns of an existing latency.csv: a table begun by an older version keeps its own
    (rows appended to it get those columns; raw.jsonl keeps the rest)."""
    with open(csv_path, newline="") as f:
        first = f.readline()
    columns = next(csv.reader([first]), []) if first else []
    return columns if set(CONTRACT_COLUMNS) <= set(columns) else COLUMNS


def _append(path: Path, text: str) -> None:
    """Append and make it durable before going on (a crash loses at most this text). Raw file
    descriptor: a write that fails (a full disk) is cut back with ftruncate, so the file never ends
    in half a line, and nothing is buffered that a later flush could write."""
    data = text.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    try:
        start = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except OSError as e:
            os.ftruncate(fd, start)
            raise OSError(e.errno, e.strerror, str(path)) from None
    finally:
        os.close(fd)


def _without_samples(record: dict) -> dict:
    """A case record with its stage statistics but not the raw samples (the bulk of it)."""
    out = {k: ({kk: vv for kk, vv in v.items() if kk != "samples"} if isinstance(v, dict) else v)
           for k, v in record.items()}
    out["samples_dropped"] = "disk full"
    return out


def _holds_results(path: Path) -> bool:
    """Whether the directory holds a table or raw records (a 0-byte file, which no version of this
    code leaves any more, counts as none)."""
    return any((path / n).is_file() and (path / n).stat().st_size > 0 for n in (CSV_NAME, RAW_NAME))


class ResultsLock:
    """The one-writer lock of a results directory: an advisory lock on `DIR/.lock`, created with the
    directory if missing. A second writer is refused in one line (UsageError). `release` removes the
    lock file again (a process that opened it meanwhile finds its inode gone and tries again), and
    the directories `acquire` created when nothing was written into them."""

    def __init__(self, path):
        self.path = Path(path)
        self._fd: int | None = None
        self._made: list[Path] = []

    def acquire(self) -> "ResultsLock":
        if str(self.path) == "":
            raise UsageError("empty --out; give a results directory")
        if self.path.exists() and not self.path.is_dir():
            raise UsageError(f"--out {self.path} is a file, not a directory")
        missing = []
        d = self.path
        while not os.path.lexists(d) and d != d.parent:
            missing.append(d)
            d = d.parent
        try:
            for d in reversed(missing):
                d.mkdir()
                self._made.append(d)
        except OSError:
            self.release()
            raise
        lock = self.path / LOCK_NAME
        for _ in range(10):
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                same = os.path.samestat(os.fstat(fd), os.stat(lock, follow_symlinks=False))
            except (BlockingIOError, FileNotFoundError) as e:
                os.close(fd)
                if isinstance(e, BlockingIOError):
                    self.release()
                    raise UsageError(f"{self.path} is being written by another bench run; wait for it to "
                                     f"finish or choose another --out") from None
                continue
            if same:
                self._fd = fd
                return self
            os.close(fd)   # released and removed by its holder between our open and our lock
        raise UsageError(f"{self.path}: could not take the lock {lock}")

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            (self.path / LOCK_NAME).unlink(missing_ok=True)   # while still holding it
            os.close(self._fd)
            self._fd = None
        for d in reversed(self._made):
            try:
                d.rmdir()   # only when empty: nothing was written
            except OSError:
                break
        self._made = []

    def __enter__(self) -> "ResultsLock":
        return self if self.held else self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


class ResultsDir:
    """Rows and run records of one results directory; `add` appends a case at once. Only the rows
    (one per case) and the run records stay in memory, never the samples."""

    def __init__(self, path, rows=None, runs=None, lock: ResultsLock | None = None):
        self.path = Path(path)
        self._rows: dict[tuple, dict] = {_row_key(r): r for r in rows or []}
        self._run_records: list[dict] = list(runs or [])
        self._runs = len(self._run_records)
        self.lock = lock
        self._open = False
        self._columns = COLUMNS

    @property
    def rows(self) -> list[dict]:
        """One row per key, the last written."""
        return list(self._rows.values())

    @classmethod
    def create(cls, path, resume: bool, settings: dict | None = None, mix_settings: bool = False,
               lock: ResultsLock | None = None) -> "ResultsDir":
        """Check that `path` can take a sweep (new or empty; with resume: one of ours, written with the
        same `settings` unless `mix_settings`). Nothing is written: `open_for_writing` does that.
        `lock`: the directory's lock, taken by the caller before anything is read."""
        path = Path(path)
        if str(path) == "":
            raise UsageError("empty --out; give a results directory")
        if path.exists() and not path.is_dir():
            raise UsageError(f"--out {path} is a file, not a directory")
        holds = _holds_results(path)
        if resume and not holds:
            raise UsageError(f"--resume: {path} holds no results (no {CSV_NAME}); check the path, "
                             f"or drop --resume to start a new table")
        if not holds:
            return cls(path, lock=lock)
        if not resume:
            raise UsageError(f"{path} already holds results; pass --resume to continue it or choose another --out")
        results = cls.load(path)
        results.lock = lock
        if settings is not None and not mix_settings:
            results.check_settings(settings)
        return results

    def check_settings(self, settings: dict) -> None:
        for run in self._run_records:
            old = run.get("settings") or {}
            diff = [f"{k} {old[k]} (now {settings.get(k)})" for k in COMPARED_SETTINGS
                    if k in old and old[k] != settings.get(k)]
            if diff:
                raise UsageError(f"--resume: {self.path} was measured with other settings: {', '.join(diff)}; "
                                 f"use the same settings, or pass --mix-settings to mix them")

    @classmethod
    def load(cls, path) -> "ResultsDir":
        """Read a results directory (or its latency.csv), streamed; UsageError when it is not ours."""
        path = Path(path)
        if path.is_file():
            path = path.parent
        csv_path, raw_path = path / CSV_NAME, path / RAW_NAME
        if not csv_path.exists():
            raise UsageError(f"{path} is not a winobench results directory (no {CSV_NAME})")
        runs = [r for r in iter_records(raw_path) if r.get("type") == "run"] if raw_path.exists() else []
        return cls(path, _read_rows(csv_path), runs)

    # -- writing ---------------------------------------------------------------------------------

    def open_for_writing(self) -> "ResultsDir":
        """Take the lock unless the caller holds it, and bring the files to a clean state (a torn
        last line cut off; a new table's header written whole, by temporary file and rename)."""
        if self.lock is None or not self.lock.held:
            self.lock = ResultsLock(self.path).acquire()
        for name in (CSV_NAME, RAW_NAME):
            _cut_torn_tail(self.path / name)
        csv_path, raw_path = self.path / CSV_NAME, self.path / RAW_NAME
        if not csv_path.exists() or csv_path.stat().st_size == 0:
            self._write_new(csv_path, _csv_text([], header=True))
        elif _header(csv_path) != COLUMNS:   # written before a column was added: rewritten whole with today's
            self._write_new(csv_path, _csv_text(_read_rows(csv_path), header=True))
        self._columns = _header(csv_path)
        if not raw_path.exists() or raw_path.stat().st_size == 0:
            header = {"type": "header", "tool": TOOL, "schema_version": SCHEMA_VERSION}
            self._write_new(raw_path, json.dumps(header, separators=(",", ":")) + "\n")
        self._open = True
        return self

    @staticmethod
    def _write_new(path: Path, text: str) -> None:
        with replacing(path) as tmp:
            tmp.write_text(text)

    def close(self) -> None:
        """Release the lock."""
        self._open = False
        if self.lock is not None:
            self.lock.release()

    def __enter__(self):
        return self if self._open else self.open_for_writing()

    def __exit__(self, *exc):
        self.close()

    def _write_record(self, record: dict) -> None:
        _append(self.path / RAW_NAME, json.dumps(record, separators=(",", ":"), allow_nan=True) + "\n")

    def measured_keys(self) -> set[tuple]:
        """Keys of the cases measured successfully (resume skips them; failed ones are retried)."""
        return {k for k, r in self._rows.items() if r["status"] == "ok"}

    def start_run(self, metadata: dict) -> int:
        run = self._runs
        self._runs += 1
        record = {"type": "run", "run": run, **metadata}
        self._write_record(record)
        self._run_records.append(record)
        return run

    def add_record(self, kind: str, run: int, record: dict) -> None:
        """Run metadata that arrives during a sweep: `runner` (an info line), `peak`, `run_end`."""
        self._write_record({**record, "type": kind, "run": run})

    def add(self, row: dict, rec: CaseRecord) -> None:
        """Append one case: its raw record first (the samples, at most MAX_SAMPLES per stage), then
        its row. On a full disk the record is kept without its samples if that fits, and the caller
        is told to stop (ResultsFull): nothing measured so far is lost and no file ends in half a line."""
        row = {c: row.get(c) for c in COLUMNS}
        record = capped_samples({**rec.to_json(), "type": "case", "run": row.get("run"), **{k: row[k] for k in KEY_COLUMNS}})
        full = None
        try:
            try:
                self._write_record(record)
            except OSError as e:
                full = e
                self._write_record(_without_samples(record))
            _append(self.path / CSV_NAME, _csv_text([row], header=False, columns=self._columns))
        except OSError as e:
            raise ResultsFull(f"cannot write to {e.filename}: {e.strerror}; the {len(self._rows)} cases "
                              f"recorded before are kept (free space, then bench run --resume)") from None
        self._rows.pop(_row_key(row), None)
        self._rows[_row_key(row)] = row
        if full is not None:
            raise ResultsFull(f"cannot write to {full.filename}: {full.strerror}; {len(self._rows)} cases are "
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
        df["engine"] = df["engine"].fillna(OUR_ENGINE)
        # a table from before the `where` column: emulated rows are known, the others are not
        df["where"] = [w if isinstance(w, str) and w else ("emulated" if e else "")
                       for w, e in zip(df["where"], df["emulated"])]
        for c in ("cpu_flag", "lanes"):
            df[c] = [v if isinstance(v, str) else "" for v in df[c]]
        df["requant"] = df["requant"].fillna("none")
        return df

    def runs(self) -> list[dict]:
        return list(self._run_records)


def _read_rows(csv_path: Path) -> list[dict]:
    """The rows of a latency.csv, checked cell by cell, read line by line."""
    reader = csv.DictReader(text for _, text in read_lines(csv_path, "winobench latency table"))
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
    return rows


def _header(csv_path: Path) -> list[str]:
    with open(csv_path, encoding="utf-8", newline="") as f:
        return next(csv.reader(f), [])


def _cut_torn_tail(path: Path) -> None:
    """Cut a last line that has no newline (a write torn by a crash) off the file, reading only
    its end."""
    if not path.exists():
        return
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        size = end = os.fstat(fd).st_size
        while end > 0:
            start = max(0, end - 65536)
            chunk = os.pread(fd, end - start, start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                end = start + newline + 1
                break
            end = start
        if end != size:
            os.ftruncate(fd, end)
            os.fsync(fd)
    finally:
        os.close(fd)


def iter_records(path: Path):
    """The records of a raw.jsonl, one at a time (memory bounded by one line): checked to be ours
    (header first, this schema version); a torn last record is dropped."""
    bad = None
    for n, text in read_lines(path, "winobench results file"):
        if bad is not None:
            raise bad   # a line that is not JSON, and not the last one: not a torn write
        try:
            rec = json.loads(text)
        except (ValueError, RecursionError):   # not JSON, a number too long, nesting too deep
            bad = UsageError(f"{path} line {n} is not JSON; not a winobench results file")
            continue
        if not isinstance(rec, dict):
            raise UsageError(f"{path} line {n} is not a JSON object; not a winobench results file")
        if n == 1:
            _check_header(rec, path)
        yield rec


def _check_header(rec: dict, path: Path) -> None:
    if rec.get("tool") != TOOL or rec.get("type") != "header":
        raise UsageError(f"{path} is not a winobench results file")
    if rec.get("schema_version") != SCHEMA_VERSION:
        raise UsageError(f"{path} has schema_version {str(rec.get('schema_version'))[:20]!r}; "
                         f"this version reads {SCHEMA_VERSION}")


def load_samples(path, stage: str | None = None):
    """The raw samples of a results directory as a pandas DataFrame, read record by record: the
    KEY_COLUMNS, `run`, `stage` (total_ms, input_ms, gemm_ms, output_ms; only `stage` when given),
    `median` (the runner's, over every repetition), `reps` and `samples` (a list of at most
    MAX_SAMPLES floats, ms; none for a record whose samples a full disk dropped); one row per
    successful case and stage. A retried key keeps its last measurement. UsageError naming the
    file and line for a record whose keys or samples are not what `bench run` writes."""
    import pandas as pd

    directory = Path(path)
    ResultsDir.load(directory)   # the table and the records are ours
    raw = (directory.parent if directory.is_file() else directory) / RAW_NAME
    latest: dict = {}
    stages = [stage] if stage else [f"{s}_ms" for s in STAGES]
    if raw.exists():
        for n, rec in enumerate(iter_records(raw), start=1):
            if rec.get("type") == "case" and rec.get("status") == "ok":
                rec.setdefault("engine", OUR_ENGINE)   # records written before engines were measured
                key = _sample_key(rec, raw, n)
                latest.pop(key, None)
                mine = [s for s in stages if rec["engine"] == OUR_ENGINE or s in rec]   # an engine: total only
                latest[key] = [_stage_samples(rec, s, raw, n) | {"run": rec.get("run"), "stage": s} for s in mine]
    rows = [{**dict(zip(KEY_COLUMNS, key)), **r} for key, per in latest.items() for r in per]
    return pd.DataFrame(rows, columns=KEY_COLUMNS + ["run", "stage", "median", "reps", "samples"])


_KEY_TYPES = {"board": str, "core": str, "threads": int, "engine": str, "bits": int, "algo": str, "transform": str,
              "scheme": str, "requant": str, "h": int, "w": int, "cin": int, "cout": int, "k": int, "stride": int,
              "pad": int}


def _sample_key(rec: dict, path: Path, n: int) -> tuple:
    key = record_key(rec)
    values = dict(zip(KEY_COLUMNS, key))
    for c, kind in _KEY_TYPES.items():
        v = values[c]
        if type(v) is not kind or (kind is int and v < (0 if c == "pad" else 1)) or (c == "bits" and v not in (8, 32)):
            raise UsageError(f"{path} line {n}: bad {c} {str(v)[:40]!r} in a case record; expected "
                             f"{'a whole number >= 1' if kind is int else 'a string'}")
    return key


def _stage_samples(rec: dict, stage: str, path: Path, n: int) -> dict:
    """{median, reps, samples} of one stage of a case record, checked (finite ms >= 0)."""
    stats = rec.get(stage)
    ok = lambda v: type(v) in (int, float) and math.isfinite(v) and v >= 0  # noqa: E731
    if not isinstance(stats, dict) or not ok(stats.get("median")):
        raise UsageError(f"{path} line {n}: no median of {stage} in a successful case record")
    samples = stats.get("samples", [])
    if not isinstance(samples, list) or not all(ok(v) for v in samples):
        raise UsageError(f"{path} line {n}: {stage} samples are not a list of finite numbers >= 0")
    reps = rec.get("reps") if type(rec.get("reps")) is int else len(samples)
    return {"median": float(stats["median"]), "reps": reps, "samples": [float(v) for v in kept_samples(samples)]}


def load_peaks(path):
    """The runner's `peak` records of a results directory as a pandas DataFrame: board, core, cpus,
    threads, run and every field the peak line carries (f32_gflops, i8_gops, ...)."""
    import pandas as pd

    directory = Path(path)
    ResultsDir.load(directory)
    raw = (directory.parent if directory.is_file() else directory) / RAW_NAME
    rows = [{k: v for k, v in rec.items() if k != "type"} for rec in (iter_records(raw) if raw.exists() else [])
            if rec.get("type") == "peak"]
    base = ["board", "core", "cpus", "threads", "run", "f32_gflops", "i8_gops"]
    extra = sorted({k for r in rows for k in r} - set(base))
    return pd.DataFrame(rows, columns=base + extra)


_INT_COLUMNS = {"bits", "h", "w", "cin", "cout", "k", "stride", "pad", "threads", "reps", "count", "run"}
_POSITIVE = {"bits", "h", "w", "cin", "cout", "k", "stride", "threads"}
_FLOAT_COLUMNS = {c for c in COLUMNS if c.endswith("_ms")} | {"gemm_gflops", "sqnr_db", "max_abs", "rel_l2", "sqnr_cal_db",
                                                                  "sqnr_same_db", "sqnr_cal_same_db"}
_TIME_COLUMNS = ["input_ms", "gemm_ms", "output_ms", "total_ms"]
_REQUIRED = ["board", "core", "bits", "algo", "transform", "h", "w", "cin", "cout", "status"]
_BOOLEANS = {"True": True, "False": False, "true": True, "false": False, "1": True, "0": False}


def _typed(row: dict, where: str) -> dict:
    """CSV strings back to the types `add` wrote (so keys compare equal on resume), refusing values
    `add` could not have written: UsageError naming `where`, the column and the value."""
    out = {c: _value(c, v, where) for c, v in row.items()}
    out["engine"] = out.get("engine") or OUR_ENGINE
    timed = _TIME_COLUMNS if out["engine"] == OUR_ENGINE else ["total_ms"]   # engines expose no stages
    needed = _REQUIRED + (timed if out["status"] == "ok" else [])
    empty = [c for c in needed if out.get(c) is None]
    if empty:
        raise UsageError(f"{where}: no value in column {empty[0]}" + (" of a row with status ok" if empty[0] in _TIME_COLUMNS else ""))
    out["scheme"] = out.get("scheme") or "none"
    out["requant"] = out.get("requant") or default_old_requant(out["bits"], out["engine"])
    for c, v in DEFAULT_FILTER.items():   # an older table: 3x3, stride 1, padding 1
        out[c] = v if out.get(c) is None else out[c]
    return out


def record_key(rec: dict) -> tuple:
    """The KEY_COLUMNS values of a raw.jsonl case record; one written before the `requant` column
    existed reads as default_old_requant, one before the filter columns as DEFAULT_FILTER."""
    rec = {**DEFAULT_FILTER, **rec,
           "requant": rec.get("requant") or default_old_requant(rec.get("bits"), rec.get("engine") or OUR_ENGINE)}
    return tuple(rec.get(c) for c in KEY_COLUMNS)


def default_old_requant(bits, engine: str = OUR_ENGINE) -> str:
    """The requantization form of a row written before the `requant` column existed: every int8
    kernel then requantized through fp32 (kernels_c/README.md, "Integer requantization"); a
    production engine's rows have none of this project's forms."""
    return "fp32" if bits == 8 and engine == OUR_ENGINE else NO_REQUANT


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
