"""`bench plot RESULTS`: breakdown, speedup and latency-vs-error figures (PNG and SVG)."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.cli.options import add_parser, derived_dir
from bench.errors import UsageError
from bench.files import check_output_dir, output_dir
from bench.measure.results import RAW_NAME, ResultsDir, load_peaks


def register(sub) -> None:
    p = add_parser(sub, "plot", "stacked stage bars, speedup heatmap, latency vs error and roofline (PNG + SVG)",
                   "bench plot tables/latest --out figures")
    p.add_argument("results", help="a results directory (or its latency.csv)")
    p.add_argument("--out", help="output directory (default: tables/derived/NAME/plots; never into RESULTS unless given)")
    p.add_argument("--min-sqnr", type=float, default=None, metavar="DB",
                   help="leave operators whose SQNR against float64 is below DB out of the speedup heatmap "
                        "(default 20: int8 F4/F6 per tensor, at -13 to -18 dB, are no speedup; -1000 keeps all)")
    p.set_defaults(func=_plot)


def _plot(args) -> int:
    from bench.analysis.plots import DEFAULT_MIN_SQNR_DB, all_plots, roofline  # matplotlib: only when plotting

    min_sqnr = DEFAULT_MIN_SQNR_DB if args.min_sqnr is None else args.min_sqnr
    if not -1000 <= min_sqnr <= 1000:   # NaN fails both
        raise UsageError(f"bad --min-sqnr {args.min_sqnr}; accepted: a number of dB from -1000 to 1000")
    check_output_dir(args.out)
    results = ResultsDir.load(args.results)
    df = results.dataframe()
    if not (df["status"] == "ok").any():
        raise UsageError(f"{results.path} has no successful measurements to plot")
    out = output_dir(Path(args.out) if args.out is not None else derived_dir(results.path, kind="plots"))
    paths = all_plots(df, out, min_sqnr)
    warnings: list[str] = []
    paths += roofline(df, load_peaks(results.path), out, warnings) if (results.path / RAW_NAME).exists() else []
    for p in paths:
        print(f"wrote {p}")
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0
