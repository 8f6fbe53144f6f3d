"""`bench network RESULTS`: whole-network latency (bench.analysis.network) per (board, core, threads): a
table, network.csv and a stacked-bar plot."""

from __future__ import annotations

from pathlib import Path

from bench.cli.options import add_parser
from bench.analysis.lut import build_lut, fit_predictors
from bench.analysis.network import format_table, load_assignment, luts_from_rows, network_rows
from bench.errors import UsageError
from bench.files import check_output_dir, output_dir, replacing
from bench.layers import load_layers, preset_layers
from bench.measure.results import ResultsDir


def register(sub) -> None:
    p = add_parser(sub, "network", "whole-network latency and stage breakdown from a results directory",
                   "bench network tables/latest --preset resnet18-cifar --width 0.5 --assign f4-static-int8",
                   "Sums count x median over a network's layers for each operator, the fastest per layer, or "
                   "an assignment file; writes network.csv and network.png.")
    p.add_argument("results", help="a results directory (or its latency.csv)")
    p.add_argument("--preset", help="resnet18-cifar (with --width) or quick (default: resnet18-cifar)")
    p.add_argument("--width", type=float, default=1.0, help="resnet18-cifar width: 0.5 or 1.0 (default 1.0)")
    p.add_argument("--layers", help="a JSON/TOML file of layers with counts instead of a preset")
    p.add_argument("--assign", help="an operator key used everywhere (e.g. f4-static-int8) or a JSON/TOML "
                                    "file mapping layers to operators (default: each operator, and the fastest per layer)")
    p.add_argument("--predict", action="store_true", help="predict layers missing from the table (bench lut's models)")
    p.add_argument("--out", help="where network.csv and the plot go (default: RESULTS/network)")
    p.set_defaults(func=_network)


def _layers(args):
    if args.layers is not None and args.preset:
        raise UsageError("give either --preset or --layers, not both")
    if args.layers is not None:
        if args.width != 1.0:
            raise UsageError("--width applies to the resnet18-cifar preset, not to --layers")
        return load_layers(args.layers)
    if args.width != 1.0 and args.preset not in (None, "resnet18-cifar"):
        raise UsageError("--width applies to the resnet18-cifar preset only")
    if args.preset not in (None, "resnet18-cifar", "quick"):
        raise UsageError(f"unknown network preset {args.preset!r}; accepted: resnet18-cifar, quick")
    return preset_layers(args.preset or "resnet18-cifar", args.width)


def _network(args) -> int:
    import pandas as pd

    check_output_dir(args.out)
    layers = _layers(args)
    assign = load_assignment(args.assign) if args.assign is not None else None
    results = ResultsDir.load(args.results)
    rows = build_lut(results.dataframe())
    if not rows:
        raise UsageError(f"{results.path} has no successful non-emulated measurements")
    luts = luts_from_rows(rows, fit_predictors(rows) if args.predict else None)
    table = [r for lut in luts for r in network_rows(lut, layers, assign, predict=args.predict)]
    print(format_table(table, layers))
    out = output_dir(Path(args.out) if args.out else results.path / "network")
    with replacing(out / "network.csv") as tmp:
        pd.DataFrame(table).to_csv(tmp, index=False)
    from bench.analysis.plots import network_plot  # matplotlib is slow to import: only now

    for p in [out / "network.csv", *network_plot(pd.DataFrame(table), out)]:
        print(f"wrote {p}")
    return 0
