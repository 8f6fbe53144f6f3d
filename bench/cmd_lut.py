"""`bench lut RESULTS`: the NAS latency lookup table (lut.csv + lut.json) from a results directory."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from bench.errors import UsageError
from bench.lut import build_lut, lut_json
from bench.outfiles import output_dir, replacing
from bench.results import ResultsDir


def register(sub) -> None:
    p = sub.add_parser("lut", help="build the NAS latency lookup table from a results directory")
    p.add_argument("results", help="a results directory (or its latency.csv)")
    p.add_argument("--out", help="output directory (default: the results directory)")
    p.set_defaults(func=_lut)


def write_lut(results: ResultsDir, out: Path) -> tuple[Path, Path, int]:
    rows = build_lut(results.dataframe())
    if not rows:
        raise UsageError(f"{results.path} has no successful non-emulated measurements to build a LUT from")
    out = output_dir(out)
    csv_path, json_path = out / "lut.csv", out / "lut.json"
    with replacing(csv_path) as csv_tmp, replacing(json_path) as json_tmp:  # both whole, or neither
        with open(csv_tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        json_tmp.write_text(json.dumps(lut_json(rows), indent=1, allow_nan=False) + "\n")
    return csv_path, json_path, len(rows)


def _lut(args) -> int:
    results = ResultsDir.load(args.results)
    csv_path, json_path, n = write_lut(results, Path(args.out) if args.out else results.path)
    print(f"wrote {n} entries to {csv_path} and {json_path}")
    return 0
