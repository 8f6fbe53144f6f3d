"""`bench network RESULTS`: whole-network latency (bench.analysis.network) per (board, core, threads): a
table, network.csv, network_layers.csv (the operator per layer) and a stacked-bar plot."""

from __future__ import annotations

from pathlib import Path

from bench.cli.import_onnx import add_input_size, input_hw
from bench.cli.options import add_parser, derived_dir
from bench.analysis.lut import build_lut, fit_predictors
from bench.analysis.network import (FASTEST, format_layers, format_table, layer_rows, layers_from_table, load_assignment,
                                    luts_from_rows, network_rows)
from bench.errors import UsageError
from bench.files import check_output_dir, output_dir, replacing
from bench.layers import NETWORK_PRESETS, Network, load_network, preset_network
from bench.measure.results import ResultsDir
from bench.model_import import read_onnx

PRESETS = ("resnet18-cifar", "quick", *NETWORK_PRESETS)


def register(sub) -> None:
    p = add_parser(sub, "network", "whole-network latency and stage breakdown from a results directory",
                   "bench network tables/latest --preset resnet18-cifar-full --width 0.5",
                   "Sums count x median over a network's convolutions for each operator (Winograd on the 3x3 "
                   "stride-1 layers, im2row at the same precision on the others), the fastest per layer, or an "
                   "assignment file; prints the operator per layer; writes network.csv, network_layers.csv "
                   "and network.png. Without --preset or --layers: the layers the table measured, with their counts.")
    p.add_argument("results", help="a results directory (or its latency.csv)")
    p.add_argument("--preset", help=f"{', '.join(PRESETS)} (resnet18-cifar* with --width; default: the table's layers)")
    p.add_argument("--width", type=float, default=1.0, help="resnet18-cifar width: 0.5 or 1.0 (default 1.0)")
    p.add_argument("--layers", help="a network file (JSON/TOML: layers with counts, README \"Network files\")")
    p.add_argument("--onnx", metavar="MODEL", help="the network of an ONNX model (as bench import-onnx reads it)")
    add_input_size(p)
    p.add_argument("--assign", help="an operator key used everywhere it applies (e.g. f4-static-int8) or a JSON/TOML "
                                    "file mapping layers to operators (default: each operator, and the fastest per layer)")
    p.add_argument("--predict", action="store_true", help="predict layers missing from the table (bench lut's models)")
    p.add_argument("--out", help="where the CSV files and the plot go (default: tables/derived/NAME/network; never into RESULTS unless given)")
    p.set_defaults(func=_network_cmd)


def _network(args, results) -> Network:
    """The network to sum: a preset, a network file, or the layers of the table itself."""
    if sum(x is not None for x in (args.layers, args.preset, args.onnx)) > 1:
        raise UsageError("give one of --preset, --layers and --onnx")
    if args.input_size is not None and args.onnx is None:
        raise UsageError("--input-size goes with --onnx")
    if args.onnx is not None:
        return read_onnx(args.onnx, input_hw(args.input_size))
    if args.width != 1.0 and not (args.preset or "").startswith("resnet18-cifar"):
        raise UsageError("--width applies to the resnet18-cifar presets only")
    if args.layers is not None:
        return load_network(args.layers)
    if args.preset is None:
        return Network(results.path.name, tuple(layers_from_table(results.dataframe())))
    if args.preset not in PRESETS:
        raise UsageError(f"unknown network preset {args.preset!r}; accepted: {', '.join(PRESETS)}")
    return preset_network(args.preset, args.width)


def _network_cmd(args) -> int:
    import pandas as pd

    check_output_dir(args.out)
    results = ResultsDir.load(args.results)
    network = _network(args, results)
    layers = list(network.layers)
    assign = load_assignment(args.assign) if args.assign is not None else None
    rows = build_lut(results.dataframe())
    if not rows:
        raise UsageError(f"{results.path} has no successful non-emulated measurements")
    luts = luts_from_rows(rows, fit_predictors(rows) if args.predict else None)
    table = [r for lut in luts for r in network_rows(lut, layers, assign, predict=args.predict)]
    chosen = [r for r in table if r["assignment"] in (FASTEST, "assignment") or assign is not None]
    per_layer = [x for r in chosen for x in layer_rows(r, layers)]
    print(format_table(table, layers, network))
    print(format_layers(per_layer))
    out = output_dir(Path(args.out) if args.out else derived_dir(results.path, kind="network"))
    summary = pd.DataFrame([{k: v for k, v in r.items() if k not in ("choice", "per_layer")} for r in table])
    with replacing(out / "network.csv") as tmp:
        summary.to_csv(tmp, index=False)
    with replacing(out / "network_layers.csv") as tmp:
        pd.DataFrame(per_layer).to_csv(tmp, index=False)
    from bench.analysis.plots import network_plot  # matplotlib is slow to import: only now

    for p in [out / "network.csv", out / "network_layers.csv", *network_plot(summary, out)]:
        print(f"wrote {p}")
    return 0
