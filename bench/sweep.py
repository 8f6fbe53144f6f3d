"""A sweep: cases x boards x core types, measured by the on-board runner, each finished case written
to the results at once (bench.results), with error figures from the host build of the same kernels.

One runner invocation per (board, cluster) measures all its cases (bench.farm drives several boards
in parallel); its JSON lines stream back and each is persisted as it arrives. A case that fails
(build, push, runtime, timeout, bad case) becomes an error row and the sweep goes on.
"""

from __future__ import annotations

import dataclasses
import datetime
import sys
from dataclasses import dataclass

from bench.cases import Case, precision_name
from bench.results import ResultsDir, case_key, row_from_case


@dataclass
class Settings:
    """How each case is measured (the runner's repetition rules, kernels_c/RUNNER.md)."""

    threads: int = 1
    min_reps: int = 10
    min_time_ms: int = 200
    warmup: int = 2
    errors: bool = True     # error figures from the host build on a crop of each layer
    peak: bool = True       # the runner's `peak` line (compute and bandwidth: the roofline's roofs)

    def runner_args(self) -> list[str]:
        return ["--min-reps", str(self.min_reps), "--min-time-ms", str(self.min_time_ms),
                "--warmup", str(self.warmup)] + (["--peak"] if self.peak else [])


def plan(boards, core_arg, cases, results: ResultsDir, threads: int) -> list[Case]:
    """The cases still to measure: those not yet measured successfully on every selected (board,
    core). Resolving the cores here refuses a core a board lacks before anything runs."""
    from bench.boards import resolve_core

    done = results.measured_keys()
    targets = [(board.name, cluster.core) for board in boards for cluster in resolve_core(board, core_arg)]
    return [c for c in cases if any(case_key(b, core, threads, c) not in done for b, core in targets)]


def _after(boards) -> dict:
    """Frequency, governor and temperatures per board after the sweep (structured, pyperf-style);
    the state before is in each runner `info` line's `deploy.topology`, probed just before it ran."""
    from bench.probe import probe
    from bench.transport import open_transport

    out = {}
    for board in boards:
        try:
            with open_transport(board) as transport:
                out[board.name] = {"time": _now(), "topology": probe(transport).to_dict()}
        except Exception as e:  # metadata must never cost the measurements already taken
            out[board.name] = {"error": f"{type(e).__name__}: {e}"}
    return out


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def run(boards, core_arg, cases: list[Case], settings: Settings, results: ResultsDir, command_line: str,
        progress=None) -> dict:
    """Measure `cases` on the `core_arg` clusters of every board (in parallel across boards), adding
    each case to `results` as it arrives; returns {"ok": n, "error": n, "warnings": [...]} (the
    frequency and thermal warnings of this run, bench.health)."""
    from bench.accuracy import case_errors
    from bench.farm import run_farm
    from bench.health import run_warnings

    counts = {"ok": 0, "error": 0, "warnings": []}
    if not cases:
        return counts
    cases_text = "\n".join(case.runner_line(i) for i, case in enumerate(cases)) + "\n"
    run_id = results.start_run({
        "command": command_line, "date": _now(), "boards": [b.name for b in boards], "core": core_arg or "all",
        "settings": dataclasses.asdict(settings), "runners": []})
    try:
        for line in run_farm(boards, core_arg, cases_text, threads=settings.threads,
                             extra_args=settings.runner_args(), files=_transform_files(cases)):
            if line.get("type") == "info":
                results.raw["runs"][run_id]["runners"].append(line)
            if line.get("type") == "peak":  # per (board, core): read back by results.load_peaks
                results.raw["runs"][run_id].setdefault("peaks", []).append({**line, "threads": settings.threads})
            if line.get("type") != "case":
                continue
            case = cases[int(line["id"])]
            if line.get("status") == "ok" and settings.errors and "error" not in line:
                line = {**line, "error": case_errors(case)}
            if case.transform not in ("none", "static", "learned"):  # the runner echoes "learned"
                line = {**line, "transform_file": case.transform}
            row = row_from_case(line, case, run_id)
            results.add(row, line)
            counts["ok" if row["status"] == "ok" else "error"] += 1
            if progress:
                progress(case, row)
    finally:
        run_meta = results.raw["runs"][run_id]
        run_meta["after"] = _after(boards)
        counts["warnings"] = run_warnings(run_meta)
        results.update_run(run_id, warnings=counts["warnings"])
    return counts


def _transform_files(cases) -> list[str]:
    return sorted({c.transform for c in cases if c.transform not in ("none", "static", "learned")})


def summary(df) -> str:
    """Fastest operator per layer and its speedup over im2row fp32, per (board, core)."""
    ok = df[df["status"] == "ok"]
    if ok.empty:
        return "no successful measurements"
    lines = []
    for (board, core), group in ok.groupby(["board", "core"]):
        lines.append(f"{board} / {core}:")
        lines.append(f"  {'layer':<18} {'fastest':<20} {'ms':>9} {'im2row fp32 ms':>15} {'speedup':>8}")
        for (h, w, cin, cout), layer in group.groupby(["h", "w", "cin", "cout"], sort=True):
            best = layer.loc[layer["total_ms"].idxmin()]
            base = layer[(layer["algo"] == "im2row") & (layer["bits"] == 32)]["total_ms"]
            name = f"{best['algo']} {'' if best['algo'] == 'im2row' else best['transform'] + ' '}" \
                   f"{precision_name(best['bits'])}"
            base_ms = f"{base.iloc[0]:.3f}" if len(base) else "-"
            speed = f"{base.iloc[0] / best['total_ms']:.2f}x" if len(base) else "-"
            lines.append(f"  {f'{h}x{w} {cin}->{cout}':<18} {name:<20} {best['total_ms']:>9.3f} {base_ms:>15} {speed:>8}")
    emulated = ok["emulated"].astype(bool).any()
    if emulated:
        lines.append("note: emulated (qemu) timings say nothing about real cores; they are kept out of LUTs")
    return "\n".join(lines)


def progress_bar(total_work: float):
    """A tqdm bar over the cases' relative work (MACs), so the time estimate weighs big layers right."""
    from tqdm import tqdm

    bar = tqdm(total=total_work, unit="work", file=sys.stderr, dynamic_ncols=True,
               disable=None,  # None: no bar without a TTY (logs, CI)
               bar_format="{l_bar}{bar}| {percentage:3.0f}% [{elapsed}<{remaining}] {postfix}")

    def update(case, row):
        l = case.layer
        bar.set_postfix_str(f"{row['board']}/{row['core']} {case.algo} {case.transform} "
                            f"{precision_name(case.bits)} {l.h}x{l.w}x{l.cin}->{l.cout} {row['status']}")
        bar.update(case.work)

    return bar, update
