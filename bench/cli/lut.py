"""`bench lut RESULTS`: the NAS latency lookup table (lut.csv + lut.json) from a results directory, and
with --format the same entries in other tools' formats (bench.analysis.exports)."""

from __future__ import annotations

import contextlib
import csv
import json
import statistics
import sys
from pathlib import Path

from bench.analysis.exports import FORMATS, gbench_document, ofa_documents, pyperf_document
from bench.analysis.lut import build_lut, fit_predictors, lut_json, table_name
from bench.analysis.predict import MIN_LAYERS
from bench.analysis.provenance import provenance, read_metadata, total_samples
from bench.cli.options import add_parser, derived_dir
from bench.errors import UsageError
from bench.files import check_output_dir, output_dir, replacing
from bench.measure.fidelity import CAVEATS, label
from bench.measure.results import ResultsDir
from bench.operators import parse_choices

FORMAT_CHOICES = ("lut",) + FORMATS


def register(sub) -> None:
    p = add_parser(sub, "lut", "build the NAS latency lookup table from a results directory",
                   "bench lut tables/latest --format lut,ofa,pyperf,gbench",
                   "Writes lut.csv and lut.json (median, p90, mean, standard deviation and count per layer x "
                   "operator, with the provenance of every table) and fits a latency model per operator. "
                   "--format adds once-for-all YAML (ofa-BOARD-CORE-tN.yaml), pyperf JSON (lut.pyperf.json) "
                   "and Google Benchmark JSON (lut.gbench.json).")
    p.add_argument("results", help="a results directory (or its latency.csv)")
    p.add_argument("--out", help="output directory (default: tables/derived/NAME; never into RESULTS unless given)")
    p.add_argument("--format", default="lut",
                   help=f"comma-separated from {', '.join(FORMAT_CHOICES)} (default: lut, i.e. lut.csv + lut.json)")
    p.set_defaults(func=_lut)


def write_lut(results: ResultsDir, out: Path, records: list[dict],
              predictors: dict | None = None) -> tuple[Path, Path, int]:
    """lut.csv and lut.json of `results` into `out`; `records`: its raw metadata (read_metadata)."""
    rows = build_lut(results.dataframe(), total_samples(records))
    if not rows:
        raise UsageError(f"{results.path} has no successful non-emulated measurements to build a LUT from")
    out = output_dir(out)
    csv_path, json_path = out / "lut.csv", out / "lut.json"
    if predictors is None:
        predictors = fit_predictors(rows)
    doc = lut_json(rows, predictors, provenance(records, rows))
    with replacing(csv_path) as csv_tmp, replacing(json_path) as json_tmp:  # both whole, or neither
        with open(csv_tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        json_tmp.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    return csv_path, json_path, len(rows)


def export_texts(results: ResultsDir, out: Path, formats: list[str], records: list[dict]) -> dict[Path, str]:
    """The files of the other tools' formats, path -> text, nothing written yet; UsageError when no
    entry has raw samples. `records`: the results' raw metadata (read_metadata)."""
    samples = total_samples(records)
    rows = build_lut(results.dataframe(), samples)
    if not rows:
        raise UsageError(f"{results.path} has no successful non-emulated measurements to build a LUT from")
    with_samples = [r for r in rows if r["n_samples"]]
    if not with_samples:
        raise UsageError(f"{results.path} has no raw samples (raw.jsonl) for its entries; --format "
                         f"{','.join(formats)} needs them for mean, standard deviation and count")
    if len(with_samples) < len(rows):
        print(f"bench lut: warning: {len(rows) - len(with_samples)} of {len(rows)} entries have no raw samples "
              f"in raw.jsonl and are left out of --format {','.join(formats)}", file=sys.stderr)
    prov = provenance(records, with_samples)
    texts = {}
    if "ofa" in formats:
        for name, text in ofa_documents(with_samples, prov).items():
            texts[out / ("ofa-" + name.replace("/", "-") + ".yaml")] = text
    if "pyperf" in formats:
        texts[out / "lut.pyperf.json"] = json.dumps(pyperf_document(with_samples, samples, prov), allow_nan=False) + "\n"
    if "gbench" in formats:
        texts[out / "lut.gbench.json"] = json.dumps(gbench_document(with_samples, samples, prov), indent=1,
                                                    allow_nan=False) + "\n"
    return texts


def write_texts(texts: dict[Path, str]) -> None:
    """Every file whole, or none."""
    with contextlib.ExitStack() as stack:
        for path, text in texts.items():
            stack.enter_context(replacing(path)).write_text(text)


def where_report(rows: list[dict]) -> str:
    """Where each table was measured, in words, and what host figures mean (bench.measure.fidelity)."""
    tables: dict = {}
    for r in rows:
        tables.setdefault(table_name(r), set()).add((r.get("where") or "", r.get("cpu_flag") or ""))
    lines = [f"{name}: measured {', '.join(label(w, name.split('/')[1], f) for w, f in sorted(seen))}"
             for name, seen in tables.items()]
    wheres = {w for seen in tables.values() for w, _ in seen}
    return "\n".join(lines + [f"note: {CAVEATS[w]}" for w in sorted(wheres) if w in CAVEATS])


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
    formats = parse_choices(args.format, "--format", FORMAT_CHOICES)
    check_output_dir(args.out)
    results = ResultsDir.load(args.results)
    out = Path(args.out) if args.out is not None else derived_dir(results.path)
    others = [f for f in formats if f != "lut"]
    records = read_metadata(results)   # raw.jsonl read once for the LUT and the exports
    texts = export_texts(results, out, others, records) if others else {}   # refusals come before any file is written
    output_dir(out)
    if "lut" in formats:
        rows = build_lut(results.dataframe())
        predictors = fit_predictors(rows) if rows else {}
        csv_path, json_path, n = write_lut(results, out, records, predictors)
        print(f"wrote {n} entries to {csv_path} and {json_path}")
        print(where_report(rows))
        print(predictor_report(predictors))
    write_texts(texts)
    for path in texts:
        print(f"wrote {path}")
    return 0
