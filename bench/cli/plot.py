"""`bench plot RESULTS`: breakdown, speedup and latency-vs-error figures (PNG and SVG)."""

from __future__ import annotations

from pathlib import Path

from bench.cli.options import add_parser
from bench.errors import UsageError
from bench.files import check_output_dir, output_dir
from bench.measure.results import RAW_NAME, ResultsDir, load_peaks


def register(sub) -> None:
    p = add_parser(sub, "plot", "stacked stage bars, speedup heatmap, latency vs error and roofline (PNG + SVG)",
                   "bench plot tables/latest --out figures")
    p.add_argument("results", help="a results directory (or its latency.csv)")
    p.add_argument("--out", help="output directory (default: RESULTS/plots)")
    p.set_defaults(func=_plot)


def _plot(args) -> int:
    from bench.analysis.plots import all_plots, roofline  # matplotlib is slow to import: only when plotting

    check_output_dir(args.out)
    results = ResultsDir.load(args.results)
    df = results.dataframe()
    if not (df["status"] == "ok").any():
        raise UsageError(f"{results.path} has no successful measurements to plot")
    out = output_dir(Path(args.out) if args.out is not None else results.path / "plots")  # checked before plotting
    paths = all_plots(df, out)
    paths += roofline(df, load_peaks(results.path), out) if (results.path / RAW_NAME).exists() else []
    for p in paths:
        print(f"wrote {p}")
    return 0
