"""Where a LUT's numbers come from, read from the run metadata a results directory keeps in raw.jsonl
(tables/README.md): the `run` records (date, command, repetition settings), the runner `info`
records (build, compiler and flags, CPUs, the board's topology probed just before: frequency and
governor of each CPU) and the `run_end` records (the topology after the sweep).

One provenance table per LUT table (board/core/tN), structured (pyperf keeps metadata as values, not
formatted strings):

    {"board", "core", "threads", "cpus": ["4"], "where": "native" | "emulated" | "host-simde",
     "where_means": words for `where`, "date": newest run, "runs": [{"run", "date", "command", "settings"}],
     "builds": [{"build_hash", "arch", "compiler", "cflags"}],
     "cpu_state": [{"run", "when": "before" | "after", "cpu", "cur_khz", "max_khz", "governor"}]}

`where`: `native` (the kernels on the board's own cores), `emulated` (under qemu: never in a LUT,
named for completeness) or `host-simde` (this x86 host running the NEON kernels through SIMDe: the
pipeline, not an Arm latency). Without raw.jsonl only board, core, threads and CPUs are known.
"""

from __future__ import annotations

from bench.analysis.lut import table_name
from bench.measure.fidelity import WHERE_MEANS
from bench.measure.results import KEY_COLUMNS, RAW_NAME, iter_records, kept_samples, record_key

CPU_FIELDS = ("cur_khz", "max_khz", "governor")


def read_metadata(results) -> list[dict]:
    """The raw.jsonl records of a results directory that total_samples and provenance use, read one
    record at a time: every non-case record whole, and of a case record only its key, status and
    total samples, at most MAX_SAMPLES (memory bounded by the samples kept per case, not by the file)."""
    path = results.path / RAW_NAME
    if not path.exists():
        return []
    out = []
    for rec in iter_records(path):
        if rec.get("type") == "case":
            total = (rec.get("total_ms") or {}).get("samples")
            total = kept_samples(total) if isinstance(total, list) else total   # files of before the cap
            rec = {**dict(zip(KEY_COLUMNS, record_key(rec))), "type": "case", "status": rec.get("status"),
                   "total_ms": {"samples": total}}
        out.append(rec)
    return out


def total_samples(records: list[dict]) -> dict:
    """{KEY_COLUMNS values: [total ms samples]} of every successful case record, the last one of a
    retried key (as the latency table keeps its last row)."""
    out = {}
    for rec in records:
        if rec.get("type") == "case" and rec.get("status") == "ok":
            samples = (rec.get("total_ms") or {}).get("samples") or []
            out[tuple(rec.get(c) for c in KEY_COLUMNS)] = [float(v) for v in samples]
    return out


def provenance(records: list[dict], rows: list[dict]) -> dict:
    """{"board/core/tN": provenance} for the tables of build_lut `rows`, from a results directory's
    raw.jsonl records (possibly none)."""
    by_table: dict = {}
    for r in rows:
        by_table.setdefault(table_name(r), []).append(r)
    return {name: _table_provenance(records, entries) for name, entries in sorted(by_table.items())}


def _table_provenance(records: list[dict], rows: list[dict]) -> dict:
    first = rows[0]
    board, core, threads = first["board"], first["core"], first["threads"]
    cpus = sorted({str(r["cpus"]) for r in rows if r.get("cpus") not in (None, "")})
    out = {"board": board, "core": core, "threads": threads, "cpus": cpus}
    if not records:
        return {**out, "where": None, "note": "no raw.jsonl: date, build, frequency and settings unknown"}
    runs = {r["run"] for r in rows if r.get("run") is not None}
    runners = [r for r in records if r.get("type") == "runner" and r.get("run") in runs
               and (r.get("board"), r.get("core"), r.get("threads")) == (board, core, threads)]
    meta = [r for r in records if r.get("type") == "run" and r.get("run") in runs]
    where = _where(runners)
    return {**out, "where": where, "where_means": WHERE_MEANS.get(where),
            "date": max((m.get("date") or "" for m in meta), default="") or None,
            "runs": [{k: m.get(k) for k in ("run", "date", "command", "settings")} for m in meta],
            "builds": _unique([{k: r.get(k) for k in ("build_hash", "arch", "compiler", "cflags")} for r in runners]),
            "cpu_state": _cpu_state(records, runners, board)}


def _where(runners: list[dict]) -> str | None:
    if not runners:
        return None
    recorded = {r.get("where") for r in runners if r.get("where")}
    if len(recorded) == 1:
        return recorded.pop()
    if any(r.get("emulated") for r in runners):
        return "emulated"
    if any((r.get("features") or {}).get("neon_emulated") for r in runners):
        return "host-simde"
    return "native"


def _unique(items: list[dict]) -> list[dict]:
    seen, out = set(), []
    for item in items:
        key = repr(sorted(item.items()))
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _cpu_state(records: list[dict], runners: list[dict], board: str) -> list[dict]:
    """Frequency and governor of the measured CPUs as probed before each runner started and after
    its sweep (None where the board has no cpufreq, as an emulated board)."""
    out = []
    for r in runners:
        cpus = set(r.get("cpus") or [])
        before = ((r.get("deploy") or {}).get("topology") or {}).get("cpus") or []
        out += [{"run": r.get("run"), "when": "before", "cpu": c.get("cpu"), **{k: c.get(k) for k in CPU_FIELDS}}
                for c in before if c.get("cpu") in cpus]
        end = next((e for e in records if e.get("type") == "run_end" and e.get("run") == r.get("run")), None)
        after = (((end or {}).get("after") or {}).get(board) or {}).get("topology") or {}
        out += [{"run": r.get("run"), "when": "after", "cpu": c.get("cpu"), **{k: c.get(k) for k in CPU_FIELDS}}
                for c in after.get("cpus") or [] if c.get("cpu") in cpus]
    return _unique(out)
