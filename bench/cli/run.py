"""`bench run`: sweep layers x operators on a board's cores into a latency table (tables/README.md).

Everything the user typed is validated before anything is built or measured; then the results
directory's lock is taken, before the results are read or any board is reached, so a second writer
is refused whatever stage the first is in. Every finished case is in the results at once, so Ctrl-C
leaves a valid table and `--resume` measures only what is missing.
"""

from __future__ import annotations

import datetime
import shlex
import sys
import time
from pathlib import Path

from bench.boards.profiles import check_core_arg
from bench.cli.options import add_board_arguments, add_parser, boards_from_args, default_results_root
from bench.errors import MeasurementError, UsageError
from bench.files import check_name
from bench.layers import PRESETS, custom_layers, load_layers, preset_layers, with_filters
from bench.measure.cases import check_weights, check_winograd, engine_cases, expand, parse_transforms
from bench.measure.health import profile_mismatches, unstable_warnings
from bench.measure.protocol import MAX_MIN_TIME_MS, MAX_REPS, MAX_RUNNER_CPUS, Repetition
from bench.measure.results import ResultsDir, ResultsLock
from bench.measure.sweep import Plan, Settings, progress_bar, run, summary, todo
from bench.measure.targets import close_all, connect_all, plan_targets
from bench.native.build import BUILD_DIR, compile_jobs, reporting
from bench.operators import (ALGOS, ENGINES, OUR_ENGINE, REQUANTS, SCHEMES, operator_label, parse_algos, parse_bits,
                             parse_engines, parse_requants, parse_schemes)


def register(sub) -> None:
    p = add_parser(sub, "run", "measure latency tables on a board's cores",
                   "bench run --board hikey960 --core a73 --bits 8 --preset resnet18-cifar --width 0.5",
                   "Every layer x algorithm x transform x bit width is measured by the on-board runner and "
                   "appended to latency.csv and raw.jsonl at once (Ctrl-C keeps what is measured; --resume "
                   "continues). Without --out the results go to ./tables/<board>-<date> when run from the "
                   "winobench checkout, else to the per-user data directory ($XDG_DATA_HOME/winobench/tables, "
                   "default ~/.local/share/winobench/tables); `latest` there points at the newest.")
    where = p.add_argument_group("where")
    add_board_arguments(where, multiple=True)
    where.add_argument("--core", help="core type (a53, a73, ..., host), big, little or all (default: all)")
    where.add_argument("--threads", type=int, default=1,
                       help=f"threads, each pinned to one CPU of the cluster (default 1; at most {MAX_RUNNER_CPUS})")
    what = p.add_argument_group("what")
    what.add_argument("--bits", default="8,32", help="8, 32 or 8,32 (default)")
    what.add_argument("--algo", default=",".join(ALGOS), help=f"comma-separated from {', '.join(ALGOS)} (default: all)")
    what.add_argument("--transform", default="static,learned",
                      help="static, learned, pso (shipped, found by `bench transforms search`) and/or transform files (.json/.npz/.txt) (default: static,learned)")
    what.add_argument("--scheme", default="tensor",
                      help=f"int8 Winograd quantization schemes, from {', '.join(SCHEMES)} (default: tensor); "
                           f"other cases have scheme none")
    what.add_argument("--engine", default=OUR_ENGINE,
                      help=f"who runs the convolutions, from {', '.join(ENGINES)} (default: {OUR_ENGINE}, "
                           f"this project's kernels); the others are production engines measured on the same "
                           f"layers in their own fp32 and int8 paths (pip install 'winobench[engines]')")
    what.add_argument("--requant", default=REQUANTS[0],
                      help=f"int8 requantization forms, from {', '.join(REQUANTS)} (default: {REQUANTS[0]}, the "
                           f"fixed-point multiply; fp32: through a float multiply); fp32 cases have requant none")
    what.add_argument("--preset", help=f"layer set: {', '.join(PRESETS)} (default: resnet18-cifar)")
    what.add_argument("--layers", help="a network file (JSON/TOML, README: Network files); a layer with its own "
                                       "transform file is measured with it too (bench transforms import writes one)")
    what.add_argument("--accept-inexact", action="store_true",
                      help="measure a layer's own transform even when it is not a Winograd transform")
    what.add_argument("--width", type=float, default=1.0, help="resnet18-cifar width multiplier: 0.5 or 1.0")
    what.add_argument("--res", help="resolutions, e.g. 8,16,32 (H = W)")
    what.add_argument("--channels", help="channel counts with Cin = Cout, e.g. 32,64")
    what.add_argument("--cin", help="input channel counts (with --cout, all pairs)")
    what.add_argument("--cout", help="output channel counts")
    what.add_argument("--kernel-size", help="with --res: filter sizes from 1, 3, 5, 7 (default 3; Winograd takes 3 only)")
    what.add_argument("--stride", help="with --res: strides, 1 and/or 2 (default 1; Winograd takes 1 only); "
                                       "padding is k // 2")
    how = p.add_argument_group("how")
    how.add_argument("--reps", type=int, default=10, help=f"minimum timed repetitions per case (default 10, at most {MAX_REPS})")
    how.add_argument("--min-time-ms", type=float, default=200,
                     help=f"minimum timed milliseconds per case (default 200, at most {MAX_MIN_TIME_MS})")
    how.add_argument("--case-timeout", type=float,
                     help="seconds a case may run before it becomes a timeout row (default: from its work)")
    how.add_argument("--no-errors", action="store_true", help="skip the error figures (SQNR etc.)")
    how.add_argument("--out", help=f"results directory (default: {default_results_root()}/<board>-<date>)")
    how.add_argument("--resume", action="store_true", help="continue the results in --out, measuring only what is missing")
    how.add_argument("--mix-settings", action="store_true",
                     help="with --resume: accept a directory measured with other repetition/thread settings")
    p.set_defaults(func=_run)


def _layers(args):
    if sum(x is not None for x in (args.preset, args.res, args.layers)) > 1:
        raise UsageError("give one of --preset, --res and --layers")
    if args.accept_inexact and args.layers is None:
        raise UsageError("--accept-inexact goes with --layers")
    if args.res is not None:
        if args.width != 1.0:
            raise UsageError("--width applies to the resnet18-cifar preset, not to --res")
        return with_filters(custom_layers(args.res, args.channels, args.cin, args.cout), args.kernel_size, args.stride)
    if args.channels or args.cin or args.cout or args.kernel_size or args.stride:
        raise UsageError("--channels, --cin, --cout, --kernel-size and --stride go with --res")
    if args.layers is not None:
        if args.width != 1.0:
            raise UsageError("--width applies to the resnet18-cifar preset, not to --layers")
        layers = load_layers(args.layers)
        check_winograd(layers, args.accept_inexact)
        check_weights(layers)
        return layers
    if args.width != 1.0 and args.preset not in (None, "resnet18-cifar", "resnet18-cifar-full"):
        raise UsageError("--width applies to the resnet18-cifar presets only")
    return preset_layers(args.preset or "resnet18-cifar", args.width)


def _settings(args) -> Settings:
    """The repetition and sweep settings, each bad value named by its flag."""
    flags = {"min_reps": "--reps", "min_time_ms": "--min-time-ms", "threads": "--threads", "case_timeout": "--case-timeout"}
    try:
        reps = Repetition(min_reps=args.reps, min_time_ms=args.min_time_ms)
        return Settings(threads=args.threads, reps=reps, errors=not args.no_errors, case_timeout=args.case_timeout).check()
    except ValueError as e:
        name = str(e).split()[1]
        raise UsageError(str(e).replace(f"bad {name}", f"bad {flags.get(name, name)}", 1)) from None


def _cases(args, layers) -> list:
    """The cases the command line asks for: this project's kernels (if its engine is among
    --engine), then the production engines'."""
    bits, engines = parse_bits(args.bits), parse_engines(args.engine)
    algos, transforms = parse_algos(args.algo), parse_transforms(args.transform)
    schemes, requants = parse_schemes(args.scheme), parse_requants(args.requant)
    ours = expand(layers, algos, transforms, bits, schemes, requants) if OUR_ENGINE in engines else []
    return ours + engine_cases(layers, bits, engines)


def _run(args) -> int:
    # 1. Validate everything first: nothing is built, measured or written on bad input.
    layers = _layers(args)
    cases = _cases(args, layers)
    settings = _settings(args)
    if args.resume and not args.out:
        raise UsageError("--resume needs --out DIR, the results directory to continue")
    if args.mix_settings and not args.resume:
        raise UsageError("--mix-settings goes with --resume")
    if not cases:
        raise UsageError("no case to measure: no transform file matches the chosen algorithms, or the layers are "
                         "not 3x3 stride 1 (Winograd's only filter; add im2row to --algo)")
    if args.out == "":
        raise UsageError("empty --out; give a results directory")
    check_core_arg(args.core)
    boards = boards_from_args(args)
    out = Path(args.out) if args.out is not None else _default_out(boards)

    # 2. The lock, then the results (read under it), then every board reached and probed once and
    # cores and CPUs resolved (still nothing written).
    with ResultsLock(out) as lock:
        results = ResultsDir.create(out, resume=args.resume, settings=settings.compared(),
                                    mix_settings=args.mix_settings, lock=lock)
        reached = connect_all(boards)
        try:
            targets, warnings = _plan(reached, args.core, settings.threads)
            plan = Plan(reached, targets, todo(targets, cases, results))
            with results:
                return _measure(args, plan, len(cases), settings, results, warnings)
        finally:
            close_all(reached)


def _plan(reached, core_arg, threads):
    """Targets of the reachable boards and the profile warnings; MeasurementError (one line) when
    no board can be reached, a warning per unreachable board of a farm."""
    down = [r for r in reached.values() if not r.up]
    if len(down) == len(reached):
        raise MeasurementError("; ".join(r.failure for r in down))
    for r in down:
        print(f"bench run: warning: {r.failure}; the other boards go on", file=sys.stderr)
    warnings = [w for r in reached.values() if r.up for w in profile_mismatches(r.profile, r.topology)]
    targets = plan_targets(reached, core_arg, threads)  # a refusal first, without the warnings before it
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return targets, warnings


def _measure(args, plan: Plan, n_cases: int, settings, results, profile_warnings) -> int:
    out, reached, targets, missing = results.path, plan.reached, plan.targets, plan.cases
    if not args.quiet:
        print(f"bench run: {len(missing)} of {n_cases} cases to measure on "
              f"{', '.join(sorted({t.board.name for t in targets}))} (core {args.core or 'all'}) -> {out}", file=sys.stderr)
    per_board = max(1, len(targets) // max(1, len({t.board.name for t in targets})))
    bar, progress = progress_bar(sum(c.work for c in missing) * per_board, len(missing) * per_board,
                                 quiet=args.quiet, verbose=args.verbose)
    meta = {"command": "bench " + shlex.join(args.argv), "boards": [r.board.name for r in reached.values()],
            "core": args.core or "all", "profile_warnings": profile_warnings}
    try:
        with reporting(_build_report(bar, args.quiet)):
            counts = run(plan, settings, results, meta, progress)
    except KeyboardInterrupt:
        print(f"bench run: interrupted; the {len(results.rows)} cases measured so far are in {out} "
              f"(continue with: bench run --resume --out {out} ...)", file=sys.stderr)
        return 130
    finally:
        bar.close()
    if _feeds_a_lut(results):
        _link_latest(out)
    return _report(results, counts)


def _build_report(bar, quiet: bool):
    """Builds before the first case, shown: a line when one starts and ends, its files counted on the bar."""
    started = {}

    def report(what: str, done: int, total: int) -> None:
        if quiet:
            return
        from tqdm import tqdm

        if done == 0:
            started[what] = time.monotonic()
            tqdm.write(f"bench run: building {what}: {total} files, {compile_jobs()} at once "
                       f"(once per version of the sources; cached in {BUILD_DIR})", file=sys.stderr)
        bar.set_description_str(f"building {what}: {done}/{total} files")
        if done == total:
            tqdm.write(f"bench run: built {what} in {time.monotonic() - started.get(what, time.monotonic()):.0f} s",
                       file=sys.stderr)
            bar.set_description_str("")

    return report


def _report(results, counts) -> int:
    out = results.path
    df = results.dataframe()
    print(summary(df))
    for w in counts["warnings"] + unstable_warnings(df):
        print(f"warning: {w}")
    print(f"\nresults: {out / 'latency.csv'} ({counts['ok']} ok, {counts['error']} failed this run); "
          f"raw samples and metadata: {out / 'raw.jsonl'}")
    if counts["error"]:
        failed = [r for r in results.rows if r["status"] != "ok"]
        for r in failed[:5]:
            print(f"  failed: {r['board']}/{r['core']} {operator_label(r['algo'], r['transform'], r.get('engine'))} {r['bits']}-bit "
                  f"{r['h']}x{r['w']}x{r['cin']}->{r['cout']}: {r['error_kind']}: {r['message']}", file=sys.stderr)
        raise MeasurementError(f"{counts['error']} case(s) failed; see the status column of {out / 'latency.csv'}")
    return 0


def _default_out(boards) -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return default_results_root() / f"{'+'.join(check_name(b.name) for b in boards)}-{stamp}"


def _feeds_a_lut(results) -> bool:
    """Whether the table has a successful case measured on real cores or the host (not under qemu):
    only such a run becomes `latest`, so `bench lut tables/latest` always has something to read."""
    return any(r["status"] == "ok" and not r.get("emulated") and r.get("where") != "emulated" for r in results.rows)


def _link_latest(out: Path) -> None:
    """latest -> the newest results directory of the default results root whose rows can feed a LUT
    (for the README's commands)."""
    root = default_results_root()
    if out.resolve().parent != root.resolve():
        return
    latest = root / "latest"
    if latest.is_symlink() or not latest.exists():
        tmp = root / ".latest.tmp"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(out.name)
        tmp.replace(latest)
