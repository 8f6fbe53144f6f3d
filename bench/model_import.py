"""Networks read from models: an ONNX file (torch.onnx.export, or any exporter) as a bench.layers
Network, the format `bench run --layers` and `bench network --layers` read.

Shapes come from ONNX's own shape inference, with batch 1 (a symbolic batch dimension is fixed to 1;
other symbolic dimensions need `input_hw`). Every Conv becomes a layer with its input H x W x Cin,
Cout, kernel, stride and padding, repeated shapes counted once with their count
(bench.layers.merge_repeats). A Conv no kernel implements (grouped or depthwise, dilated, a
non-square kernel or stride, uneven padding) and every other operation (pooling, additions, the
classifier, ...) go into `not_measured`, one entry per kind, with their multiply-accumulates (for
operations without multiplications: one per element read, so pooling and additions show their
share of the work).

Needs the `onnx` package (`pip install 'winobench[onnx]'`): without it, a MeasurementError (exit
1) says so.
"""

from __future__ import annotations

from pathlib import Path

from bench.errors import MeasurementError, UsageError
from bench.layers import Layer, Network, merge_repeats, unsupported

ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
               "BatchNormalization", "Sum", "Max", "Min", "LeakyRelu", "PRelu", "Softmax"}
FREE = {"Flatten", "Reshape", "Identity", "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat",
        "Transpose", "Cast", "Dropout"}


def _onnx():
    try:
        import onnx
    except ImportError:
        raise MeasurementError("reading ONNX models needs the onnx package: pip install 'winobench[onnx]'") from None
    return onnx


def read_onnx(path, input_hw: tuple[int, int] | None = None) -> Network:
    """The network of an ONNX model file; UsageError naming the file and what is wrong."""
    onnx = _onnx()
    path = Path(path)
    try:
        model = onnx.load(str(path))
    except FileNotFoundError:
        raise UsageError(f"ONNX model {str(path)!r} not found") from None
    except Exception as e:   # a protobuf decode error: not an ONNX file
        raise UsageError(f"{path} is not an ONNX model ({type(e).__name__})") from None
    _fix_inputs(model, input_hw, path)
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as e:
        raise UsageError(f"{path}: ONNX shape inference failed: {str(e).splitlines()[0][:200]}") from None
    shapes, weights = _shapes(model), {t.name: list(t.dims) for t in model.graph.initializer}
    layers, other = [], {}
    for i, node in enumerate(model.graph.node):
        layer = _conv_layer(node, i, shapes, weights, path) if node.op_type == "Conv" else None
        if layer is not None and unsupported(layer) is None:
            layers.append(layer)
            continue
        kind = _kind(node, layer)
        if kind:
            other[kind] = other.get(kind, 0) + _macs(node, layer, shapes, weights)
    if not layers:
        raise UsageError(f"{path}: no convolution a kernel implements (k 1, 3, 5, 7, stride 1 or 2, groups 1)")
    return Network(path.stem, tuple(merge_repeats(layers)), tuple({"op": k, "macs": int(v)} for k, v in other.items()))


def _fix_inputs(model, input_hw, path: Path) -> None:
    """Batch 1 and, when given, the input's H x W; UsageError for a symbolic dimension left."""
    constants = {t.name for t in model.graph.initializer}
    for inp in model.graph.input:
        if inp.name in constants:
            continue
        dims = inp.type.tensor_type.shape.dim
        for j, d in enumerate(dims):
            if j == 0 and not d.dim_value:
                d.dim_value = 1
            elif input_hw and len(dims) == 4 and j in (2, 3):
                d.dim_value = input_hw[j - 2]
            elif not d.dim_value:
                raise UsageError(f"{path}: input {inp.name!r} has a symbolic dimension {d.dim_param or j!r}; "
                                 f"give the input size (--input-size HxW)")


def _shapes(model) -> dict[str, list[int]]:
    g = model.graph
    out = {}
    for v in (*g.input, *g.value_info, *g.output):
        dims = v.type.tensor_type.shape.dim
        out[v.name] = [int(d.dim_value) for d in dims]
    return out


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _conv_layer(node, i: int, shapes: dict, weights: dict, path: Path) -> Layer | None:
    """The Conv as a Layer (its groups and dilation kept, so that `unsupported` names them), or None
    for a shape the Layer format cannot hold (non-square, uneven padding)."""
    x, wshape = shapes.get(node.input[0]), weights.get(node.input[1]) or shapes.get(node.input[1])
    if not x or not wshape or len(x) != 4:
        raise UsageError(f"{path}: Conv {node.name or i!r}: input or weight shape unknown after inference")
    a = _attrs(node)
    kh, kw = a.get("kernel_shape", wshape[2:4])
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pads = _pads(a, x[2:4], (kh, kw), (sh, sw), (dh, dw))
    if kh != kw or sh != sw or dh != dw or len(set(pads)) != 1:
        return None
    return Layer(x[2], x[3], x[1], wshape[0], name=node.name or node.output[0], k=kh, stride=sh, pad=pads[0],
                 groups=a.get("group", 1), dilation=dh)


def _pads(a: dict, hw, k, s, d) -> list[int]:
    """[top, left, bottom, right] of explicit pads or of auto_pad SAME_UPPER/SAME_LOWER."""
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("NOTSET", ""):
        return list(a.get("pads", [0, 0, 0, 0]))
    if auto == "VALID":
        return [0, 0, 0, 0]
    total = [max(0, (-(-n // st) - 1) * st + (kk - 1) * dd + 1 - n) for n, kk, st, dd in zip(hw, k, s, d)]
    small, big = [t // 2 for t in total], [t - t // 2 for t in total]
    first, last = (small, big) if auto == "SAME_UPPER" else (big, small)
    return [first[0], first[1], last[0], last[1]]


def _kind(node, layer: Layer | None) -> str | None:
    """How not_measured names an operation (None: free, a view or a constant)."""
    if node.op_type == "Conv":
        if layer is None:
            return "Conv (non-square or uneven padding)"
        return f"Conv ({'grouped' if layer.groups > 1 else 'dilated' if layer.dilation > 1 else 'filter'}: no kernel)"
    return None if node.op_type in FREE else node.op_type


def _macs(node, layer: Layer | None, shapes: dict, weights: dict) -> int:
    """Multiply-accumulates of an operation (one per element read where it has no multiplication)."""
    out = shapes.get(node.output[0]) or []
    n_out = _count(out)
    if node.op_type == "Conv":
        w = weights.get(node.input[1]) or shapes.get(node.input[1]) or []
        return n_out * _count(w[1:])   # each output: Cin/groups x kh x kw products
    if node.op_type in ("Gemm", "MatMul"):
        a = shapes.get(node.input[0]) or []
        return n_out * (a[-1] if a else 0)
    if node.op_type in ("MaxPool", "AveragePool"):
        return n_out * _count(_attrs(node).get("kernel_shape", [1]))
    if node.op_type.startswith("Global"):
        return _count(shapes.get(node.input[0]) or [])
    return n_out if node.op_type in ELEMENTWISE or out else 0


def _count(dims) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n if dims else 0
