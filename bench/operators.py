"""The operator vocabulary every part of the package shares: algorithms, tile sizes, bit widths,
transforms, int8 Winograd quantization schemes with the default-scheme rule, precision names and
operator keys, and the parsers of their comma-separated command-line lists.

An operator is (algo, transform, bits, scheme):
- algo: `im2row` (patches + GEMM) or Winograd `f2`, `f4`, `f6` (F(m x m, 3 x 3), m = TILE[algo]);
- transform: `static` (sparse code for the default Cook-Toom matrices), `learned` (dense code fed
  matrices), a shipped named transform (NAMED_TRANSFORMS) or a transform file; `none` for im2row;
- bits: 8 (int8) or 32 (fp32);
- scheme: how int8 Winograd quantizes its transformed domain (`tensor`, `tap`, `wide`); every other
  operator has scheme `none`. `tensor` is the default and is left out of keys and labels;
- requant: how an int8 operator requantizes its int32 (or wider) sums to int8 (REQUANTS): `int`, a
  fixed-point multiply with rounding (SQRDMULH, as gemmlowp and XNNPACK), or `fp32`, through a float
  multiply (bench.numerics.reference, steps 2 and 8); fp32 operators have requant `none`. The default
  (`int`, the faster form in the static models, whose SQNR agrees with the fp32 form within 0.3 dB:
  kernels_c/README.md, "Integer requantization") is left out of keys and labels.

The precision of an operator's GEMM products (`product_precision`) is what tables name: `wide` keeps
int8 inputs and outputs but multiplies int16 V by int16 U (an int16 GEMM), so it is `int16`.

An engine is who runs the operator: `winobench` (these kernels, the default) or a production
engine measured beside them (ENGINES). An engine's operator is (engine, variant, bits): its
convolution path (ENGINE_VARIANTS), with algo = the variant and transform/scheme `none` in rows.

The C side names the same things (kernels_c/kernels.toml, the runner's case lines):
tests/test_operators.py checks them against these.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from bench.errors import UsageError, choice_error

ALGOS = ("im2row", "f2", "f4", "f6")
TILE = {"f2": 2, "f4": 4, "f6": 6}      # Winograd outputs per tile side
BITS = (8, 32)
BUILTIN_TRANSFORMS = ("static", "learned")
NO_TRANSFORM = "none"                    # im2row has no transform
NAMED_TRANSFORMS = {                     # shipped with bench.numerics.winograd, usable as --transform NAME
    "pso": "found by `bench transforms search` (particle swarm, int8 tensor scheme)",
    "pso-tap": "found by `bench transforms search --scheme tap` (F4 only: F6 found nothing better)",
}
SCHEMES = ("tensor", "tap", "wide")      # int8 Winograd quantization schemes
# Where Winograd's tile grid starts: the image's top-left corner, or centred as the Winograd-aware
# training code pads (bench.numerics.reference.tile_offset); a transform file may name its own.
TILE_ORIGINS = ("top-left", "symmetric")
NO_SCHEME = "none"                       # every operator that is not int8 Winograd
REQUANTS = ("int", "fp32")               # int8 requantization forms, the default first
NO_REQUANT = "none"                      # fp32 operators

OUR_ENGINE = "winobench"
# Production engines and their convolution paths per bit width (remote/engine_runner.py runs them)
ENGINE_VARIANTS = {
    "ncnn": {32: ("winograd", "direct"), 8: ("winograd", "direct")},
    "onnxruntime": {32: ("conv",), 8: ("qlinearconv",)},
    "litert": {32: ("xnnpack",), 8: ("xnnpack",)},
}
ENGINES = (OUR_ENGINE, *ENGINE_VARIANTS)
# The engines' Python distributions (pyproject's `engines` extra; the wheels pushed to a board)
ENGINE_DISTRIBUTIONS = {"ncnn": "ncnn", "onnxruntime": "onnxruntime", "litert": "ai-edge-litert"}


def is_winograd(algo: str) -> bool:
    return algo in TILE


def precision_name(bits: int) -> str:
    """8 -> "int8", 32 -> "fp32": how tables, plots and operator keys name a bit width."""
    return "int8" if int(bits) == 8 else "fp32"


def default_scheme(algo: str, bits: int) -> str:
    """The scheme an operator has when none is asked for: `tensor` for int8 Winograd, else `none`."""
    return SCHEMES[0] if int(bits) == 8 and is_winograd(algo) else NO_SCHEME


def accepted_schemes(algo: str, bits: int) -> tuple[str, ...]:
    return SCHEMES if default_scheme(algo, bits) != NO_SCHEME else (NO_SCHEME,)


def resolve_scheme(algo: str, bits: int, scheme: str | None = None) -> str:
    """The scheme of an operator: None means the default for (algo, bits); ValueError naming the bad
    scheme and the accepted ones (`tap` for fp32, say)."""
    if scheme is None:
        return default_scheme(algo, bits)
    accepted = accepted_schemes(algo, bits)
    if scheme not in accepted:
        raise ValueError(f"scheme {scheme!r} does not apply to {algo} at {bits} bits; accepted: {', '.join(accepted)}")
    return scheme


def sweep_scheme(algo: str, bits: int, requested: str) -> str:
    """The scheme a case of a sweep gets for a requested one (`--scheme tap`): the requested scheme
    for int8 Winograd, `none` for every other case."""
    return requested if default_scheme(algo, bits) != NO_SCHEME else NO_SCHEME


def default_requant(bits: int) -> str:
    """The requantization form an operator has when none is asked for: `int` for int8, else `none`."""
    return REQUANTS[0] if int(bits) == 8 else NO_REQUANT


def resolve_requant(bits: int, requant: str | None = None) -> str:
    """The requantization form of an operator: None means the default for its bits; ValueError naming
    the bad form and the accepted ones (`fp32` for an fp32 operator, say)."""
    if requant is None:
        return default_requant(bits)
    accepted = REQUANTS if int(bits) == 8 else (NO_REQUANT,)
    if requant not in accepted:
        raise ValueError(f"requant {requant!r} does not apply at {bits} bits; accepted: {', '.join(accepted)}")
    return requant


def sweep_requant(bits: int, requested: str) -> str:
    """The form a case of a sweep gets for a requested one: itself for int8, `none` for fp32."""
    return requested if int(bits) == 8 else NO_REQUANT


def requant_suffix(requant: str | None) -> str:
    """The form as keys and labels name it: empty for the defaults (`int`, `none`), else `rq-fp32`."""
    return "" if requant in (None, NO_REQUANT, REQUANTS[0]) else f"rq-{requant}"


def product_precision(bits: int, scheme: str | None = NO_SCHEME) -> str:
    """The precision of the GEMM's products, as tables and plots name it: `fp32`, `int8`, or `int16`
    for the `wide` scheme (int8 in and out, int16 V times int16 U in its GEMM)."""
    if int(bits) == 32:
        return "fp32"
    return "int16" if scheme == "wide" else "int8"


def scheme_suffix(scheme: str | None) -> str:
    """The scheme as keys and labels name it: empty for the defaults (`tensor`, `none`), else itself."""
    return "" if scheme in (None, NO_SCHEME, SCHEMES[0]) else scheme


def is_transform_file(transform) -> bool:
    """A transform given as a file (not none, static, learned or a shipped named one)."""
    return transform not in (NO_TRANSFORM, "", None, *BUILTIN_TRANSFORMS) and transform not in NAMED_TRANSFORMS


MAX_TRANSFORM_FILE_BYTES = 1 << 20   # a transform file is a few kB (bench.numerics.winograd reads no more)


def transform_digest(transform) -> str | None:
    """The first 12 hex digits of the SHA-256 of a transform file's bytes; None for the built-in and
    named transforms and for a path that is no longer a readable regular file of at most 1 MiB."""
    if not is_transform_file(transform):
        return None
    try:
        path = Path(transform)
        if not path.is_file() or path.stat().st_size > MAX_TRANSFORM_FILE_BYTES:
            return None
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return None


def transform_name(transform: str, digest: str | None = None) -> str:
    """A transform as keys name it: static, learned, a named transform, or a file's stem with its
    content digest (`conv1@3f2a9c1b7d00`), so that two different files never share a name. The
    digest is the one recorded at measurement when given, else read from the file (a file gone
    since is named by its stem alone)."""
    if not is_transform_file(transform):
        return transform
    digest = digest or transform_digest(transform)
    return f"{Path(transform).stem}@{digest}" if digest else Path(transform).stem


def operator_label(algo: str, transform: str, engine: str | None = OUR_ENGINE) -> str:
    """How messages name an operator: `f4 static`, or an engine's `ncnn winograd`."""
    return f"{algo} {transform}" if engine in (None, "", OUR_ENGINE) else f"{engine} {algo}"


def op_key(algo: str, transform: str, bits: int, scheme: str | None = NO_SCHEME, *, requant: str | None = None,
           digest: str | None = None) -> str:
    """`f4-static-int8`, `im2row-fp32`, `f4-flex_f4@3f2a9c1b7d00-int8` (a transform file, by stem and
    content digest), `f4-static-int8-tap`; for the non-default fp32 requantization
    `f4-static-int8-tap-rq-fp32`, `im2row-int8-rq-fp32`. A production engine's operator:
    engine_op_key."""
    precision = precision_name(bits)
    rq = requant_suffix(requant)
    if algo == "im2row" or transform in (NO_TRANSFORM, "", None):
        return f"im2row-{precision}" + (f"-{rq}" if rq else "")
    suffixes = [s for s in (scheme_suffix(scheme), rq) if s]
    return "-".join([f"{algo}-{transform_name(transform, digest)}-{precision}", *suffixes])


def engine_op_key(engine: str, variant: str, bits: int) -> str:
    """A production engine's operator: `ENGINE-VARIANT-PRECISION` (`ncnn-winograd-int8`,
    `litert-xnnpack-fp32`); split_op_key reads it back."""
    return f"{engine}-{variant}-{precision_name(bits)}"


def row_op_key(row: dict) -> str:
    """The operator key of a results row or record (algo, transform, bits, scheme, requant,
    transform_digest, engine; missing or NaN cells take their defaults)."""
    text = lambda c: row.get(c) if isinstance(row.get(c), str) and row.get(c) else None  # noqa: E731
    engine = text("engine") or OUR_ENGINE
    if engine != OUR_ENGINE:
        return engine_op_key(engine, row["algo"], row["bits"])
    return op_key(row["algo"], row["transform"], row["bits"], text("scheme") or NO_SCHEME, requant=text("requant"),
                  digest=text("transform_digest"))


# ---------------------------------------------------------------------------------------------
# Comma-separated lists from the command line (UsageError names the bad value and the accepted ones)

def parse_choices(text: str, what: str, accepted) -> list[str]:
    """'a,b' -> ['a', 'b'] (duplicates dropped, order kept), each one of `accepted`."""
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values:
        raise UsageError(f"empty {what} list; accepted: {', '.join(map(str, accepted))}")
    for v in values:
        if v not in accepted:
            raise choice_error(what, v, accepted)
    return list(dict.fromkeys(values))


def parse_algos(text: str) -> list[str]:
    return parse_choices(text, "algo", ALGOS)


def parse_bits(text: str) -> list[int]:
    return [int(b) for b in parse_choices(text, "bit width", [str(b) for b in BITS])]


def parse_schemes(text: str) -> list[str]:
    return parse_choices(text, "scheme", SCHEMES)


def parse_engines(text: str) -> list[str]:
    return parse_choices(text, "engine", ENGINES)


def split_op_key(key: str) -> tuple[str, str, int] | None:
    """`ncnn-winograd-int8` -> ("ncnn", "winograd", 8); None for a key of this project's kernels."""
    parts = key.split("-")
    if len(parts) != 3 or parts[0] not in ENGINE_VARIANTS or parts[2] not in ("int8", "fp32"):
        return None
    bits = 8 if parts[2] == "int8" else 32
    return (parts[0], parts[1], bits) if parts[1] in ENGINE_VARIANTS[parts[0]][bits] else None


def parse_requants(text: str) -> list[str]:
    return parse_choices(text, "requant", REQUANTS)
