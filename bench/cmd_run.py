"""`bench run`: sweep layers x operators on a board's cores into a latency table (handbook contract).

Everything the user typed is validated before anything is built or measured; every finished case is
in the results at once, so Ctrl-C leaves a valid table and `--resume` measures only what is missing.
"""

from __future__ import annotations

import datetime
import shlex
import sys
from pathlib import Path

from bench.cases import ALGOS, PRESETS, custom_layers, expand, parse_bits, parse_choices, parse_transforms, preset_layers
from bench.board_args import add_board_arguments, boards_from_args
from bench.errors import MeasurementError, UsageError

TABLES = Path("tables")


def register(sub) -> None:
    p = sub.add_parser("run", help="measure latency tables on a board (default: this machine)")
    where = p.add_argument_group("where")
    add_board_arguments(where, multiple=True)
    where.add_argument("--core", help="core type (a53, a73, ..., host), big, little or all (default: all)")
    where.add_argument("--threads", type=int, default=1, help="threads, each pinned to one CPU of the cluster (default 1)")
    what = p.add_argument_group("what")
    what.add_argument("--bits", default="8,32", help="8, 32 or 8,32 (default)")
    what.add_argument("--algo", default=",".join(ALGOS), help=f"comma-separated from {', '.join(ALGOS)} (default: all)")
    what.add_argument("--transform", default="static,learned",
                      help="static, learned, pso (shipped, found by `bench transforms search`) and/or transform files (.json/.npz/.txt) (default: static,learned)")
    what.add_argument("--preset", help=f"layer set: {', '.join(PRESETS)} (default: resnet18-cifar)")
    what.add_argument("--width", type=float, default=1.0, help="resnet18-cifar width multiplier: 0.5 or 1.0")
    what.add_argument("--res", help="resolutions, e.g. 8,16,32 (H = W)")
    what.add_argument("--channels", help="channel counts with Cin = Cout, e.g. 32,64")
    what.add_argument("--cin", help="input channel counts (with --cout, all pairs)")
    what.add_argument("--cout", help="output channel counts")
    how = p.add_argument_group("how")
    how.add_argument("--reps", type=int, default=10, help="minimum timed repetitions per case (default 10)")
    how.add_argument("--min-time-ms", type=int, default=200, help="minimum timed milliseconds per case (default 200)")
    how.add_argument("--no-errors", action="store_true", help="skip the error figures (SQNR etc.)")
    how.add_argument("--out", help="results directory (default: tables/<board>-<date>)")
    how.add_argument("--resume", action="store_true", help="continue the results in --out, measuring only what is missing")
    p.set_defaults(func=_run)


def _layers(args):
    if args.preset and args.res:
        raise UsageError("give either --preset or --res, not both")
    if args.res:
        return custom_layers(args.res, args.channels, args.cin, args.cout)
    if args.channels or args.cin or args.cout:
        raise UsageError("--channels, --cin and --cout go with --res")
    if args.width != 1.0 and args.preset not in (None, "resnet18-cifar"):
        raise UsageError("--width applies to the resnet18-cifar preset only")
    return preset_layers(args.preset or "resnet18-cifar", args.width)


def _positive(value: int, flag: str) -> int:
    if value < 1:
        raise UsageError(f"bad {flag} {value}; accepted: a whole number >= 1")
    return value


def _run(args) -> int:
    from bench.health import unstable_warnings
    from bench.probe import probe_board
    from bench.results import ResultsDir
    from bench.sweep import Settings, plan, progress_bar, run, summary

    # 1. Validate everything first: nothing is built or measured on bad input.
    layers = _layers(args)
    bits = parse_bits(args.bits)
    algos = parse_choices(args.algo, "algo", ALGOS)
    transforms = parse_transforms(args.transform)
    settings = Settings(threads=_positive(args.threads, "--threads"), min_reps=_positive(args.reps, "--reps"),
                        min_time_ms=_positive(args.min_time_ms, "--min-time-ms"), errors=not args.no_errors)
    if args.resume and not args.out:
        raise UsageError("--resume needs --out DIR, the results directory to continue")
    boards = boards_from_args(args)
    boards = [b if b.clusters else probe_board(b) for b in boards]  # known by address only: ask the board
    cases = expand(layers, algos, transforms, bits)
    if not cases:
        raise UsageError("no case to measure: no transform file matches the chosen algorithms")
    out = Path(args.out) if args.out else _default_out(boards)
    results = ResultsDir.create(out, resume=args.resume)
    todo = plan(boards, args.core, cases, results, settings.threads)

    # 2. Measure.
    print(f"bench run: {len(todo)} of {len(cases)} cases to measure on "
          f"{', '.join(b.name for b in boards)} (core {args.core or 'all'}) -> {out}", file=sys.stderr)
    bar, progress = progress_bar(sum(c.work for c in todo) * _targets(boards, args.core))
    try:
        counts = run(boards, args.core, todo, settings, results, "bench " + shlex.join(args.argv), progress)
    except KeyboardInterrupt:
        print(f"bench run: interrupted; the {len(results.rows)} cases measured so far are in {out} "
              f"(continue with: bench run --resume --out {out} ...)", file=sys.stderr)
        return 130
    finally:
        bar.close()
    _link_latest(out)

    # 3. Report.
    df = results.dataframe()
    print(summary(df))
    for w in counts["warnings"] + unstable_warnings(df):
        print(f"warning: {w}")
    print(f"\nresults: {out / 'latency.csv'} ({counts['ok']} ok, {counts['error']} failed this run); "
          f"raw samples and metadata: {out / 'raw.json'}")
    if counts["error"]:
        failed = [r for r in results.rows if r["status"] != "ok"]
        for r in failed[:5]:
            print(f"  failed: {r['board']}/{r['core']} {r['algo']} {r['transform']} {r['bits']}-bit "
                  f"{r['h']}x{r['w']}x{r['cin']}->{r['cout']}: {r['error_kind']}: {r['message']}", file=sys.stderr)
        raise MeasurementError(f"{counts['error']} case(s) failed; see the status column of {out / 'latency.csv'}")
    return 0


def _targets(boards, core_arg) -> int:
    from bench.boards import resolve_core

    return max(1, sum(len(resolve_core(b, core_arg)) for b in boards) // max(1, len(boards)))


def _default_out(boards) -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return TABLES / f"{'+'.join(b.name for b in boards)}-{stamp}"


def _link_latest(out: Path) -> None:
    """tables/latest -> the newest results directory under tables/ (for the README's commands)."""
    if out.resolve().parent != TABLES.resolve():
        return
    latest = TABLES / "latest"
    if latest.is_symlink() or not latest.exists():
        tmp = TABLES / ".latest.tmp"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(out.name)
        tmp.replace(latest)
