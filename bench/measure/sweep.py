"""A sweep: cases x boards x core types, measured by the on-board runner, each finished case written
to the results at once (bench.measure.results), with error figures from the host build of the same kernels.

One runner deployment per (board, cluster) measures all its cases (bench.measure.farm drives several boards
in parallel); its JSON lines stream back and each is persisted as it arrives. A case that fails
(build, push, runtime, timeout, crash, bad case) becomes an error row and the sweep goes on; after a
timeout or crash the runner is restarted on the cases left. The runner's `--peak` runs once per
(board, cluster) and sweep, and its record is kept with the results.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field

from bench.boards.probe import Reached, reach
from bench.measure.accuracy import case_errors
from bench.measure.cases import Case
from bench.measure.deploy import StreamOptions, jobs_of
from bench.measure.farm import run_targets
from bench.measure.health import run_warnings
from bench.measure.protocol import MAX_RUNNER_CPUS, CaseRecord, InfoRecord, PeakRecord, Repetition
from bench.measure.results import ResultsDir, capped_samples, case_key, row_from_case
from bench.measure.targets import Target
from bench.operators import precision_name, scheme_suffix


@dataclass
class Settings:
    """How each case is measured: the runner's repetition rules (kernels_c/RUNNER.md), threads, the
    error figures and the per-case deadline."""

    threads: int = 1
    reps: Repetition = field(default_factory=Repetition)
    errors: bool = True     # error figures from the host build on a crop of each layer
    case_timeout: float | None = None   # seconds per case; None: derived from each case's work

    def check(self) -> "Settings":
        """ValueError naming the bad setting and the accepted range."""
        if not 1 <= self.threads <= MAX_RUNNER_CPUS:
            raise ValueError(f"bad threads {self.threads}; accepted: 1 to {MAX_RUNNER_CPUS}")
        t = self.case_timeout
        if t is not None and not 0 < t <= 86400:
            raise ValueError(f"bad case_timeout {t}; accepted: more than 0 and at most 86400 seconds")
        return self

    def compared(self) -> dict:
        """The settings that change what a measurement means (--resume refuses to mix them)."""
        return {"threads": self.threads, **dataclasses.asdict(self.reps)}

    def to_json(self) -> dict:
        """As a run's metadata keeps them (one flat table)."""
        return {**self.compared(), "errors": self.errors, "case_timeout": self.case_timeout}


@dataclass
class Plan:
    """What a sweep measures: the boards reached and probed once, the (board, cluster) targets
    resolved on them, and the cases to measure on every target."""

    reached: dict[str, Reached]
    targets: list[Target]
    cases: list[Case]


def todo(targets, cases, results: ResultsDir) -> list[Case]:
    """The cases still to measure: those not yet measured successfully on every target."""
    done = results.measured_keys()
    keys = [(w.board, w.core, w.threads) for w in (t.where() for t in targets)]
    return [c for c in cases if any(case_key(b, core, n, c) not in done for b, core, n in keys)]


def _after(reached) -> dict:
    """Frequency, governor and temperatures per board after the sweep (structured, pyperf-style),
    over a fresh connection; the state before is in each runner `info` line's `deploy.topology`,
    probed just before it ran."""
    out = {}
    for r in (r for r in reached.values() if r.up):
        try:
            with reach(r.profile) as again:
                out[r.profile.name] = ({"time": _now(), "topology": again.topology.to_dict()} if again.up
                                       else {"error": again.failure})
        except Exception as e:  # metadata must never cost the measurements already taken
            out[r.profile.name] = {"error": f"{type(e).__name__}: {e}"}
    return out


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@dataclass
class Placement:
    """Where this process runs during a sweep: off the CPUs measured on this machine when it can
    be (`harness_cpus`); with none left, the error figures wait until timing is over (`defer_errors`).
    `restore`: the affinity to put back afterwards, if it was changed."""

    harness_cpus: list[int]
    defer_errors: bool = False
    restore: set[int] | None = None

    def to_json(self) -> dict:
        when = "after timing" if self.defer_errors else \
            "during the sweep (pinned away)" if self.restore else "during the sweep (no measured CPU here)"
        return {"harness_cpus": self.harness_cpus, "error_figures": when}


def place_harness(targets) -> Placement:
    """Keep this process off the CPUs measured on this machine: pin it (and the threads it starts
    from now on) to the others; with none left, error figures are computed after timing."""
    here = {c for t in targets if t.board.transport in ("local", "emulated") for c in t.cpus}
    allowed = os.sched_getaffinity(0)
    free = allowed - here
    if here and free:
        os.sched_setaffinity(0, free)
        return Placement(sorted(free), restore=allowed)
    return Placement(sorted(allowed), defer_errors=bool(here))


def run(plan: Plan, settings: Settings, results: ResultsDir, metadata: dict, progress=None) -> dict:
    """Measure the plan's cases on its targets (in parallel across boards), adding each case to
    `results` as it arrives; returns {"ok": n, "error": n, "warnings": [...]} (this run's frequency,
    thermal and profile warnings). `metadata`: the run's command line, profile warnings etc."""
    counts = {"ok": 0, "error": 0, "warnings": list(metadata.get("profile_warnings", []))}
    if not plan.cases:
        return counts
    place = place_harness(plan.targets)
    run_meta = {**metadata, "date": _now(), "settings": settings.to_json(), "runners": [], "harness": place.to_json()}
    recorder = _Recorder(results, results.start_run(run_meta), settings.errors, counts, progress)
    opts = StreamOptions(threads=settings.threads, reps=settings.reps, case_timeout=settings.case_timeout, peak=True)
    deferred, finished = _Deferred(), False
    try:
        jobs = jobs_of([case.spec(i) for i, case in enumerate(plan.cases)])
        for rec in run_targets(plan.reached, plan.targets, jobs, opts):
            if isinstance(rec, InfoRecord):
                run_meta["runners"].append(rec.to_json())
                results.add_record("runner", recorder.run_id, rec.to_json())
            elif isinstance(rec, PeakRecord):
                results.add_record("peak", recorder.run_id, rec.to_json())
            elif isinstance(rec, CaseRecord):
                case = plan.cases[rec.line - 1]
                if place.defer_errors and rec.ok:
                    deferred.add(rec)
                else:
                    recorder.record(case, rec, with_errors=True)
        finished = True
    finally:
        if place.restore:
            os.sched_setaffinity(0, place.restore)
        for rec in deferred.records():  # interrupted: keep the timings, skip the error figures
            recorder.record(plan.cases[rec.line - 1], rec, with_errors=finished)
        _end_run(plan, results, recorder.run_id, run_meta, counts)
    return counts


class _Deferred:
    """Case records whose error figures wait until timing is over, spooled to an unnamed temporary
    file (gone with the process, whatever kills it), so their samples never pile up in memory."""

    def __init__(self):
        self._file = None

    def add(self, rec: CaseRecord) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile("w+", encoding="utf-8")
        self._file.write(json.dumps(capped_samples(rec.to_json()), separators=(",", ":")) + "\n")

    def records(self):
        if self._file is None:
            return
        self._file.seek(0)
        with self._file:
            for line in self._file:
                yield CaseRecord.from_saved(json.loads(line))
        self._file = None


@dataclass
class _Recorder:
    """Adds each finished case to the results (with its error figures when asked) and counts it."""

    results: ResultsDir
    run_id: int
    errors: bool
    counts: dict
    progress: object = None

    def record(self, case: Case, rec: CaseRecord, with_errors: bool) -> None:
        if rec.ok and self.errors and with_errors and rec.error is None:
            rec.error = case_errors(case)
        row = row_from_case(rec, case, self.run_id)
        self.results.add(row, rec)
        self.counts["ok" if row["status"] == "ok" else "error"] += 1
        if self.progress:
            self.progress(case, row)


def _end_run(plan: Plan, results: ResultsDir, run_id: int, run_meta: dict, counts: dict) -> None:
    """The state of the boards after the sweep and this run's warnings, in the run's metadata."""
    run_meta["after"] = _after(plan.reached)
    counts["warnings"] += run_warnings(run_meta)
    try:
        results.add_record("run_end", run_id, {"after": run_meta["after"], "warnings": counts["warnings"]})
    except OSError:
        pass  # a full disk: the error that stopped the sweep says so; the cases are recorded


def summary(df) -> str:
    """Per (board, core), layer and bit width: the fastest operator, its speedup over im2row at the
    same bit width and over im2row fp32 ("-" where that baseline was not measured)."""
    ok = df[df["status"] == "ok"]
    if ok.empty:
        return "no successful measurements"
    lines = []
    for (board, core), group in ok.groupby(["board", "core"]):
        lines.append(f"{board} / {core}:")
        lines.append(f"  {'layer':<18} {'bits':<5} {'fastest':<18} {'ms':>9} {'im2row ms':>10} {'speedup':>8} "
                     f"{'vs im2row fp32':>15}")
        for (h, w, cin, cout), layer in group.groupby(["h", "w", "cin", "cout"], sort=True):
            fp32 = _im2row_ms(layer, 32)
            for bits, same_bits in layer.groupby("bits", sort=True):
                best = same_bits.loc[same_bits["total_ms"].idxmin()]
                base = _im2row_ms(layer, bits)
                lines.append(f"  {f'{h}x{w} {cin}->{cout}':<18} {precision_name(bits):<5} {_op_name(best):<18} "
                             f"{best['total_ms']:>9.3f} {_ms(base):>10} {_ratio(base, best['total_ms']):>8} "
                             f"{_ratio(fp32, best['total_ms']):>15}")
    if ok["emulated"].astype(bool).any():
        lines.append("note: emulated (qemu) timings say nothing about real cores; they are kept out of LUTs")
    return "\n".join(lines)


def _im2row_ms(layer, bits: int) -> float | None:
    base = layer[(layer["algo"] == "im2row") & (layer["bits"] == bits)]["total_ms"]
    return float(base.iloc[0]) if len(base) else None


def _op_name(row) -> str:
    suffix = scheme_suffix(row.get("scheme"))
    name = row["algo"] if row["algo"] == "im2row" else f"{row['algo']} {row['transform']}"
    return name + (f" {suffix}" if suffix else "")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _ratio(base: float | None, ms: float) -> str:
    return "-" if base is None or not ms else f"{base / ms:.2f}x"


def progress_bar(total_work: float, n_cases: int, quiet: bool = False, verbose: bool = False):
    """One tqdm bar over the cases' relative work (MACs, so the estimate weighs big layers right):
    percentage, bar, elapsed<remaining, cases done and the case just finished. No bar with `quiet`,
    nor without a terminal (logs, CI); `verbose` adds a line per finished case above the bar."""
    from tqdm import tqdm

    bar = tqdm(total=total_work, file=sys.stderr, dynamic_ncols=True, disable=True if quiet else None,
               bar_format="{percentage:3.0f}% |{bar}| {elapsed}<{remaining}  {desc}")
    done = [0]

    def update(case, row):
        l = case.layer
        done[0] += 1
        text = (f"{row['board']}/{row['core']} {case.algo} {case.transform} {precision_name(case.bits)} "
                f"{l.h}x{l.w}x{l.cin}->{l.cout}")
        if verbose:
            result = f"{row['total_ms']:.3f} ms" if row["status"] == "ok" else f"{row['error_kind']}: {row['message']}"
            tqdm.write(f"bench run: {text}: {result}", file=sys.stderr)
        bar.set_description_str(f"{done[0]}/{n_cases} {text}", refresh=False)
        bar.update(case.work)

    return bar, update
