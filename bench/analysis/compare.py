"""Did a change make things faster, or is it noise? Two results directories, case by case.

For every case measured successfully in both (same board, core, threads, bits, algo, transform and
layer), the change of the median total latency and a two-sided Mann-Whitney U test on the raw
samples (as Google Benchmark's compare.py). A case counts as `changed` when the test is significant
(p < alpha) and the medians differ by at least `min_change`; `slower` when it changed and got slower
by more than `fail_above` (what a CI job fails on). With fewer than MIN_REPS samples on a side the
test has little power (3 against 3 can never reach p < 0.05): such cases are flagged `few_reps`.

The medians are the runner's, over every repetition (the `median` column of load_samples); the U
test runs on the samples kept (at most bench.measure.results.MAX_SAMPLES per case, a uniform subset,
so the test stays valid). A case whose samples were dropped (a full disk) keeps its medians and
gets p = 1 (flagged `few_reps`), never NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.errors import UsageError
from bench.measure.fidelity import CAVEATS, label, where_of
from bench.measure.results import KEY_COLUMNS
from bench.operators import OUR_ENGINE, row_op_key

MIN_REPS = 9  # Google Benchmark's compare.py warns below 9 repetitions


def compare(old: pd.DataFrame, new: pd.DataFrame, *, stage: str = "total_ms", alpha: float = 0.05,
            min_change: float = 0.05, fail_above: float = 0.10) -> pd.DataFrame:
    """One row per case in both sample tables (bench.measure.results.load_samples): KEY_COLUMNS, old_ms,
    new_ms (medians), change (new/old - 1), p_value, n_old, n_new and the flags few_reps,
    significant, changed, slower."""
    from scipy.stats import mannwhitneyu

    both = pd.concat([_medians(old, stage).add_suffix("_old"), _medians(new, stage).add_suffix("_new")],
                     axis=1, join="inner")
    rows = []
    for key, r in both.iterrows():
        a, b = r["samples_old"], r["samples_new"]
        old_ms, new_ms = r["median_old"], r["median_new"]
        p = 1.0
        if len(a) > 1 and len(b) > 1 and len(set(a) | set(b)) > 1:   # all equal: no evidence of a change
            p = float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
        change = new_ms / old_ms - 1.0 if old_ms > 0 else (0.0 if new_ms == old_ms else float("inf"))
        rows.append({**dict(zip(KEY_COLUMNS, key)), "old_ms": old_ms, "new_ms": new_ms,
                     "change": change, "p_value": p, "n_old": len(a), "n_new": len(b)})
    out = pd.DataFrame(rows, columns=KEY_COLUMNS + ["old_ms", "new_ms", "change", "p_value", "n_old", "n_new"])
    out["few_reps"] = (out["n_old"] < MIN_REPS) | (out["n_new"] < MIN_REPS)
    out["significant"] = out["p_value"] < alpha
    out["changed"] = out["significant"] & (out["change"].abs() >= min_change)
    out["slower"] = out["changed"] & (out["change"] > fail_above)
    return out.sort_values(KEY_COLUMNS).reset_index(drop=True)


def _medians(df: pd.DataFrame, stage: str) -> pd.DataFrame:
    """median and samples per case key of one stage; the median from the samples when the frame has
    no `median` column (frames built by hand)."""
    if "engine" not in df:   # samples read before engines were measured
        df = df.assign(engine=OUR_ENGINE)
    df = df[df["stage"] == stage].set_index(KEY_COLUMNS)
    medians = df["median"] if "median" in df else df["samples"].map(lambda s: float(np.median(s)) if len(s) else np.nan)
    return pd.DataFrame({"median": medians.astype(float), "samples": df["samples"]})


def case_label(r) -> str:
    key = row_op_key(r)
    flt = "" if (r["k"], r["stride"], r["pad"]) == (3, 1, 1) else f" k{r['k']}s{r['stride']}p{r['pad']}"
    return f"{r['board']}/{r['core']} {key} {r['h']}x{r['w']}x{r['cin']}->{r['cout']}{flt}"


def format_table(cmp: pd.DataFrame) -> str:
    """A fixed-width table, one line per case; the marks say changed (+ slower, - faster), few reps (~)."""
    lines = [f"{'case':<52} {'old ms':>10} {'new ms':>10} {'change':>8} {'p':>7} {'n':>7}  flags"]
    for _, r in cmp.iterrows():
        flags = []
        if r["changed"]:
            flags.append("SLOWER" if r["change"] > 0 else "faster")
        if r["slower"]:
            flags.append("FAIL")
        if r["few_reps"]:
            flags.append(f"few reps (<{MIN_REPS})")
        lines.append(f"{case_label(r):<52} {r['old_ms']:>10.4f} {r['new_ms']:>10.4f} {100 * r['change']:>+7.1f}% "
                     f"{r['p_value']:>7.3g} {f'{r.n_old}/{r.n_new}':>7}  {' '.join(flags)}")
    return "\n".join(lines)


def summary_line(cmp: pd.DataFrame) -> str:
    n = len(cmp)
    changed, slower, few = int(cmp["changed"].sum()), int(cmp["slower"].sum()), int(cmp["few_reps"].sum())
    faster = changed - int((cmp["changed"] & (cmp["change"] > 0)).sum())
    return (f"{n} matching cases: {changed} changed ({100 * changed / max(n, 1):.1f}%; {faster} faster, "
            f"{changed - faster} slower), {slower} slower beyond the threshold; {few} with too few repetitions")


def wheres(table: pd.DataFrame) -> dict:
    """{KEY_COLUMNS values: where} of a latency table (bench.measure.results.ResultsDir.dataframe)."""
    return {tuple(r[c] for c in KEY_COLUMNS): where_of(r) for r in table.to_dict("records")}


def check_same_where(cmp: pd.DataFrame, old: dict, new: dict) -> list[str]:
    """Lines saying where each side was measured (bench.measure.fidelity); UsageError when a case was
    measured in one place on one side and in another on the other (native against host-simde or
    emulated compares builds, not changes), naming the first such case."""
    old_seen, new_seen = set(), set()
    for r in cmp.to_dict("records"):
        key = tuple(r[c] for c in KEY_COLUMNS)
        a, b = old.get(key, ""), new.get(key, "")
        if a and b and a != b:
            raise UsageError(f"{case_label(r)} was measured {label(a, r['core'])} in OLD and {label(b, r['core'])} "
                             "in NEW; comparing them would measure the emulation, not a change (compare runs "
                             "measured the same way)")
        old_seen.add(a)
        new_seen.add(b)
    lines = [f"{side} measured: {'; '.join(label(w) for w in sorted(seen))}"
             for side, seen in (("old", old_seen), ("new", new_seen))]
    return lines + [f"note: {CAVEATS[w]}" for w in sorted(old_seen | new_seen) if w in CAVEATS]
