"""`bench lut RESULTS`: the NAS latency lookup table (lut.csv + lut.json) from a results directory."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

from bench.errors import UsageError
from bench.analysis.lut import build_lut, fit_predictors, lut_json
from bench.files import check_output_dir, output_dir, replacing
from bench.measure.results import ResultsDir
from bench.analysis.predict import MIN_LAYERS


def register(sub) -> None:
    p = sub.add_parser("lut", help="build the NAS latency lookup table from a results directory")
    p.add_argument("results", help="a results directory (or its latency.csv)")
    p.add_argument("--out", help="output directory (default: the results directory)")
    p.set_defaults(func=_lut)


def write_lut(results: ResultsDir, out: Path, predictors: dict | None = None) -> tuple[Path, Path, int]:
    rows = build_lut(results.dataframe())
    if not rows:
        raise UsageError(f"{results.path} has no successful non-emulated measurements to build a LUT from")
    out = output_dir(out)
    csv_path, json_path = out / "lut.csv", out / "lut.json"
    if predictors is None:
        predictors = fit_predictors(rows)
    with replacing(csv_path) as csv_tmp, replacing(json_path) as json_tmp:  # both whole, or neither
        with open(csv_tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        json_tmp.write_text(json.dumps(lut_json(rows, predictors), indent=1, allow_nan=False) + "\n")
    return csv_path, json_path, len(rows)


def predictor_report(predictors: dict) -> str:
    """The cross-validated error of every latency model (bench.analysis.predict), one line per operator."""
    lines = []
    for table, models in predictors.items():
        if not models:
            lines.append(f"{table}: no latency predictor (fewer than {MIN_LAYERS} layers per operator measured)")
            continue
        lines.append(f"{table}: latency predictor, leave-one-layer-out relative error of the median total")
        lines.append(f"  {'operator':<22} {'layers':>6} {'median':>8} {'p90':>8}")
        for op, m in models.items():
            lines.append(f"  {op:<22} {m['n']:>6} {100 * m['cv_median_rel_err']:>7.1f}% {100 * m['cv_p90_rel_err']:>7.1f}%")
        overall = statistics.median(m["cv_median_rel_err"] for m in models.values())
        lines.append(f"  median over operators of the median error: {100 * overall:.1f}%")
    return "\n".join(lines)


def _lut(args) -> int:
    check_output_dir(args.out)
    results = ResultsDir.load(args.results)
    rows = build_lut(results.dataframe())
    predictors = fit_predictors(rows) if rows else {}
    csv_path, json_path, n = write_lut(results, Path(args.out) if args.out is not None else results.path, predictors)
    print(f"wrote {n} entries to {csv_path} and {json_path}")
    print(predictor_report(predictors))
    return 0
