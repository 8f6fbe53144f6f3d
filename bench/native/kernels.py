"""The C kernels of kernels_c/ from Python: the host build (NEON through SIMDe), loaded with cffi.

The shared library is built on first use by bench.native.build (cached by a hash of sources and
flags) and opened with cffi in ABI mode (`dlopen`); a missing compiler or SIMDe raises
bench.native.build.BuildError naming it. Every call goes through the same kernel registry as the
on-board runner (a build without the int8 sources, WB_BUILD_EXCLUDE=q8*, answers bits=8 with
NotImplementedError). bits=8 returns the dequantized output; conv2d_int8_stages gives the int8
output and intermediates, conv2d_error the error figures.

    y = conv2d(x, w, algo="f4")                         # x NHWC (1,H,W,Cin), w HWIO (3,3,Cin,Cout)
    y = conv2d(x, w7, algo="im2row", stride=2, pad=3)   # im2row: w HWIO (k,k,Cin,Cout), k 1,3,5,7
    y = conv2d(x, w, algo="f6", transform="learned")    # dense kernel, learned-like matrices
    y = conv2d(x, w, algo="f4", transform=cook_toom(4, points=BARABASZ_POINTS[4, 3]))
    y = conv2d(x, w, algo="f4", bits=8, scheme="tap", requant="fp32")   # int8 options: scheme, requant
    y, t = conv2d_timed(x, w, ConvOp("f4"), Timing(reps=10))   # t.total_ms, t.gemm_ms, ... (lists)
"""

from __future__ import annotations

import os
import pathlib
import threading
from dataclasses import dataclass, field

import numpy as np

from bench.native.build import KERNELS, build_hash, build_library
from bench.numerics.matrix_quant import round_half_away
from bench.numerics.reference import conv2d_direct, default_row_scales, error_metrics, out_size, tile_offset
from bench.numerics.winograd import cook_toom, learned_stand_in, load_transform, named_transform, tile_origin_of
from bench.operators import (ALGOS, BITS, BUILTIN_TRANSFORMS, NAMED_TRANSFORMS, NO_REQUANT, REQUANTS, SCHEMES, TILE,
                             TILE_ORIGINS, resolve_requant, resolve_scheme)

# Status codes of kernels_c/include/wb.h.
_BAD_CASE, _BAD_MATRICES, _UNSUPPORTED = 1, 2, 3

_lock = threading.Lock()
_state: dict = {}


def _cdef_text() -> str:
    """wb.h and wb_q8.h without preprocessor lines: cffi's cdef reads plain declarations only."""
    text = "\n".join((KERNELS / "include" / name).read_text() for name in ("wb.h", "wb_q8.h"))
    return "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))


def _lib():
    """(ffi, lib) of the host build, built and loaded once per process."""
    with _lock:
        if "lib" not in _state:
            import cffi

            ffi = cffi.FFI()
            ffi.cdef(_cdef_text())
            path = build_library()
            _state.update(ffi=ffi, lib=ffi.dlopen(str(path)), path=path, hash=build_hash("host"))
        return _state["ffi"], _state["lib"]


def library_info() -> dict:
    """Path and build hash of the loaded host library."""
    _lib()
    return {"path": str(_state["path"]), "build_hash": _state["hash"]}


def gaussian(shape, seed: int) -> np.ndarray:
    """float32 data from the runner's portable generator (RUNNER.md, kernels_c/src/wb_data.c):
    the runner's x is gaussian((1,h,w,cin), seed) and its weights gaussian((3,3,cin,cout), seed+1)."""
    ffi, lib = _lib()
    out = np.empty(int(np.prod(shape)), dtype=np.float32)
    lib.wb_fill_gaussian(ffi.cast("float *", ffi.from_buffer(out)), out.size, seed)
    return out.reshape(shape)


def checksum(y: np.ndarray) -> str:
    """The runner's output checksum: FNV-1a 64 of the float32 bytes, 16 hex digits."""
    ffi, lib = _lib()
    y = np.ascontiguousarray(y, dtype=np.float32)
    return "%016x" % lib.wb_fnv1a64(ffi.from_buffer(y), y.nbytes)


def conv2d_direct_f64(x, w, *, stride: int = 1, pad: int | None = None) -> np.ndarray:
    """The runner's --verify reference (plain C double direct convolution), float64 NHWC."""
    ffi, lib = _lib()
    x, w, shape = _check_inputs(x, w, stride, pad)
    y = np.empty(shape.out, dtype=np.float64)
    lib.wb_conv_direct_f64(_fptr(ffi, x), _fptr(ffi, w), shape.h, shape.w, shape.cin, shape.cout, shape.k,
                           shape.stride, shape.pad, ffi.cast("double *", ffi.from_buffer(y)))
    return y


def _fptr(ffi, a):
    return ffi.cast("float *", ffi.from_buffer(a))


@dataclass(frozen=True)
class Shape:
    """A convolution's sizes: input h x w x cin, cout filters k x k, stride, zero padding pad."""

    h: int
    w: int
    cin: int
    cout: int
    k: int = 3
    stride: int = 1
    pad: int = 1

    @property
    def out(self) -> tuple:
        """The NHWC output's shape (1, ho, wo, cout)."""
        return (1, out_size(self.h, self.k, self.stride, self.pad),
                out_size(self.w, self.k, self.stride, self.pad), self.cout)


def _check_inputs(x, w, stride: int = 1, pad: int | None = None):
    x = np.ascontiguousarray(x, dtype=np.float32)
    w = np.ascontiguousarray(w, dtype=np.float32)
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"x must be NHWC with batch 1, shape (1, H, W, Cin); got {x.shape}")
    if w.ndim != 4 or w.shape[0] != w.shape[1] or w.shape[0] not in (1, 3, 5, 7):
        raise ValueError(f"w must be HWIO k x k with k 1, 3, 5 or 7, shape (k, k, Cin, Cout); got {w.shape}")
    if w.shape[2] != x.shape[3]:
        raise ValueError(f"x has {x.shape[3]} input channels but w has {w.shape[2]}")
    k = w.shape[0]
    if pad is not None and pad < 0:   # the C side would read -1 as its default
        raise ValueError(f"pad must be in 0..k-1 (or None for k // 2), got {pad}")
    return x, w, Shape(x.shape[1], x.shape[2], x.shape[3], w.shape[3], k, stride, k // 2 if pad is None else pad)


@dataclass(frozen=True)
class ConvOp:
    """An operator of the host build. algo: im2row, f2, f4, f6; bits: 8 or 32; transform: "static"
    (sparse code for the default matrices), "learned" (dense code fed bench.numerics.winograd's
    learned_stand_in: Cook-Toom rescaled so it takes the kernel variant trained matrices take), a named
    transform ("pso"), a transform object with AT/G/BT or a transform file (.json/.npz/.txt) for
    the dense code; scheme: the int8 Winograd quantization scheme, None for the default of the bits
    (bench.operators). `tensor` is also taken for fp32 and im2row, where it means none. origin:
    where the Winograd tile grid starts (bench.operators.TILE_ORIGINS; ignored for im2row); None:
    as a transform file says (`tile_origin`, bench.numerics.winograd.tile_origin_of), else top-left.
    requant: the int8 requantization form (`int` or `fp32`), None for the default of the bits."""

    algo: str
    bits: int = 32
    transform: object = "static"
    scheme: str | None = None
    origin: str | None = None
    requant: str | None = None

    def __post_init__(self):
        if self.algo not in ALGOS:
            raise ValueError(f"unknown algo {self.algo!r}; accepted: {', '.join(ALGOS)}")
        if self.bits not in BITS:
            raise ValueError(f"bits must be 8 or 32, got {self.bits!r}")
        if self.origin is None:
            t = self.transform
            from_file = isinstance(t, (str, os.PathLike)) and pathlib.Path(t).is_file() and self.algo in TILE
            object.__setattr__(self, "origin", tile_origin_of(t) if from_file else TILE_ORIGINS[0])
        if self.origin not in TILE_ORIGINS:
            raise ValueError(f"unknown tile origin {self.origin!r}; accepted: {', '.join(TILE_ORIGINS)}")
        if self.scheme is not None and self.scheme not in (*SCHEMES, "none"):
            raise ValueError(f"unknown scheme {self.scheme!r}; accepted: {', '.join(SCHEMES)}, none")
        scheme = None if self.scheme == SCHEMES[0] else self.scheme   # tensor: the int8 default
        object.__setattr__(self, "scheme", resolve_scheme(self.algo, self.bits, scheme))
        object.__setattr__(self, "requant", resolve_requant(self.bits, self.requant))

    @property
    def c_scheme(self) -> str | None:
        """The scheme as the C API takes it: NULL (None) for the default."""
        return None if self.scheme in ("none", SCHEMES[0]) else self.scheme

    @property
    def c_requant(self) -> str | None:
        """The requantization form as the C API takes it: NULL (None) for the default."""
        return None if self.requant in (NO_REQUANT, REQUANTS[0]) else self.requant

    def matrices(self):
        """(the kernel's transform name, Transform or None: the default matrices)."""
        if self.algo == "im2row":
            return "static", None  # no transform; ignored as in the runner
        t = self.transform
        if isinstance(t, str) and t == "learned":
            return "learned", learned_stand_in(TILE[self.algo])
        if isinstance(t, str) and t in BUILTIN_TRANSFORMS:
            return t, None
        if isinstance(t, str) and t in NAMED_TRANSFORMS:  # shipped, e.g. "pso"
            return "learned", named_transform(t, TILE[self.algo])
        if isinstance(t, (str, os.PathLike)):
            if not pathlib.Path(t).is_file():
                raise ValueError(f"transform must be 'static', 'learned', a named transform "
                                 f"({', '.join(NAMED_TRANSFORMS)}), a transform object or an existing file; "
                                 f"got {str(t)!r}")
            t = load_transform(t)
        for name in ("AT", "G", "BT"):
            if not hasattr(t, name):
                raise ValueError(f"transform object has no {name} matrix")
        return "learned", t


@dataclass(frozen=True)
class Timing:
    """How conv2d_timed runs: `reps` timed runs after `warmup` untimed ones, on `threads` threads
    (not pinned)."""

    reps: int = 1
    warmup: int = 0
    threads: int = 1

    def __post_init__(self):
        if self.reps < 1 or self.warmup < 0 or self.threads < 1:
            raise ValueError("reps and threads must be >= 1, warmup >= 0")


@dataclass
class ConvTimes:
    """Per-run stage times in milliseconds (one entry per timed repetition) and the offline part."""

    kernel: str
    weight_transform_ms: float
    gemm_flops: float
    input_ms: list = field(default_factory=list)
    gemm_ms: list = field(default_factory=list)
    output_ms: list = field(default_factory=list)
    total_ms: list = field(default_factory=list)

    def median(self, stage: str) -> float:
        return float(np.median(getattr(self, stage)))


def _matrix_pointers(ffi, t, m: int, algo: str):
    """([AT, G, BT] as double pointers, or NULLs for the default matrices; the arrays to keep
    alive; r). ValueError for a wrong shape."""
    if t is None:
        return [ffi.NULL] * 3, [], 0
    r = int(np.asarray(t.G).shape[1])
    a = m + r - 1
    if int(np.asarray(t.AT).shape[0]) != m:
        raise ValueError(f"transform has m={int(np.asarray(t.AT).shape[0])} but algo {algo} needs m={m}")
    keep = []
    for name, shape in (("AT", (m, a)), ("G", (a, r)), ("BT", (a, a))):
        arr = np.ascontiguousarray(getattr(t, name), dtype=np.float64)
        if arr.shape != shape:
            raise ValueError(f"transform {name} has shape {arr.shape}, expected {shape} for {algo}")
        keep.append(arr)
    return [ffi.cast("double *", ffi.from_buffer(a)) for a in keep], keep, r


def _raise_for(rc: int, message: str):
    if rc in (_BAD_CASE, _BAD_MATRICES):
        raise ValueError(message)
    if rc == _UNSUPPORTED:
        raise NotImplementedError(message)
    raise RuntimeError(message)


def _create(ffi, lib, op: ConvOp, shape: Shape, w):
    """A wb_conv of the host build for `op` on layer `shape`, weights transformed."""
    kind, t = op.matrices()
    m = TILE.get(op.algo, 0)
    mats, keep, r = _matrix_pointers(ffi, t, m, op.algo)
    err, conv = ffi.new("char[512]"), ffi.new("wb_conv **")
    words = {"algo": op.algo, "transform": kind, **({"scheme": op.c_scheme} if op.c_scheme else {}),
             **({"tile_origin": op.origin} if op.origin != TILE_ORIGINS[0] else {}),
             **({"requant": op.c_requant} if op.c_requant else {})}
    words = {k: ffi.new("char[]", v.encode()) for k, v in words.items()}   # alive through the call
    spec = ffi.new("wb_conv_spec *", {**words, "bits": op.bits, "m": m if t is not None else 0, "r": r,
                                      "at": mats[0], "g": mats[1], "bt": mats[2], **_spec_sizes(shape)})
    rc = lib.wb_conv_create(spec, _fptr(ffi, w), conv, err, 512)
    if rc != 0:
        _raise_for(rc, ffi.string(err).decode())
    return conv[0]


def _spec_sizes(shape: Shape) -> dict:
    """The size fields of wb_conv_spec and wb_q8_spec."""
    return {"h": shape.h, "w": shape.w, "cin": shape.cin, "cout": shape.cout, "k": shape.k,
            "stride": shape.stride, "pad": shape.pad}


def _timed_runs(conv, x, y, pool, timing: Timing) -> ConvTimes:
    ffi, lib = _lib()
    times = ConvTimes(ffi.string(lib.wb_conv_kernel_name(conv)).decode(),
                      lib.wb_conv_weight_transform_ms(conv), lib.wb_conv_gemm_flops(conv))
    stage = ffi.new("double[4]")
    for i in range(timing.warmup + timing.reps):
        rc = lib.wb_conv_run(conv, _fptr(ffi, x), _fptr(ffi, y), pool, stage)
        if rc != 0:
            raise RuntimeError(f"{times.kernel} failed with code {rc}")
        if i >= timing.warmup:
            for k, name in enumerate(("input_ms", "gemm_ms", "output_ms", "total_ms")):
                getattr(times, name).append(stage[k])
    return times


def conv2d_timed(x, w, op: ConvOp, timing: Timing = Timing(), *, stride: int = 1, pad: int | None = None):
    """conv2d plus timing: returns (y, ConvTimes) with per-stage times of each timed run."""
    ffi, lib = _lib()
    x, w, shape = _check_inputs(x, w, stride, pad)
    conv = _create(ffi, lib, op, shape, w)
    pool = ffi.NULL
    try:
        if timing.threads > 1:
            err = ffi.new("char[512]")
            pool = lib.wb_pool_create(timing.threads, ffi.NULL, err, 512)
            if pool == ffi.NULL:
                raise RuntimeError(ffi.string(err).decode())
        if lib.wb_conv_calibrate(conv, _fptr(ffi, x)) != 0:  # int8: quantization, before timing
            raise RuntimeError(f"calibration of {ffi.string(lib.wb_conv_kernel_name(conv)).decode()} failed")
        y = np.empty(shape.out, dtype=np.float32)
        return y, _timed_runs(conv, x, y, pool, timing)
    finally:
        if pool != ffi.NULL:
            lib.wb_pool_destroy(pool)
        lib.wb_conv_destroy(conv)


OPTIONS = ("scheme", "requant", "stride", "pad")   # the keyword options of conv2d and its kin


def _options(options: dict) -> tuple:
    """(scheme, requant, stride, pad) of the keyword options of conv2d and its kin; TypeError for others."""
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise TypeError(f"unexpected keyword argument {sorted(unknown)[0]!r} (accepted: {', '.join(OPTIONS)})")
    return options.get("scheme"), options.get("requant"), options.get("stride", 1), options.get("pad")


def conv2d(x, w, *, algo: str, bits: int = 32, transform="static", **options) -> np.ndarray:
    """Convolution with the C kernels of the host build. x: float32 NHWC (1,H,W,Cin); w: float32
    HWIO (k,k,Cin,Cout); returns float32 NHWC (1,Ho,Wo,Cout), Ho = (H + 2 pad - k) // stride + 1.
    Options: `scheme` (None: tensor for int8 Winograd, none otherwise), `requant` (None: int
    requantization for int8, none for fp32), `stride` (1), `pad` (None: k // 2). Winograd takes 3x3,
    stride 1, padding 1 only; im2row k 1, 3, 5 or 7, stride 1 or 2, pad 0..k-1. algo, bits,
    transform, scheme and requant as ConvOp takes them; the tile origin is the transform file's
    (another: conv2d_timed with a ConvOp). Bad input raises ValueError; a combination no linked
    kernel implements raises NotImplementedError."""
    scheme, requant, stride, pad = _options(options)
    return conv2d_timed(x, w, ConvOp(algo, bits, transform, scheme, requant=requant), stride=stride, pad=pad)[0]


# ---- int8: the pipeline with its intermediates, and error figures -----------------------------

def conv2d_int8_stages(x, w, *, algo: str, transform="static", **options) -> dict:
    """The int8 pipeline of the host build (kernels_c/include/wb_q8.h) with what
    bench.numerics.reference's int8 functions return, for bit-for-bit comparison: "y8" (the timed
    NEON path), "y8_scalar" (the scalar calibration path), "y" (dequantized, float64), "xq", "wq",
    "s_x", "s_w", "s_y" and, for Winograd, "kB", "kG", "kA", "mult" ({V, U, P, Y} float32
    multipliers; tap: per-position [a, a] arrays for V, U, P; wide: U and Y) and the
    intermediates in the reference's layouts: "V8", "U8", "P8" (tensor, tap; tap adds "Sq" and
    "s1"), "V16", "U16", "M" (wide: M after its rshift by e (+ BT's row excess with row scales,
    + h), with "e", "sV", "QU", "s1"). The int requantization form adds "int" (wb_q8_int_info: the
    b of each stage, tap's per position, the shift of Y, out32, tap's Sq bits "k", wide's "h"). Options as conv2d's (scheme,
    requant, stride, pad), `origin` (None: the transform file's) and `row_scales` (None: where the
    kernels take them, wide, bench.numerics.reference step 9; False: one scale per matrix,
    wb_q8_spec.one_scale)."""
    origin, row_scales = options.pop("origin", None), options.pop("row_scales", None)
    scheme, requant, stride, pad = _options(options)
    op = ConvOp(algo, 8, transform, scheme, origin, requant)
    if row_scales and not default_row_scales(op.scheme, op.requant):
        raise ValueError(f"the kernels take row scales for scheme wide, not {op.scheme!r}; accepted: wide")
    ffi, lib = _lib()
    x, w, shape = _check_inputs(x, w, stride, pad)
    xq, wq = np.empty(x.shape, np.int8), np.empty(w.shape, np.int8)
    s_x = lib.wb_q8_quantize(_fptr(ffi, x), x.size, _i8(ffi, xq))
    s_w = lib.wb_q8_quantize(_fptr(ffi, w), w.size, _i8(ffi, wq))
    plan = _q8_plan(ffi, lib, op, shape, wq, one_scale=row_scales is False)
    try:
        y8, y8s = np.empty(shape.out, np.int8), np.empty(shape.out, np.int8)
        if lib.wb_q8_calibrate(plan, _i8(ffi, xq), _i8(ffi, y8s)) or \
                lib.wb_q8_run(plan, _i8(ffi, xq), _i8(ffi, y8), ffi.NULL, ffi.NULL):
            raise RuntimeError(f"int8 {algo} failed")
        s_y = lib.wb_q8_output_scale(plan, s_x, s_w)
        out = {"y8": y8, "y8_scalar": y8s, "y": y8 * s_y, "xq": xq, "wq": wq, "s_x": s_x, "s_w": s_w, "s_y": s_y}
        if algo in TILE:
            out.update(_winograd_stages(ffi, lib, plan, op, shape))
        if op.requant == "int":
            out["int"] = _int_info(ffi, lib, plan, TILE.get(algo, 0))
            if algo in TILE:
                out["mult"].update(_int_mults(out["int"], op.scheme))
        return out
    finally:
        lib.wb_q8_plan_destroy(plan)


def _i8(ffi, a):
    return ffi.cast("int8_t *", ffi.from_buffer(a))


def conv2d_int8_calibrated(x, w, x_cal, *, algo: str, transform="static", **options) -> np.ndarray:
    """The int8 convolution as a deployed network runs it: the input scale and every stage's range
    calibrated on `x_cal` (other data of x's shape), then x quantized with that scale (values past
    it clip) and run with those ranges; returns the dequantized float64 output. conv2d calibrates on
    x itself: the best case, which no deployed network sees. Options as conv2d's."""
    scheme, requant, stride, pad = _options(options)
    ffi, lib = _lib()
    x, w, shape = _check_inputs(x, w, stride, pad)
    x_cal = _check_calibration(x, w, x_cal, shape)
    cq = np.empty(x.shape, np.int8)
    s_x = lib.wb_q8_quantize(_fptr(ffi, x_cal), x.size, _i8(ffi, cq))
    return _q8_deployed(_quantized(x, s_x), cq, w, s_x, (ConvOp(algo, 8, transform, scheme, requant=requant), shape))


def conv2d_int8_at_scale(x, w, x_cal, s_x: float, op: ConvOp, **options) -> np.ndarray:
    """The int8 convolution `op` with the input scale `s_x` given (a trained network's input
    range / 127) instead of calibrated: x and the calibration data `x_cal` (of x's shape) are
    quantized at that scale (values past it clip), the inner stages' ranges calibrated on `x_cal`,
    then x run; returns the dequantized float64 output. Options: conv2d's `stride` and `pad` (the
    scheme and requantization form are op's)."""
    scheme, requant, stride, pad = _options(options)
    if scheme is not None or requant is not None:
        raise TypeError("conv2d_int8_at_scale takes the scheme and requantization form from op")
    x, w, shape = _check_inputs(x, w, stride, pad)
    x_cal = _check_calibration(x, w, x_cal, shape)
    if not (s_x > 0 and np.isfinite(s_x)):
        raise ValueError(f"input scale must be positive and finite, got {s_x!r}")
    return _q8_deployed(_quantized(x, s_x), _quantized(x_cal, s_x), w, s_x, (op, shape))


def _check_calibration(x, w, x_cal, shape: Shape):
    x_cal = _check_inputs(x_cal, w, shape.stride, shape.pad)[0]
    if x_cal.shape != x.shape:
        raise ValueError(f"calibration data has shape {x_cal.shape}, x {x.shape}: they must match")
    return x_cal


def _quantized(x, s_x: float) -> np.ndarray:
    """x quantized at the scale s_x by wb_q8_quantize's rule, values past it clipping."""
    return np.clip(round_half_away(x.astype(np.float64) / s_x), -127, 127).astype(np.int8)


def _q8_deployed(xq, cq, w, s_x: float, case) -> np.ndarray:
    """Calibrate the int8 plan of `case` ((ConvOp, Shape)) on cq, run xq; the dequantized output (float64)."""
    op, shape = case
    ffi, lib = _lib()
    wq = np.empty(w.shape, np.int8)
    s_w = lib.wb_q8_quantize(_fptr(ffi, w), w.size, _i8(ffi, wq))
    plan = _q8_plan(ffi, lib, op, shape, wq)
    try:
        y8 = np.empty(shape.out, np.int8)
        if lib.wb_q8_calibrate(plan, _i8(ffi, cq), ffi.NULL) or lib.wb_q8_run(plan, _i8(ffi, xq), _i8(ffi, y8), ffi.NULL, ffi.NULL):
            raise RuntimeError(f"int8 {op.algo} failed")
        return y8 * lib.wb_q8_output_scale(plan, s_x, s_w)
    finally:
        lib.wb_q8_plan_destroy(plan)


_C_SCHEME_IDS = {"tap": 1, "wide": 2}   # wb_q8.h: 0 is tensor (or none)
_C_REQUANT_IDS = {"int": 0, "fp32": 1}   # wb_q8.h


def _q8_plan(ffi, lib, op: ConvOp, shape: Shape, wq, one_scale: bool = False):
    """A wb_q8_plan for `op` (int8) on layer `shape` with the quantized weights (one_scale: no row
    scales, wb_q8_spec.one_scale)."""
    kind, t = op.matrices()
    m = TILE.get(op.algo, 0)
    mats, keep, _ = _matrix_pointers(ffi, t, m, op.algo)
    plan, err = ffi.new("wb_q8_plan **"), ffi.new("char[512]")
    spec = ffi.new("wb_q8_spec *", {"m": m, "learned": int(kind == "learned"), "scheme": _C_SCHEME_IDS.get(op.scheme, 0),
                                    "at": mats[0], "g": mats[1], "bt": mats[2], **_spec_sizes(shape),
                                    "oy": tile_offset(shape.h, m, op.origin) if m else 0,
                                    "ox": tile_offset(shape.w, m, op.origin) if m else 0,
                                    "requant": _C_REQUANT_IDS[op.requant], "one_scale": int(one_scale)})
    rc = lib.wb_q8_plan_create(spec, _i8(ffi, wq), plan, err, 512)
    if rc != 0:
        raise (ValueError if rc in (_BAD_CASE, _BAD_MATRICES) else RuntimeError)(ffi.string(err).decode())
    return plan[0]


def _winograd_stages(ffi, lib, plan, op: ConvOp, shape: Shape) -> dict:
    """The matrix scales, multipliers and intermediates of an int8 Winograd plan (wb_q8_stage)."""
    h, wd, cin, cout = shape.h, shape.w, shape.cin, shape.cout
    m = TILE[op.algo]
    k, mult = ffi.new("int[3]"), ffi.new("float[4]")
    lib.wb_q8_plan_info(plan, k, mult)
    a, th, tw = m + 2, -(-h // m), -(-wd // m)
    out = {"kB": k[0], "kG": k[1], "kA": k[2], "mult": dict(zip("VUPY", map(np.float32, mult)))}
    stages = (("V8", (th, tw, a, a, cin), np.int8), ("U8", (a, a, cin, cout), np.int8),
              ("P8", (th, tw, a, a, cout), np.int8))
    if op.scheme == "wide":
        stages = (("V16", (th, tw, a, a, cin), np.int16), ("U16", (a, a, cin, cout), np.int16),
                  ("M", (th, tw, a, a, cout), np.int32))
    for name, stage_shape, dtype in stages:
        out[name] = np.empty(stage_shape, dtype)
        lib.wb_q8_stage(plan, name.encode(), _i8(ffi, out[name].view(np.int8)))
    if op.scheme in _C_SCHEME_IDS:
        out.update(_scheme_info(ffi, lib, plan, op.scheme, a, out["mult"]["Y"]))
    return out


def _scheme_info(ffi, lib, plan, scheme: str, a: int, mult_y) -> dict:
    """tap / wide parameters of a plan (wb_q8_scheme_info) under the reference's key names."""
    ints, mults, per = ffi.new("int[4]"), ffi.new(f"float[{4 * a * a}]"), ffi.new(f"int32_t[{a * a}]")
    lib.wb_q8_scheme_info(plan, ints, mults, per)
    f = np.frombuffer(ffi.buffer(mults), np.float32).reshape(4, a, a).copy()
    pos = np.frombuffer(ffi.buffer(per), np.int32).reshape(a, a).astype(np.int64)
    if scheme == "tap":
        return {"s1": ints[1], "Sq": pos, "mult": {"V": f[0], "U": f[1], "P": f[2], "Y": mult_y}}
    return {"s1": ints[1], "sV": ints[2], "QU": ints[3], "e": pos, "mult": {"U": f[3, 0, 0], "Y": mult_y}}


def _int_info(ffi, lib, plan, m: int) -> dict:
    """The int form's figures of a calibrated plan (wb_q8_int_info), b at 32-bit lanes."""
    aa = (m + 2) ** 2 if m else 1
    stage, pos, ints = ffi.new("int32_t[3]"), ffi.new(f"int32_t[{2 * aa}]"), ffi.new("int[5]")
    lib.wb_q8_int_info(plan, stage, pos, ints)
    b = np.frombuffer(ffi.buffer(pos), np.int32).astype(np.int64)
    side = m + 2 if m else 1
    return {"b": dict(zip("VPY", (int(v) for v in stage))), "shift_Y": ints[1], "out32": ints[2], "k": ints[3],
            "h": ints[4], "b_V": b[:aa].reshape(side, side), "b_P": b[aa:].reshape(side, side)}


def _int_mults(info: dict, scheme: str) -> dict:
    """The int form's real multipliers b / 2^31 (times 2^-shift for Y), as the reference's "mult"
    names them: V, P, Y (tap: V and P per position; wide: Y)."""
    real = lambda b, shift=0: np.ldexp(np.asarray(b, np.float64), -31 - shift)  # noqa: E731
    out = {"Y": float(real(info["b"]["Y"], info["shift_Y"]))}
    if scheme == "tap":
        out.update(V=real(info["b_V"]), P=real(info["b_P"]))
    elif scheme != "wide":
        out.update(V=float(real(info["b"]["V"])), P=float(real(info["b"]["P"])))
    return out


def conv2d_error(x, w, *, algo: str, bits: int = 32, transform="static", **options) -> dict:
    """Error of conv2d(...) (dequantized for bits=8) against the float64 direct convolution of
    the unquantized data: {"sqnr_db", "max_abs", "rel_l2"} (bench.numerics.reference.error_metrics).
    Options as conv2d's (scheme, requant, stride, pad)."""
    _, _, stride, pad = _options(options)
    y = conv2d(x, w, algo=algo, bits=bits, transform=transform, **options)
    return error_metrics(y, conv2d_direct(x, w, stride, pad))
