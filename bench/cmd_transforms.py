"""`bench transforms show|export`: print or write Cook-Toom transforms; `show --file` reads a learned one."""

from __future__ import annotations

from pathlib import Path

from bench.errors import UsageError, choice_error
from bench.outfiles import replacing
from bench.winograd import cook_toom, format_matrix, identity_error, load_transform, parse_points, save_transform


def register(sub) -> None:
    p = sub.add_parser("transforms", help="show or export Winograd transform matrices")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    show = actions.add_parser("show", help="print AT, G, BT (exact fractions for Cook-Toom transforms)")
    _add_generator_args(show)
    show.add_argument("--file", help="show a transform file (.json, .npz, .txt) instead of generating one")
    show.set_defaults(func=_show)

    export = actions.add_parser("export", help="write a transform file that load_transform reads back")
    _add_generator_args(export)
    export.add_argument("--out", required=True, help="output path ending in .json, .npz or .txt")
    export.set_defaults(func=_export)


def _add_generator_args(p) -> None:
    p.add_argument("--m", type=int, default=4, help="outputs per tile (default 4)")
    p.add_argument("--r", type=int, default=3, help="filter taps (default 3)")
    p.add_argument("--points", help="finite interpolation points, e.g. 0,1,-1,1/2,-2 (infinity is implied)")


def _generate(args):
    try:
        points = parse_points(args.points) if args.points else None
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
