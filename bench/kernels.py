"""The C kernels of kernels_c/ from Python: the host build (NEON through SIMDe), loaded with cffi.

The shared library is built on first use by bench.build (cached by a hash of sources and flags)
and opened with cffi in ABI mode (`dlopen`); a missing compiler or SIMDe raises
bench.build.BuildError naming it. Every call goes through the same kernel registry as the on-board
runner (a build without the int8 sources, WB_BUILD_EXCLUDE=q8*, answers bits=8 with
NotImplementedError). bits=8 returns the dequantized output;
conv2d_int8_stages gives the int8 output and intermediates, conv2d_error the error figures.

    y = conv2d(x, w, algo="f4")                         # x NHWC (1,H,W,Cin), w HWIO (3,3,Cin,Cout)
    y = conv2d(x, w, algo="f6", transform="learned")    # dense kernel, default matrices
    y = conv2d(x, w, algo="f4", transform=cook_toom(4, points=BARABASZ_POINTS[4, 3]))
    y, t = conv2d_timed(x, w, algo="f4", reps=10)       # t.total_ms, t.gemm_ms, ... (lists)
"""

from __future__ import annotations

import os
import pathlib
import threading
from dataclasses import dataclass, field

import numpy as np

from bench.build import KERNELS, build_hash, build_library
from bench.reference import conv2d_direct, error_metrics
from bench.winograd import NAMED_TRANSFORMS, cook_toom, load_transform, named_transform

ALGOS = ("im2row", "f2", "f4", "f6")
TILE = {"f2": 2, "f4": 4, "f6": 6}

SCHEMES = ("none", "tensor", "tap", "wide")  # int8 Winograd schemes (bench.reference); none: fp32, im2row

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


def conv2d_direct_f64(x, w) -> np.ndarray:
    """The runner's --verify reference (plain C double direct convolution), float64 NHWC."""
    ffi, lib = _lib()
    x, w, (h, wd, cin, cout) = _check_inputs(x, w)
    y = np.empty((1, h, wd, cout), dtype=np.float64)
    lib.wb_conv_direct_f64(_fptr(ffi, x), _fptr(ffi, w), h, wd, cin, cout,
                           ffi.cast("double *", ffi.from_buffer(y)))
    return y


def _fptr(ffi, a):
    return ffi.cast("float *", ffi.from_buffer(a))


def _check_inputs(x, w):
    x = np.ascontiguousarray(x, dtype=np.float32)
    w = np.ascontiguousarray(w, dtype=np.float32)
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"x must be NHWC with batch 1, shape (1, H, W, Cin); got {x.shape}")
    if w.ndim != 4 or w.shape[:2] != (3, 3):
        raise ValueError(f"w must be HWIO 3x3, shape (3, 3, Cin, Cout); got {w.shape}")
    if w.shape[2] != x.shape[3]:
        raise ValueError(f"x has {x.shape[3]} input channels but w has {w.shape[2]}")
    return x, w, (x.shape[1], x.shape[2], x.shape[3], w.shape[3])


def _scheme_id(algo: str, bits: int, scheme: str) -> int:
    """The C scheme number (0 tensor or none, 1 tap, 2 wide). tap and wide are int8 Winograd's
    only; "tensor" (the default) means none for fp32 and im2row."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; accepted: {', '.join(SCHEMES)}")
    wino8 = bits == 8 and algo != "im2row"
    if scheme in ("tap", "wide") and not wino8:
        raise ValueError(f"scheme {scheme!r} is for int8 Winograd only, not {algo} at {bits} bits; "
                         f"accepted there: none, tensor")
    if scheme == "none" and wino8:
        raise ValueError(f"int8 {algo} needs a scheme; accepted: tensor, tap, wide")
    return {"tap": 1, "wide": 2}.get(scheme, 0)


def _matrices(algo: str, transform):
    """(kernel transform name, Transform or None) for conv2d's transform argument."""
    if algo == "im2row":
        return "static", None  # no transform; ignored as in the runner
    if isinstance(transform, str) and transform in ("static", "learned"):
        return transform, None

    if isinstance(transform, str) and transform in NAMED_TRANSFORMS:  # shipped, e.g. "pso"
        return "learned", named_transform(transform, TILE[algo])
    if isinstance(transform, (str, os.PathLike)):
        path = pathlib.Path(transform)
        if not path.is_file():
            raise ValueError(f"transform must be 'static', 'learned', a named transform "
                             f"({', '.join(NAMED_TRANSFORMS)}), a transform object or an existing file; "
                             f"got {str(transform)!r}")
        transform = load_transform(path)
    for name in ("AT", "G", "BT"):
        if not hasattr(transform, name):
            raise ValueError(f"transform object has no {name} matrix")
    return "learned", transform


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


def conv2d_timed(x, w, *, algo: str, bits: int = 32, transform="static", reps: int = 1,
                 warmup: int = 0, threads: int = 1, scheme: str = "tensor"):
    """conv2d plus timing: returns (y, ConvTimes) with per-stage times of each of `reps` runs
    after `warmup` untimed ones, on `threads` threads (not pinned)."""
    if algo not in ALGOS:
        raise ValueError(f"unknown algo {algo!r}; accepted: {', '.join(ALGOS)}")
    if bits not in (8, 32):
        raise ValueError(f"bits must be 8 or 32, got {bits!r}")
    if reps < 1 or warmup < 0 or threads < 1:
        raise ValueError("reps and threads must be >= 1, warmup >= 0")
    _scheme_id(algo, bits, scheme)
    ffi, lib = _lib()
    x, w, (h, wd, cin, cout) = _check_inputs(x, w)
    kind, t = _matrices(algo, transform)
    mats = [ffi.NULL] * 3
    m = r = 0
    keep = []
    if t is not None:
        m, r = int(np.asarray(t.AT).shape[0]), int(np.asarray(t.G).shape[1])
        a = m + r - 1
        for i, (name, shape) in enumerate((("AT", (m, a)), ("G", (a, r)), ("BT", (a, a)))):
            arr = np.ascontiguousarray(getattr(t, name), dtype=np.float64)
            if arr.shape != shape:
                raise ValueError(f"transform {name} has shape {arr.shape}, expected {shape}")
            keep.append(arr)
            mats[i] = ffi.cast("double *", ffi.from_buffer(arr))
        if m != TILE[algo]:
            raise ValueError(f"transform has m={m} but algo {algo} needs m={TILE[algo]}")
    err = ffi.new("char[512]")
    conv = ffi.new("wb_conv **")
    words = {"algo": algo, "transform": kind}
    if scheme in ("tap", "wide"):  # else NULL: tensor or none
        words["scheme"] = scheme
    words = {k: ffi.new("char[]", v.encode()) for k, v in words.items()}  # alive through the call
    spec = ffi.new("wb_conv_spec *", {**words, "bits": bits, "m": m, "r": r, "at": mats[0], "g": mats[1],
                                      "bt": mats[2], "h": h, "w": wd, "cin": cin, "cout": cout})
    rc = lib.wb_conv_create(spec, _fptr(ffi, w), conv, err, 512)
    if rc != 0:
        msg = ffi.string(err).decode()
        if rc in (_BAD_CASE, _BAD_MATRICES):
            raise ValueError(msg)
        if rc == _UNSUPPORTED:
            raise NotImplementedError(msg)
        raise RuntimeError(msg)
    conv = conv[0]
    pool = ffi.NULL
    try:
        if threads > 1:
            pool = lib.wb_pool_create(threads, ffi.NULL, err, 512)
            if pool == ffi.NULL:
                raise RuntimeError(ffi.string(err).decode())
        if lib.wb_conv_calibrate(conv, _fptr(ffi, x)) != 0:  # int8: quantization, before timing
            raise RuntimeError(f"calibration of {ffi.string(lib.wb_conv_kernel_name(conv)).decode()} failed")
        y = np.empty((1, h, wd, cout), dtype=np.float32)
        times = ConvTimes(ffi.string(lib.wb_conv_kernel_name(conv)).decode(),
                          lib.wb_conv_weight_transform_ms(conv), lib.wb_conv_gemm_flops(conv))
        stage = ffi.new("double[4]")
        for i in range(warmup + reps):
            rc = lib.wb_conv_run(conv, _fptr(ffi, x), _fptr(ffi, y), pool, stage)
            if rc != 0:
                raise RuntimeError(f"{times.kernel} failed with code {rc}")
            if i >= warmup:
                for k, name in enumerate(("input_ms", "gemm_ms", "output_ms", "total_ms")):
                    getattr(times, name).append(stage[k])
        return y, times
    finally:
        if pool != ffi.NULL:
            lib.wb_pool_destroy(pool)
        lib.wb_conv_destroy(conv)


def conv2d(x, w, *, algo: str, bits: int = 32, transform="static", scheme: str = "tensor") -> np.ndarray:
    """3x3, stride 1, padding 1 convolution with the C kernels of the host build (handbook
    contract). x: float32 NHWC (1,H,W,Cin); w: float32 HWIO (3,3,Cin,Cout); returns float32 NHWC
    (1,H,W,Cout). algo: im2row, f2, f4, f6. transform: "static" (sparse hand-written code for the
    default matrices), "learned" (dense code fed the default matrices), a shipped named transform
    ("pso": bench.winograd.named_transform), a transform object with AT/G/BT, or a transform file (.json/.npz/.txt) for the dense code. scheme: the int8 Winograd
    quantization scheme of bench.reference, "tensor" (default), "tap" or "wide" (tap and wide are
    refused elsewhere; "none" or the default "tensor" for fp32 and im2row). Bad input raises
    ValueError; a combination no linked kernel implements raises NotImplementedError."""
    return conv2d_timed(x, w, algo=algo, bits=bits, transform=transform, scheme=scheme)[0]


# ---- int8: the pipeline with its intermediates, and error figures -----------------------------

def conv2d_int8_stages(x, w, *, algo: str, transform="static", scheme: str = "tensor") -> dict:
    """The int8 pipeline of the host build (kernels_c/include/wb_q8.h) with what bench.reference's
    int8 functions return, for bit-for-bit comparison: "y8" (the timed NEON path), "y8_scalar" (the
    scalar calibration path), "y" (dequantized, float64), "xq", "wq", "s_x", "s_w", "s_y" and,
    for Winograd, "kB", "kG", "kA", "mult" ({V, U, P, Y} float32 multipliers; tap: per-position
    [a, a] arrays for V, U, P; wide: U and Y) and the intermediates in the reference's layouts:
    "V8", "U8", "P8" (tensor, tap; tap adds "Sq" and "s1"), "V16", "U16", "M" (wide: M after its
    rshift by e, with "e", "sV", "QU", "s1")."""
    if algo not in ALGOS:
        raise ValueError(f"unknown algo {algo!r}; accepted: {', '.join(ALGOS)}")
    scheme_id = _scheme_id(algo, 8, scheme)
    ffi, lib = _lib()
    x, w, (h, wd, cin, cout) = _check_inputs(x, w)
    kind, t = _matrices(algo, transform)
    m = TILE.get(algo, 0)
    if t is None and kind == "learned":

        t = cook_toom(m)
    keep, mats = [], [ffi.NULL] * 3
    if t is not None:
        a = m + 2
        for i, (name, shape) in enumerate((("AT", (m, a)), ("G", (a, 3)), ("BT", (a, a)))):
            arr = np.ascontiguousarray(getattr(t, name), dtype=np.float64)
            if arr.shape != shape:
                raise ValueError(f"transform {name} has shape {arr.shape}, expected {shape} for {algo}")
            keep.append(arr)
            mats[i] = ffi.cast("double *", ffi.from_buffer(arr))
    i8 = lambda a: ffi.cast("int8_t *", ffi.from_buffer(a))
    xq, wq = np.empty(x.shape, np.int8), np.empty(w.shape, np.int8)
    s_x = lib.wb_q8_quantize(_fptr(ffi, x), x.size, i8(xq))
    s_w = lib.wb_q8_quantize(_fptr(ffi, w), w.size, i8(wq))
    plan, err = ffi.new("wb_q8_plan **"), ffi.new("char[512]")
    spec = ffi.new("wb_q8_spec *", {"m": m, "learned": int(kind == "learned"), "scheme": scheme_id,
                                    "at": mats[0], "g": mats[1], "bt": mats[2], "h": h, "w": wd, "cin": cin,
                                    "cout": cout})
    rc = lib.wb_q8_plan_create(spec, i8(wq), plan, err, 512)
    if rc != 0:
        raise (ValueError if rc in (_BAD_CASE, _BAD_MATRICES) else RuntimeError)(ffi.string(err).decode())
    plan = plan[0]
    try:
        y8, y8s = np.empty((1, h, wd, cout), np.int8), np.empty((1, h, wd, cout), np.int8)
        if lib.wb_q8_calibrate(plan, i8(xq), i8(y8s)) or lib.wb_q8_run(plan, i8(xq), i8(y8), ffi.NULL, ffi.NULL):
            raise RuntimeError(f"int8 {algo} failed")
        s_y = lib.wb_q8_output_scale(plan, s_x, s_w)
        out = {"y8": y8, "y8_scalar": y8s, "y": y8 * s_y, "xq": xq, "wq": wq,
               "s_x": s_x, "s_w": s_w, "s_y": s_y}
        if m:
            k, mult = ffi.new("int[3]"), ffi.new("float[4]")
            lib.wb_q8_plan_info(plan, k, mult)
            a, th, tw = m + 2, -(-h // m), -(-wd // m)
            out.update(kB=k[0], kG=k[1], kA=k[2], mult=dict(zip("VUPY", map(np.float32, mult))))
            stages = (("V8", (th, tw, a, a, cin), np.int8), ("U8", (a, a, cin, cout), np.int8),
                      ("P8", (th, tw, a, a, cout), np.int8))
            if scheme == "wide":
                stages = (("V16", (th, tw, a, a, cin), np.int16), ("U16", (a, a, cin, cout), np.int16),
                          ("M", (th, tw, a, a, cout), np.int32))
            for name, shape, dtype in stages:
                out[name] = np.empty(shape, dtype)
                lib.wb_q8_stage(plan, name.encode(), i8(out[name].view(np.int8)))
            if scheme_id:
                out.update(_scheme_info(ffi, lib, plan, scheme, a, out["mult"]["Y"]))
        return out
    finally:
        lib.wb_q8_plan_destroy(plan)


def _scheme_info(ffi, lib, plan, scheme: str, a: int, mult_y) -> dict:
    """tap / wide parameters of a plan (wb_q8_scheme_info) under the reference's key names."""
    ints, mults, per = ffi.new("int[4]"), ffi.new(f"float[{4 * a * a}]"), ffi.new(f"int32_t[{a * a}]")
    lib.wb_q8_scheme_info(plan, ints, mults, per)
    f = np.frombuffer(ffi.buffer(mults), np.float32).reshape(4, a, a).copy()
    pos = np.frombuffer(ffi.buffer(per), np.int32).reshape(a, a).astype(np.int64)
    if scheme == "tap":
        return {"s1": ints[1], "Sq": pos, "mult": {"V": f[0], "U": f[1], "P": f[2], "Y": mult_y}}
    return {"s1": ints[1], "sV": ints[2], "QU": ints[3], "e": pos, "mult": {"U": f[3, 0, 0], "Y": mult_y}}


def conv2d_error(x, w, *, algo: str, bits: int = 32, transform="static", scheme: str = "tensor") -> dict:
    """Error of conv2d(...) (dequantized for bits=8) against the float64 direct convolution of
    the unquantized data: {"sqnr_db", "max_abs", "rel_l2"} (bench.reference.error_metrics)."""
    y = conv2d(x, w, algo=algo, bits=bits, transform=transform, scheme=scheme)
    return error_metrics(y, conv2d_direct(x, w))
