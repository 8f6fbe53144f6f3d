"""`bench import-onnx MODEL.onnx`: a network file (README "Network files") from an ONNX model: every
convolution a kernel implements with its filter and count, the rest named in `not_measured`."""

from __future__ import annotations

from pathlib import Path

from bench.cli.options import add_parser
from bench.errors import UsageError
from bench.layers import parse_int_list, save_network
from bench.model_import import read_onnx


def register(sub) -> None:
    p = add_parser(sub, "import-onnx", "write a network file from an ONNX model",
                   "bench import-onnx resnet18.onnx --out resnet18.json && bench run --layers resnet18.json",
                   "ONNX shape inference at batch 1 gives each Conv's input size; repeated shapes become one layer "
                   "with a count. Convolutions no kernel implements (grouped, depthwise, dilated, non-square) and "
                   "every other operation are listed in `not_measured` with their multiply-adds. Needs the onnx "
                   "package (pip install 'winobench[onnx]').")
    p.add_argument("model", help="an .onnx file")
    p.add_argument("--out", help="the network file to write (default: MODEL with .json)")
    add_input_size(p)
    p.set_defaults(func=_import)


def add_input_size(p) -> None:
    p.add_argument("--input-size", metavar="HxW", help="the input's height and width where the model leaves them symbolic")


def input_hw(text: str | None) -> tuple[int, int] | None:
    """--input-size 224x224 -> (224, 224); UsageError naming a bad value."""
    if text is None:
        return None
    parts = text.lower().split("x")
    if len(parts) != 2:
        raise UsageError(f"bad --input-size {text!r}; expected HxW, e.g. 224x224")
    h, w = (parse_int_list(v, "--input-size", 1, 4096)[0] for v in parts)
    return h, w


def _import(args) -> int:
    hw = input_hw(args.input_size)
    out = Path(args.out) if args.out else Path(args.model).with_suffix(".json")
    if out.suffix != ".json":
        raise UsageError(f"bad --out {str(out)!r}; a network file is written as .json")
    network = read_onnx(args.model, hw)
    save_network(network, out)
    n = sum(l.count for l in network.layers)
    print(f"{network.name}: {n} convolutions in {len(network.layers)} shapes; not measured: "
          f"{', '.join(op['op'] for op in network.not_measured) or 'nothing'}")
    print(f"wrote {out}")
    return 0
