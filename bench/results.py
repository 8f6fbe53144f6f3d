"""A results directory: `latency.csv` (tidy, one row per measured case) and `raw.json` (every runner
line with its raw samples, plus each run's metadata). Both are rewritten atomically (temp file +
rename) after every case, so an interrupted sweep always leaves valid files and nothing measured is
lost. The schema is documented in tables/README.md.
"""

from __future__ import annotations

import csv
import json
import os
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
            raw = json.loads(raw_path.read_text()) if raw_path.exists() else None
        except json.JSONDecodeError:
            raise UsageError(f"{raw_path} is not valid JSON; not a winobench results file") from None
        if raw is not None and (not isinstance(raw, dict) or raw.get("tool") != TOOL):
            raise UsageError(f"{raw_path} is not a winobench results file")
        if raw is not None and raw.get("schema_version") != SCHEMA_VERSION:
            raise UsageError(f"{raw_path} has schema_version {raw.get('schema_version')!r}; this version reads {SCHEMA_VERSION}")
        with open(csv_path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in CONTRACT_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise UsageError(f"{csv_path} is not a winobench latency table (missing columns: {', '.join(missing)})")
            rows = [_typed(r) for r in reader]
        return cls(path, rows, raw)

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
        import pandas as pd

        return pd.read_csv(self.path / CSV_NAME, dtype=CSV_DTYPES, keep_default_na=False, na_values=[""])

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
_FLOAT_COLUMNS = {c for c in COLUMNS if c.endswith("_ms")} | {"gemm_gflops", "sqnr_db", "max_abs", "rel_l2"}


def _typed(row: dict) -> dict:
    """CSV strings back to the types `add` wrote (so keys compare equal on resume)."""
    out = {}
    for c, v in row.items():
        if v in ("", None):
            out[c] = None
        elif c in _INT_COLUMNS:
            out[c] = int(v)
        elif c in _FLOAT_COLUMNS:
            out[c] = float(v)
        elif c == "emulated":
            out[c] = v == "True"
        else:
            out[c] = v
    return out


# ---------------------------------------------------------------------------------------------
# Reading raw data for analysis (compare, roofline). Everything else reads raw data through these
# two functions, so a change of the raw format touches only them.
STAGE_COLUMNS = ("total_ms", "input_ms", "gemm_ms", "output_ms")
PEAK_COLUMNS = ["board", "core", "cpus", "threads", "emulated", "f32_gflops", "i8_gops", "bw_gbs", "run"]


def _raw_doc(path) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / RAW_NAME
    elif path.name == CSV_NAME:
        path = path.parent / RAW_NAME
    try:
        doc = json.loads(path.read_text())
    except OSError as e:
        raise UsageError(f"{path}: cannot read raw results ({e.strerror})") from None
    except json.JSONDecodeError:
        raise UsageError(f"{path} is not valid JSON; not a winobench results file") from None
    if not isinstance(doc, dict) or doc.get("tool") != TOOL:
        raise UsageError(f"{path} is not a winobench results file")
    return doc


def _line_key(line: dict) -> dict:
    """The KEY_COLUMNS of a runner case line (as augmented by bench.deploy)."""
    algo = line.get("algo")
    return {"board": line.get("board", ""), "core": line.get("core", ""), "threads": int(line.get("threads", 1)),
            "bits": int(line.get("bits", 32)), "algo": algo,
            "transform": "none" if algo == "im2row" else line.get("transform_file") or line.get("transform"),
            "h": int(line["h"]), "w": int(line["w"]), "cin": int(line["cin"]), "cout": int(line["cout"])}


def load_samples(path):
    """Raw samples of every successful case of a results directory (or its raw.json): one row per
    (case, stage) with the KEY_COLUMNS, `emulated`, `run`, `stage` (one of STAGE_COLUMNS) and
    `samples` (a list of floats, ms). A case measured twice (resumed runs) keeps its latest line.
    Unknown fields in the lines are ignored."""
    import pandas as pd

    rows = {}
    for line in _raw_doc(path).get("cases", []):
        if line.get("status") != "ok":
            continue
        key = _line_key(line)
        for stage in STAGE_COLUMNS:
            samples = (line.get(stage) or {}).get("samples")
            if samples:
                rows[(*key.values(), stage)] = {**key, "emulated": bool(line.get("emulated", False)),
                                                "run": line.get("run"), "stage": stage,
                                                "samples": [float(s) for s in samples]}
    return pd.DataFrame(list(rows.values()), columns=KEY_COLUMNS + ["emulated", "run", "stage", "samples"])


def load_peaks(path):
    """The runner's `peak` lines of a results directory: one row per (board, core, run) with
    `f32_gflops`, `i8_gops` and `bw_gbs` (NaN where the runner did not measure it)."""
    import pandas as pd

    rows = []
    for run in _raw_doc(path).get("runs", []):
        for line in run.get("peaks", []):
            cpus = line.get("cpus", [line["cpu"]] if "cpu" in line else [])
            rows.append({"board": line.get("board", ""), "core": line.get("core", ""), "cpus": format_cpus(cpus),
                         "threads": int(line.get("threads", 1)), "emulated": bool(line.get("emulated", False)),
                         **{k: _float_or_nan(line.get(k)) for k in ("f32_gflops", "i8_gops", "bw_gbs")},
                         "run": run.get("run")})
    return pd.DataFrame(rows, columns=PEAK_COLUMNS)


def _float_or_nan(v) -> float:
    return float("nan") if v is None else float(v)
