#!/usr/bin/env python3
"""wb-engine-runner: production engines' convolutions (ncnn, ONNX Runtime, LiteRT with XNNPACK)
measured on the board, speaking the records of the C runner (kernels_c/RUNNER.md): an `info` line,
then one `case` line per input line, errors as values. Standard library, numpy and the engines'
wheels only; `--path DIR` (repeatable) puts where the wheels were unpacked first on sys.path.

    wb-engine-runner [--cpus LIST] [--threads N] [--seed S] [--min-time-ms T] [--min-reps N]
                     [--warmup N] [--peak] [--verify] [--path DIR] [--cases FILE]
    engine=ncnn algo=winograd bits=8 h=32 w=32 cin=64 cout=64 [reps=20] [id=...]

The data are the C runner's (splitmix64 Gaussian, seeds S and S + 1): x NHWC, weights HWIO. Every
case is checked against a float64 direct convolution of that data (the `error` object). Timed: the
engine's convolution only; layout conversion, quantization of x for engines taking int8 input,
dequantization of an int8 output and weight packing (reported as `weight_transform_ms`) are not.
--peak and --verify are accepted for the C runner's command line; there is no peak line.
"""

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time

RUNNER_VERSION = 1
# The engines' variants per bit width, as the host names them (bench.operators.ENGINE_VARIANTS).
VARIANTS = {"ncnn": {32: ("winograd", "direct"), 8: ("winograd", "direct")},
            "onnxruntime": {32: ("conv",), 8: ("qlinearconv",)}, "litert": {32: ("xnnpack",), 8: ("xnnpack",)}}
DISTRIBUTIONS = {"ncnn": "ncnn", "onnxruntime": "onnxruntime", "litert": "ai-edge-litert"}
MODULES = {"ncnn": "ncnn", "onnxruntime": "onnxruntime", "litert": "ai_edge_litert.interpreter"}
LIMITS = {"h": 4096, "w": 4096, "cin": 8192, "cout": 8192}

np = None   # numpy, imported in main() so that a board without it gets one clear line


# ---------------------------------------------------------------------------------------------
# Data and reference

def gaussian(shape, seed):
    """The C runner's wb_fill_gaussian, vectorized: 12 splitmix64 draws per value summed in order
    in double, minus 6, rounded to float32 (the same bytes as every build of the kernels)."""
    n = int(np.prod(shape))
    with np.errstate(over="ignore"):
        k = np.arange(1, 12 * n + 1, dtype=np.uint64)
        z = np.uint64(seed) + k * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = ((z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53).reshape(n, 12)
    s = u[:, 0].copy()
    for i in range(1, 12):
        s += u[:, i]
    return (s - 6.0).astype(np.float32).reshape(shape)


def reference(x, w):
    """float64 direct 3x3 convolution, stride 1, padding 1: NHWC x, HWIO w -> NHWC."""
    _, h, wd, _ = x.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((1, h, wd, w.shape[3]))
    for dy in range(3):
        for dx in range(3):
            out += xp[:, dy:dy + h, dx:dx + wd, :] @ w[dy, dx].astype(np.float64)
    return out


def error_metrics(out, ref):
    noise = np.sum((out.astype(np.float64) - ref) ** 2)
    signal = np.sum(ref ** 2)
    sqnr = None if noise == 0 else float(10 * math.log10(signal / noise))
    return {"sqnr_db": sqnr, "max_abs": float(np.max(np.abs(out - ref))),
            "rel_l2": float(math.sqrt(noise / signal)) if signal else None}


def quant_scale(a, axis=None):
    """Symmetric int8 scale(s) (float value per int8 step) of `a`, per tensor or along `axis`."""
    amax = np.max(np.abs(a)) if axis is None else np.max(np.abs(a), axis=axis)
    return np.maximum(np.asarray(amax, dtype=np.float64), 1e-30) / 127.0


def quantize(a, scale):
    return np.clip(np.rint(a / scale), -127, 127).astype(np.int8)


# ---------------------------------------------------------------------------------------------
# ncnn: a one-layer param/bin pair, loaded once (weight packing in create_pipeline, untimed)

def ncnn_conv(case, x, w, ref, work):
    import ncnn

    cin, cout = w.shape[2], w.shape[3]
    int8 = case["bits"] == 8
    oihw = np.ascontiguousarray(w.transpose(3, 2, 0, 1))
    param = ("7767517\n2 2\nInput in0 0 1 in0\n"
             f"Convolution conv 1 1 in0 out0 0={cout} 1=3 3=1 4=1 5=0 6={oihw.size} 8={1 if int8 else 0}\n")
    if int8:   # ncnn's scales multiply: int8 = round(value * scale)
        ws = 1.0 / quant_scale(oihw.reshape(cout, -1), axis=1)
        q = quantize(oihw.reshape(cout, -1) * ws[:, None], 1.0)
        blob = (np.uint32(0x000D4B38).tobytes() + q.tobytes() + b"\0" * (-q.size % 4)
                + ws.astype(np.float32).tobytes() + np.float32(1.0 / quant_scale(x)).tobytes())
    else:
        blob = np.uint32(0).tobytes() + oihw.tobytes()
    with open(os.path.join(work, "conv.param"), "w") as f:
        f.write(param)
    with open(os.path.join(work, "conv.bin"), "wb") as f:
        f.write(blob)
    net = ncnn.Net()
    opt = net.opt
    opt.num_threads, opt.lightmode = case["threads"], True
    opt.use_winograd_convolution = case["algo"] == "winograd"
    opt.use_int8_inference = int8
    for flag in ("use_fp16_storage", "use_fp16_packed", "use_fp16_arithmetic", "use_bf16_storage", "use_vulkan_compute"):
        setattr(opt, flag, False)
    if net.load_param(os.path.join(work, "conv.param")) or net.load_model(os.path.join(work, "conv.bin")):
        raise RuntimeError("ncnn could not load the one-layer model")
    chw = np.ascontiguousarray(x[0].transpose(2, 0, 1))
    mat = ncnn.Mat(chw)   # a view of chw's memory: kept alive with it below
    holder = {}

    def run():
        ex = net.create_extractor()
        ex.input("in0", mat)
        holder["out"] = ex.extract("out0")[1]

    def result():
        return np.array(holder["out"]).reshape(cout, x.shape[1], x.shape[2]).transpose(1, 2, 0)[None]
    return run, result, (net, mat, chw)


# ---------------------------------------------------------------------------------------------
# ONNX Runtime: a one-node ONNX model written with a minimal protobuf encoder (no onnx package)

def _varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(num, value):
    """One protobuf field: int -> varint, bytes/str -> length-delimited."""
    if isinstance(value, int):
        return _varint(num << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(num << 3 | 2) + _varint(len(data)) + data


ONNX_TYPES = {"float32": 1, "uint8": 2, "int8": 3, "int32": 6}


def _tensor(name, a):
    dtype = ONNX_TYPES[a.dtype.name]
    return b"".join(_field(1, d) for d in a.shape) + _field(2, dtype) + _field(8, name) + _field(9, a.tobytes())


def _value_info(name, elem_type, shape):
    dims = b"".join(_field(1, _field(1, d)) for d in shape)
    return _field(1, name) + _field(2, _field(1, _field(1, elem_type) + _field(2, dims)))


def _ints_attr(name, values):
    return _field(1, name) + _field(20, 7) + b"".join(_field(8, v) for v in values)


def onnx_model(op, inputs, initializers, out_type, shapes):
    """ModelProto bytes of one `op` node: `inputs` the node's input names in order, `initializers`
    {name: array}, graph input x (shapes[0]) and output y (shapes[1])."""
    attrs = b"".join(_field(5, a) for a in (_ints_attr("kernel_shape", (3, 3)), _ints_attr("pads", (1, 1, 1, 1)),
                                            _ints_attr("strides", (1, 1))))
    node = b"".join(_field(1, i) for i in inputs) + _field(2, "y") + _field(3, "conv") + _field(4, op) + attrs
    x_type = 3 if op == "QLinearConv" else 1
    graph = (_field(1, node) + _field(2, "g") + b"".join(_field(5, _tensor(k, v)) for k, v in initializers.items())
             + _field(11, _value_info("x", x_type, shapes[0])) + _field(12, _value_info("y", out_type, shapes[1])))
    return _field(1, 8) + _field(8, _field(1, "") + _field(2, 13)) + _field(7, graph)


def ort_conv(case, x, w, ref, work):
    import onnxruntime as ort

    h, wd, cin, cout = x.shape[1], x.shape[2], w.shape[2], w.shape[3]
    oihw = np.ascontiguousarray(w.transpose(3, 2, 0, 1))
    xin = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    shapes = ((1, cin, h, wd), (1, cout, h, wd))
    if case["bits"] == 8:
        sx, sw, sy = quant_scale(x), quant_scale(oihw.reshape(cout, -1), axis=1), quant_scale(ref)
        inits = {"xs": np.array(sx, np.float32), "xz": np.array(0, np.int8), "W": quantize(oihw, sw[:, None, None, None]),
                 "ws": sw.astype(np.float32), "wz": np.zeros(cout, np.int8), "ys": np.array(sy, np.float32),
                 "yz": np.array(0, np.int8)}
        model = onnx_model("QLinearConv", ["x", "xs", "xz", "W", "ws", "wz", "ys", "yz"], inits, 3, shapes)
        xin, dequant = quantize(xin, sx), lambda y: y.astype(np.float64) * sy
    else:
        model = onnx_model("Conv", ["x", "W"], {"W": oihw}, 1, shapes)
        dequant = lambda y: y
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = case["threads"], 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    feed, holder = {"x": xin}, {}

    def run():
        holder["out"] = sess.run(None, feed)[0]

    def result():
        return dequant(holder["out"]).transpose(0, 2, 3, 1)
    return run, result, sess


# ---------------------------------------------------------------------------------------------
# LiteRT: a one-op .tflite written with the schema shipped in its wheel; XNNPACK is its default delegate

def _tfl_tensor(schema, name, shape, ttype, buffer, scale=None, axis=0):
    t = schema.TensorT()
    t.name, t.shape, t.type, t.buffer = name, list(shape), ttype, buffer
    if scale is not None:
        q = schema.QuantizationParametersT()
        q.scale = [float(s) for s in np.atleast_1d(scale)]
        q.zeroPoint = [0] * len(q.scale)
        q.quantizedDimension = axis
        t.quantization = q
    return t


def tflite_model(schema, x_shape, filt, bias, scales):
    """A .tflite holding one CONV_2D (SAME padding, stride 1): `filt` OHWI, `bias` and `scales`
    (x, filter, bias, y; None for fp32)."""
    import flatbuffers

    int8 = scales is not None
    tt = schema.TensorType
    f_t, b_t = (tt.INT8, tt.INT32) if int8 else (tt.FLOAT32, tt.FLOAT32)
    io_t = tt.INT8 if int8 else tt.FLOAT32
    s = scales or (None,) * 4
    y_shape = (*x_shape[:3], filt.shape[0])
    sg = schema.SubGraphT()
    sg.tensors = [_tfl_tensor(schema, b"x", x_shape, io_t, 0, s[0]), _tfl_tensor(schema, b"f", filt.shape, f_t, 1, s[1]),
                  _tfl_tensor(schema, b"b", bias.shape, b_t, 2, s[2]), _tfl_tensor(schema, b"y", y_shape, io_t, 0, s[3])]
    sg.inputs, sg.outputs = [0], [3]
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0, 1, 2], [3]
    op.builtinOptionsType = schema.BuiltinOptions.Conv2DOptions
    op.builtinOptions = schema.Conv2DOptionsT()
    op.builtinOptions.padding, op.builtinOptions.strideW, op.builtinOptions.strideH = schema.Padding.SAME, 1, 1
    sg.operators = [op]
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CONV_2D
    code.version = 3 if int8 else 1
    buffers = [schema.BufferT() for _ in range(3)]
    buffers[1].data, buffers[2].data = filt.tobytes(), bias.tobytes()
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs, model.buffers = 3, [code], [sg], buffers
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def litert_conv(case, x, w, ref, work):
    from ai_edge_litert import interpreter as tfl
    from ai_edge_litert import schema_py_generated as schema

    cout = w.shape[3]
    ohwi = np.ascontiguousarray(w.transpose(3, 0, 1, 2))
    if case["bits"] == 8:
        sx, sw, sy = quant_scale(x), quant_scale(ohwi.reshape(cout, -1), axis=1), quant_scale(ref)
        model = tflite_model(schema, x.shape, quantize(ohwi, sw[:, None, None, None]), np.zeros(cout, np.int32),
                             (sx, sw, sx * sw, sy))
        xin, dequant = quantize(x, sx), lambda y: y.astype(np.float64) * sy
    else:
        model = tflite_model(schema, x.shape, ohwi, np.zeros(cout, np.float32), None)
        xin, dequant = x, lambda y: y
    it = tfl.Interpreter(model_content=model, num_threads=case["threads"])
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], xin)   # once: invoke() reads it every time
    out_index = it.get_output_details()[0]["index"]

    def result():
        return dequant(it.get_tensor(out_index))
    return it.invoke, result, it


BUILDERS = {"ncnn": ncnn_conv, "onnxruntime": ort_conv, "litert": litert_conv}


# ---------------------------------------------------------------------------------------------
# Measurement and records

def stats(samples):
    s = sorted(samples)
    n = len(s)

    def q(p):
        return s[min(n - 1, int(p * (n - 1) + 0.5))]
    med = (s[(n - 1) // 2] + s[n // 2]) / 2
    mad = sorted(abs(v - med) for v in s)
    return {"median": med, "mean": sum(s) / n, "min": s[0], "p10": q(0.10), "p90": q(0.90),
            "mad": (mad[(n - 1) // 2] + mad[n // 2]) / 2, "samples": samples}


def timed(run, args, min_reps):
    for _ in range(args.warmup):
        run()
    samples, start = [], time.perf_counter()
    while len(samples) < min_reps or (time.perf_counter() - start) * 1e3 < args.min_time_ms:
        t0 = time.perf_counter()
        run()
        samples.append((time.perf_counter() - t0) * 1e3)
        if len(samples) >= 100000:
            break
    return samples


def parse_case(text):
    """A case line -> dict; ValueError naming the bad token and what is accepted."""
    case = {}
    for token in text.split():
        key, sep, value = token.partition("=")
        if not sep:
            raise ValueError(f"bad token {token!r}; expected key=value")
        case[key] = value
    engine = case.get("engine")
    if engine not in VARIANTS:
        raise ValueError(f"bad engine {engine!r}; accepted: {', '.join(VARIANTS)}")
    for key in ("bits", "h", "w", "cin", "cout", "reps"):
        if key in case:
            if not case[key].isdigit():
                raise ValueError(f"bad {key} {case[key]!r}; expected a positive integer")
            case[key] = int(case[key])
    if case.get("bits") not in (8, 32):
        raise ValueError(f"bad bits {case.get('bits')!r}; accepted: 8, 32")
    accepted = VARIANTS[engine][case["bits"]]
    if case.get("algo") not in accepted:
        raise ValueError(f"bad algo {case.get('algo')!r} for {engine} at {case['bits']} bits; accepted: {', '.join(accepted)}")
    for key, high in LIMITS.items():
        if not 1 <= case.get(key, 0) <= high:
            raise ValueError(f"bad {key} {case.get(key)!r}; accepted: 1 to {high}")
    return case


def engine_version(engine):
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTIONS[engine])
    except metadata.PackageNotFoundError:
        return None


_MISSING = {}


def missing_engine(engine):
    """None when the engine imports, else the one line saying what to install (tried once)."""
    import importlib

    if engine in _MISSING:
        return _MISSING[engine]
    _MISSING[engine] = None
    try:
        importlib.import_module(MODULES[engine])
    except Exception as e:   # ImportError, or a wheel that does not load here (ABI, numpy version)
        _MISSING[engine] = (f"{engine} does not load with {sys.executable} {platform.python_version()} "
                            f"({type(e).__name__}: {' '.join(str(e).split())[:200]}); install it: pip install {DISTRIBUTIONS[engine]}")
    return _MISSING[engine]


def measure(case, args, work):
    """One case -> its record fields (status ok)."""
    x = gaussian((1, case["h"], case["w"], case["cin"]), args.seed)
    w = gaussian((3, 3, case["cin"], case["cout"]), args.seed + 1)
    ref = reference(x, w)
    t0 = time.perf_counter()
    run, result, keep = BUILDERS[case["engine"]](case, x, w, ref, work)
    prepare_ms = (time.perf_counter() - t0) * 1e3
    samples = timed(run, args, case.get("reps", args.min_reps))
    out = result()
    if out.shape != ref.shape:
        raise RuntimeError(f"output shape {out.shape}, expected {ref.shape}")
    del keep
    return {"status": "ok", "reps": len(samples), "weight_transform_ms": prepare_ms, "total_ms": stats(samples),
            "error": error_metrics(out, ref), "engine_version": engine_version(case["engine"])}


def run_case(n, text, args, work):
    base = {"type": "case", "line": n}
    try:
        case = parse_case(text)
    except ValueError as e:
        return {**base, "status": "error", "error_kind": "bad_case", "message": str(e)}
    case["threads"] = args.threads
    keys = {k: case[k] for k in ("id", "engine", "algo", "bits", "h", "w", "cin", "cout") if k in case}
    base.update(keys, transform="none", scheme="none", cpus=args.cpus, threads=args.threads)
    why = missing_engine(case["engine"])
    if why:
        return {**base, "status": "error", "error_kind": "unsupported", "message": why}
    try:
        return {**base, **measure(case, args, work)}
    except MemoryError:
        return {**base, "status": "error", "error_kind": "runtime", "message": "out of memory"}
    except Exception as e:   # an engine refusing the model is this case's error, not the runner's end
        return {**base, "status": "error", "error_kind": "runtime",
                "message": " ".join(f"{type(e).__name__}: {e}".split())[:400]}


def cpu_list(text):
    cpus = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        cpus += range(int(lo), int(hi or lo) + 1)
    return cpus


def parse_args(argv):
    p = argparse.ArgumentParser(prog="wb-engine-runner")
    p.add_argument("--cpus", type=cpu_list)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--min-time-ms", type=float, default=200.0)
    p.add_argument("--min-reps", type=int, default=10)
    p.add_argument("--max-reps", type=int, default=100000)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--peak", action="store_true")
    p.add_argument("--verify", action="store_true")
    p.add_argument("--path", action="append", default=[])
    p.add_argument("--cases", default="-")
    args = p.parse_args(argv)
    if args.threads < 1 or (args.cpus and args.threads > len(args.cpus)):
        p.error(f"bad --threads {args.threads}; accepted: 1 to {len(args.cpus or [1])}")
    return args


def info(args):
    return {"type": "info", "runner_version": RUNNER_VERSION, "runner": "wb-engine-runner",
            "arch": platform.machine(), "python": platform.python_version(), "numpy": np.__version__,
            "engines": {e: engine_version(e) for e in VARIANTS}, "cpus": args.cpus, "threads": args.threads,
            "seed": args.seed, "verify": True}


def main(argv):
    global np
    args = parse_args(argv)
    sys.path[:0] = args.path
    if args.cpus:
        os.sched_setaffinity(0, args.cpus)   # first: everything after, engine threads included, stays there
    args.cpus = sorted(os.sched_getaffinity(0))
    try:
        import numpy
    except ImportError:
        print(f"wb-engine-runner: numpy is missing for {sys.executable}; install it (e.g. apt-get install "
              f"python3-numpy, or pip install numpy)", file=sys.stderr)
        return 3
    np = numpy
    with (sys.stdin if args.cases == "-" else open(args.cases, encoding="utf-8")) as f:
        lines = [t for t in (raw.split("#", 1)[0].strip() for raw in f) if t]
    for engine in VARIANTS:   # loaded before the info line: the host allows start-up time for it
        if any(f"engine={engine} " in f"{t} " for t in lines):
            missing_engine(engine)
    emit(info(args))
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory(prefix="engine-", dir=here if os.access(here, os.W_OK) else None) as work:
        for n, text in enumerate(lines, start=1):
            emit(run_case(n, text, args, work))
    return 0


def emit(record):
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
