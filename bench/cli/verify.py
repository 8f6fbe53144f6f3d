"""`bench verify`: run every kernel on the chosen board and cores in the runner's --verify mode and
print an error table; exit 1 when a result is wrong.

What "wrong" means:
- fp32: relative L2 error against the runner's double-precision direct convolution above
  FP32_GROWTH * eps32 * sqrt(9 Cin) (the rounding a correct kernel can accumulate; kernels_c/README.md);
- int8: output bytes differing from the host build of the same kernels on the same data (the host
  build is tested bit for bit against the numpy reference of the int8 scheme); the int8 error
  against the direct convolution is the scheme's and is printed, not judged;
- a transform that is not an exact Winograd transform (identity error above
  bench.measure.accuracy.IDENTITY_TOL, e.g. a learned one): fp32 is judged against the float64 Winograd
  convolution with the same matrices, not the direct one, and the transform's own identity error
  and error against the direct convolution are printed apart.
"""

from __future__ import annotations

import sys

from bench.cli.options import add_board_arguments, add_parser, boards_from_args
from bench.errors import MeasurementError, UsageError
from bench.layers import Layer, custom_layers
from bench.measure.accuracy import host_build_run, is_exact_transform, same_matrices_check
from bench.measure.cases import expand, parse_transforms
from bench.measure.deploy import StreamOptions
from bench.measure.farm import run_farm
from bench.measure.protocol import CaseRecord, Repetition, fp32_tolerance
from bench.native.kernels import checksum
from bench.operators import ALGOS, parse_algos, parse_bits

DEFAULT_LAYERS = [Layer(1, 1, 3, 5), Layer(7, 13, 3, 5), Layer(7, 13, 17, 5), Layer(16, 16, 32, 16)]


def register(sub) -> None:
    p = add_parser(sub, "verify", "check every kernel's output on a board against references",
                   "bench verify --board hikey960 --core a53 --bits 8",
                   "fp32 against the double-precision direct convolution, int8 bit for bit against the host "
                   "build; exit 1 when a result is wrong.")
    add_board_arguments(p, multiple=True)
    p.add_argument("--core", help="core type, big, little or all (default: all)")
    p.add_argument("--bits", default="8,32", help="8, 32 or 8,32 (default)")
    p.add_argument("--algo", default=",".join(ALGOS), help="comma-separated algorithms (default: all)")
    p.add_argument("--transform", default="static,learned", help="static, learned, pso and/or transform files")
    p.add_argument("--res", help="resolutions (default: awkward shapes 1x1, 7x13, 16x16)")
    p.add_argument("--channels", help="channel counts with Cin = Cout (with --res)")
    p.add_argument("--cin", help="input channel counts (with --res and --cout)")
    p.add_argument("--cout", help="output channel counts")
    p.set_defaults(func=_verify)


def _host_build_checksum(case) -> str:
    """The host build's output checksum on the runner's data for the full layer."""
    return checksum(host_build_run(case, case.layer.h, case.layer.w)[2])


def judge(case, rec: CaseRecord) -> tuple[bool, str]:
    """(passed, note) for one runner --verify record."""
    if not rec.ok:
        return False, f"{rec.error_kind or 'error'}: {rec.message}"
    if not is_exact_transform(case):
        return _judge_learned(case, rec)
    err = rec.error or {}
    if case.bits == 32:
        rel, tol = err.get("rel_l2"), fp32_tolerance(case.layer.cin)
        if rel is None or rel > tol:
            return False, f"relative L2 {rel:.3g} above the fp32 tolerance {tol:.2g}"
        return True, ""
    expected = _host_build_checksum(case)
    if rec.checksum != expected:
        return False, f"int8 output differs from the host build (checksum {rec.checksum} vs {expected})"
    return True, "bit-exact with the host build"


def _judge_learned(case, rec: CaseRecord) -> tuple[bool, str]:
    """A transform that is not an exact Winograd transform: the kernel is judged against the float64
    Winograd convolution with the same matrices (through the host build, whose output the board
    reproduces byte for byte), and the transform's own error is reported apart."""
    c = same_matrices_check(case)
    own = f"transform's own identity error {c['identity_error']:.2g}, rel L2 vs direct {c['transform_rel_l2']:.2g}"
    if case.bits == 8:
        if rec.checksum != _host_build_checksum(case):
            return False, f"int8 output differs from the host build; {own}"
        return True, f"bit-exact with the host build; {own}"
    tol = fp32_tolerance(case.layer.cin)
    if c["rel_l2"] > tol:
        return False, f"host build: relative L2 {c['rel_l2']:.3g} vs same-matrix Winograd above {tol:.2g}; {own}"
    if rec.checksum == c["checksum"]:
        return True, f"vs same-matrix Winograd: rel L2 {c['rel_l2']:.2g}; {own}"
    # Not the host build's bytes: the board's error against the direct convolution must at least be
    # within the tolerance of the transform's own error (triangle inequality).
    rel = (rec.error or {}).get("rel_l2")
    if rel is None or abs(rel - c["transform_rel_l2"]) > tol * (1 + c["transform_rel_l2"]):
        return False, f"output differs from the host build and its rel L2 {rel} vs direct is off the transform's; {own}"
    return True, f"differs from the host build bytes, consistent with the transform's error; {own}"


def _verify(args) -> int:
    layers = custom_layers(args.res, args.channels, args.cin, args.cout) if args.res else DEFAULT_LAYERS
    if not args.res and (args.channels or args.cin or args.cout):
        raise UsageError("--channels, --cin and --cout go with --res")
    cases = expand(layers, parse_algos(args.algo), parse_transforms(args.transform), parse_bits(args.bits))
    if not cases:
        raise UsageError("no case to verify: no transform file matches the chosen algorithms")
    boards = boards_from_args(args)

    print(f"{'board/core':<16} {'algo':<7} {'transform':<10} {'bits':>4} {'layer':<14} {'SQNR dB':>8} "
          f"{'max abs':>9} {'rel L2':>9}  result")
    failed = 0
    opts = StreamOptions(verify=True, reps=Repetition(min_reps=1, min_time_ms=1, warmup=0))
    for rec in run_farm(boards, args.core, [c.spec(i) for i, c in enumerate(cases)], opts):
        if not isinstance(rec, CaseRecord):
            continue
        case = cases[rec.line - 1]
        ok, note = judge(case, rec)
        failed += not ok
        err, l, where = rec.error or {}, case.layer, rec.where
        fmt = lambda v, f: "-" if v is None else format(v, f)
        transform = case.transform if len(case.transform) <= 10 else "..." + case.transform[-7:]
        print(f"{where.board}/{where.core:<{15 - len(where.board)}} {case.algo:<7} "
              f"{transform:<10} {case.bits:>4} {f'{l.h}x{l.w} {l.cin}->{l.cout}':<14} "
              f"{fmt(err.get('sqnr_db'), '8.1f'):>8} {fmt(err.get('max_abs'), '9.2e'):>9} "
              f"{fmt(err.get('rel_l2'), '9.2e'):>9}  {'ok' if ok else 'WRONG'} {note}".rstrip())
        sys.stdout.flush()
    if failed:
        raise MeasurementError(f"{failed} kernel result(s) wrong")
    print("all kernel results correct")
    return 0
