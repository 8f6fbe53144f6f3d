"""`bench compare OLD NEW`: per matching case, the change of the median and a Mann-Whitney U test on
the raw samples (bench.analysis.compare); a table, a plot, and an exit status for CI: 1 when some case got
significantly slower by more than --fail-above."""

from __future__ import annotations

from pathlib import Path

from bench.cli.options import add_parser
from bench.errors import MeasurementError, UsageError
from bench.files import check_output_dir, output_dir, replacing
from bench.measure.results import load_samples


def register(sub) -> None:
    p = add_parser(sub, "compare", "compare two results directories case by case (U test on raw samples)",
                   "bench compare tables/before tables/after --fail-above 10",
                   "Exit 1 when a case got significantly slower by more than --fail-above percent, for CI.")
    p.add_argument("old", help="the baseline results directory")
    p.add_argument("new", help="the results directory to judge")
    p.add_argument("--stage", default="total", choices=("total", "input", "gemm", "output"),
                   help="which time to compare (default: total)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level of the U test (default 0.05)")
    p.add_argument("--min-change", type=float, default=5.0,
                   help="smallest change of the median, in %%, that counts as changed (default 5)")
    p.add_argument("--fail-above", type=float, default=10.0,
                   help="exit 1 when a case got significantly slower by more than this many %% (default 10)")
    p.add_argument("--out", help="where compare.csv and the plot go (default: NEW/compare)")
    p.set_defaults(func=_compare)


def _check(args) -> None:
    if not 0 < args.alpha < 1:
        raise UsageError(f"bad --alpha {args.alpha}; accepted: a number between 0 and 1 (exclusive)")
    for flag, value in (("--min-change", args.min_change), ("--fail-above", args.fail_above)):
        if not 0 <= value < 1000:
            raise UsageError(f"bad {flag} {value}; accepted: a percentage from 0 to 1000")
    check_output_dir(args.out)


def _compare(args) -> int:
    from bench.analysis.compare import compare, format_table, summary_line  # pandas: only when comparing

    _check(args)
    old, new = load_samples(args.old, f"{args.stage}_ms"), load_samples(args.new, f"{args.stage}_ms")
    for name, df in ((args.old, old), (args.new, new)):
        if df.empty:
            raise UsageError(f"{name} has no successful measurements with raw samples to compare")
    cmp = compare(old, new, stage=f"{args.stage}_ms", alpha=args.alpha, min_change=args.min_change / 100,
                  fail_above=args.fail_above / 100)
    if cmp.empty:
        raise UsageError(f"{args.old} and {args.new} have no case in common (same board, core, threads, "
                         "bits, algo, transform and layer)")
    out = output_dir(Path(args.out) if args.out else Path(args.new) / "compare")
    with replacing(out / "compare.csv") as tmp:
        cmp.to_csv(tmp, index=False)
    from bench.analysis.plots import compare_plot  # matplotlib is slow to import: only now

    print(format_table(cmp))
    print(summary_line(cmp))
    for p in [out / "compare.csv", *compare_plot(cmp, out, args.min_change / 100)]:
        print(f"wrote {p}")
    if cmp["few_reps"].any():
        print(f"warning: {int(cmp['few_reps'].sum())} case(s) have fewer than 9 samples on a side (too few "
              "repetitions, or samples a full disk dropped): the U test cannot find small changes there "
              "(measure with --reps 9 or more)")
    if cmp["slower"].any():
        raise MeasurementError(f"{int(cmp['slower'].sum())} case(s) got significantly slower by more than "
                               f"{args.fail_above:g}%")
    return 0
