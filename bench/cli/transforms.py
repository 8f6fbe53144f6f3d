"""`bench transforms show|export|search`: print or write Cook-Toom transforms; `show --file` reads a
learned one; `search` looks for int8-friendly transforms (bench.numerics.search)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from bench.cli.options import add_parser
from bench.errors import UsageError, choice_error
from bench.files import replacing
from bench.numerics.winograd import cook_toom, format_matrix, identity_error, load_transform, parse_points, save_transform
from bench.numerics.search import SEARCH_MS, Swarm, check_scheme, comparison, particle_swarm, result_document


def register(sub) -> None:
    p = add_parser(sub, "transforms", "show, export or search Winograd transform matrices",
                   "bench transforms show --m 4 --points 0,1,-1,1/2,-2\nbench transforms search --m 4 --out f4.json")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    show = add_parser(actions, "show", "print AT, G, BT (exact fractions for Cook-Toom transforms)",
                      "bench transforms show --m 6\nbench transforms show --file flex_f4.json")
    _add_generator_args(show)
    show.add_argument("--file", help="show a transform file (.json, .npz, .txt) instead of generating one")
    show.set_defaults(func=_show)

    export = add_parser(actions, "export", "write a transform file that load_transform reads back",
                        "bench transforms export --m 4 --points 0,-1,1,1/2,-2 --out barabasz_f4.json")
    _add_generator_args(export)
    export.add_argument("--out", required=True, help="output path ending in .json, .npz or .txt")
    export.set_defaults(func=_export)

    search = add_parser(actions, "search", "particle-swarm search for an int8-friendly transform (data-free)",
                        "bench transforms search --m 4 --scheme tensor --iterations 40 --out pso_f4.json",
                        "Writes the best transform with its provenance; use it with bench run --transform FILE.")
    search.add_argument("--m", type=int, default=4, help="outputs per tile: 2, 4 or 6 (default 4)")
    search.add_argument("--scheme", default="tensor", help="int8 scheme to optimise: tensor, tap or wide (default tensor)")
    search.add_argument("--particles", type=int, default=24, help="swarm size, 2 to 512 (default 24)")
    search.add_argument("--iterations", type=int, default=40, help="iterations, 1 to 10000 (default 40)")
    search.add_argument("--seed", type=int, default=0, help="seed of the swarm and of the training data (default 0)")
    search.add_argument("--time-budget", type=float, default=1800.0,
                        help="seconds; the search stops after the iteration that passes it (default 1800)")
    search.add_argument("--out", required=True, help="transform file to write (.json, with provenance)")
    search.set_defaults(func=_search)


def _add_generator_args(p) -> None:
    p.add_argument("--m", type=int, default=4, help="outputs per tile (default 4)")
    p.add_argument("--r", type=int, default=3, help="filter taps (default 3)")
    p.add_argument("--points", help="finite interpolation points, e.g. 0,1,-1,1/2,-2 (infinity is implied)")


def _generate(args):
    try:
        points = parse_points(args.points) if args.points is not None else None
        return cook_toom(args.m, args.r, points)
    except ValueError as e:
        raise UsageError(str(e)) from None


def _show(args) -> int:
    if args.file:
        try:
            t = load_transform(args.file)
        except ValueError as e:
            raise UsageError(str(e)) from None
        print(f"{t.name} from {args.file} (identity error {identity_error(t):.3g})")
        mats = (t.AT, t.G, t.BT)
    else:
        t = _generate(args)
        print(f"{t.name} Cook-Toom, points {', '.join(map(str, t.points))} and infinity")
        mats = t.exact
    for name, mat in zip(("AT", "G", "BT"), mats):
        print(format_matrix(name, mat))
    return 0


TRANSFORM_SUFFIXES = (".json", ".npz", ".txt")


def _export(args) -> int:
    path = Path(args.out)
    if path.suffix.lower() not in TRANSFORM_SUFFIXES:
        raise choice_error(f"transform file type of {path}:", path.suffix, TRANSFORM_SUFFIXES)
    t = _generate(args)
    with replacing(path) as tmp:  # whole or not at all; a machine error (read-only, full) exits 1
        save_transform(t, tmp)
    print(f"wrote {t.name} to {path}")
    return 0


def _check_search_args(args) -> None:
    """Every flag checked before any work, each refusal naming the value and what is accepted."""
    if args.m not in SEARCH_MS:
        raise UsageError(f"bad --m {args.m}; accepted: {', '.join(map(str, SEARCH_MS))} (the kernels' tile sizes)")
    try:
        check_scheme(args.scheme)
    except ValueError as e:
        raise UsageError(str(e)) from None
    for flag, value, low, high in (("--particles", args.particles, 2, 512), ("--iterations", args.iterations, 1, 10000),
                                   ("--seed", args.seed, 0, 2 ** 32 - 1)):
        if not low <= value <= high:
            raise UsageError(f"bad {flag} {value}; accepted: {low} to {high}")
    if not 0 < args.time_budget <= 7 * 86400:  # also refuses nan
        raise UsageError(f"bad --time-budget {args.time_budget}; accepted: seconds above 0, at most a week")
    out = Path(args.out)
    if out.suffix.lower() != ".json":
        raise UsageError(f"bad --out {args.out!r}: the search writes a .json transform file (it holds the provenance)")
    if out.exists():
        raise UsageError(f"--out {args.out!r} already exists; choose a new path")
    if not out.parent.is_dir():
        raise UsageError(f"bad --out {args.out!r}: directory {str(out.parent)!r} does not exist")


def _search(args) -> int:
    from tqdm import tqdm

    _check_search_args(args)
    swarm = Swarm(args.particles, args.iterations, args.seed, args.time_budget)
    with tqdm(total=args.iterations, desc=f"PSO F({args.m},3) {args.scheme}", unit="it", file=sys.stderr,
              disable=True if args.quiet else None) as bar:
        def progress(best_db):
            bar.update(1)
            bar.set_postfix_str(f"best {best_db:.2f} dB")
        result = particle_swarm(args.m, args.scheme, swarm, progress)
    if result.stopped_by_budget:
        print(f"time budget reached after {result.iterations_done} of {args.iterations} iterations")
    rows = comparison(args.m, args.scheme, result.best)
    doc = result_document(args.m, args.scheme, swarm, result, rows, "bench " + shlex.join(args.argv))
    path = Path(args.out)
    try:
        with replacing(path) as tmp:
            tmp.write_text(json.dumps(doc, indent=1) + "\n")
    except OSError as e:
        raise UsageError(f"cannot write {args.out}: {e.strerror}") from None
    print(f"training objective {result.objective_db:.2f} dB after {result.evaluations} distinct transforms")
    print(format_comparison(rows))
    print(f"wrote F({args.m},3) {args.scheme} transform to {path}")
    return 0


def format_comparison(rows: dict) -> str:
    """Held-out SQNR table: one row per transform, one column per held-out shape."""
    shapes = list(next(iter(rows.values()))["held_out_sqnr_db"])
    lines = [f"{'transform':<20}" + "".join(f"{s:>16}" for s in shapes) + "   points"]
    for name, row in rows.items():
        lines.append(f"{name:<20}" + "".join(f"{row['held_out_sqnr_db'][s]:>16.2f}" for s in shapes)
                     + "   " + " ".join(row["points"]))
    return "held-out SQNR dB vs float64 direct (Gaussian, seeds unseen by the search):\n" + "\n".join(lines)
