"""Winograd F(m, r) transforms: an exact Cook-Toom generator and transform files.

The 1-D algorithm computes m outputs of an r-tap correlation, y_i = sum_k g_k d_(i+k), from a = m + r - 1
inputs as  y = AT [(G g) * (BT d)],  and the 2-D one nests it:  Y = AT [(G g G^T) * (BT d B)] A.

Cook-Toom construction (the transposed Toom-Cook polynomial product), with a - 1 finite points p_j
and the point at infinity:
    AT[i, j] = p_j^i                 (infinity column: e_(m-1))
    G[j, k]  = p_j^k / f_j,  f_j = prod_(l != j) (p_j - p_l)      (infinity row: e_(r-1))
    BT[j, :] = coefficients of prod_(l != j) (x - p_l), lowest power first
    BT[inf]  = coefficients of prod_l (x - p_l)
Everything is built in exact rationals and the convolution identity is checked exactly before the
float64 matrices are returned. The divisions live in G, so BT and AT are integral for integer points,
which is what the int8 pipeline (bench.numerics.reference) wants: G is applied offline.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from bench.files import read_bytes
from bench.numerics.matrix_quant import BT_AT_LIMIT, G_LIMIT, quantize_matrix
from bench.operators import NAMED_TRANSFORMS

# Points in the order the defaults take them: F(2,3) uses the first 3, F(4,3) 5, F(6,3) 7.
_DEFAULT_POINT_SEQUENCE = ("0", "1", "-1", "2", "-2", "1/2", "-1/2", "3", "-3", "1/3", "-1/3",
                           "4", "-4", "1/4", "-1/4")
DEFAULT_POINTS = tuple(Fraction(p) for p in _DEFAULT_POINT_SEQUENCE)

# Lower-error points of Barabasz et al. 2018.
BARABASZ_POINTS = {
    (4, 3): tuple(Fraction(p) for p in ("0", "-1", "1", "1/2", "-2")),
    (6, 3): tuple(Fraction(p) for p in ("0", "-1", "1", "1/2", "-1/2", "2", "-2")),
}


@dataclass(frozen=True)
class Transform:
    """A Winograd transform F(m, r): float64 AT (m x a), G (a x r), BT (a x a).

    `points` are the finite Cook-Toom points for generated transforms and None for learned ones;
    `exact` holds the rational matrices (AT, G, BT) of generated transforms.
    """

    m: int
    r: int
    AT: np.ndarray
    G: np.ndarray
    BT: np.ndarray
    points: tuple[Fraction, ...] | None = None
    exact: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def a(self) -> int:
        return self.m + self.r - 1

    @property
    def name(self) -> str:
        return f"F({self.m},{self.r})"


# Bounds on user input, so that nothing overflows float32 and no request runs for minutes.
MAX_M = 16            # outputs per tile; the exact identity check of F(16,3) takes well under a second
MAX_R = 7             # filter taps
MAX_POINT = 64        # |point| and a point's denominator bound the exact arithmetic and float32 range
MAX_POINT_DENOMINATOR = 4096
MAX_ENTRY = 2.0 ** 16  # largest |entry| of a transform matrix: keeps AT G^2 BT^2 AT products in float32
MAX_FILE_BYTES = 1 << 20  # a transform file is a few kB; refuse anything past 1 MiB unread
_POINT_RE = re.compile(r"[+-]?(\d{1,12}(/\d{1,12})?|\d{0,12}\.\d{1,12})")


def parse_point(text: str) -> Fraction:
    """'-1/2', '3', '0.75' -> Fraction; ValueError naming the bad item and what is accepted."""
    item = text.strip()
    accepted = (f"expected a rational such as 2, -1/2 or 0.75 with |point| <= {MAX_POINT} and "
                f"denominator <= {MAX_POINT_DENOMINATOR}")
    if not _POINT_RE.fullmatch(item):
        raise ValueError(f"bad interpolation point {item[:40]!r}; {accepted}")
    try:
        p = Fraction(item)
    except ZeroDivisionError:
        raise ValueError(f"bad interpolation point {item!r} (division by zero); {accepted}") from None
    if abs(p) > MAX_POINT or p.denominator > MAX_POINT_DENOMINATOR:
        raise ValueError(f"bad interpolation point {item!r}; {accepted}")
    return p


def parse_points(text: str) -> tuple[Fraction, ...]:
    """'0,1,-1,1/2,-2' -> Fractions; ValueError naming the bad item."""
    items = text.split(",")
    if len(items) > MAX_M + MAX_R:
        raise ValueError(f"too many interpolation points ({len(items)}); F(m,r) takes m + r - 2, "
                         f"at most {MAX_M + MAX_R - 2}")
    return tuple(parse_point(item) for item in items)


def _poly_from_roots(roots) -> list[Fraction]:
    """Coefficients, lowest power first, of prod (x - root)."""
    coeffs = [Fraction(1)]
    for root in roots:
        shifted = [Fraction(0)] + coeffs          # x * p(x)
        for i, c in enumerate(coeffs):
            shifted[i] -= root * c                # - root * p(x)
        coeffs = shifted
    return coeffs


def exact_matrices(m: int, r: int, points) -> tuple[list, list, list]:
    """The rational AT, G, BT (lists of rows of Fractions) for F(m, r) at the given finite points."""
    a = m + r - 1
    pts = [Fraction(p) for p in points]
    AT = [[p ** i for p in pts] + [Fraction(int(i == m - 1))] for i in range(m)]
    G = []
    BT = []
    for j, pj in enumerate(pts):
        others = pts[:j] + pts[j + 1:]
        f = math.prod((pj - pl for pl in others), start=Fraction(1))
        G.append([pj ** k / f for k in range(r)])
        BT.append(_poly_from_roots(others) + [Fraction(0)])
    G.append([Fraction(int(k == r - 1)) for k in range(r)])
    BT.append(_poly_from_roots(pts))
    assert len(BT) == a and all(len(row) == a for row in BT)
    return AT, G, BT


def identity_holds_exactly(AT, G, BT) -> bool:
    """True when AT[(G g) * (BT d)] equals the correlation for every g and d, in exact arithmetic:
    sum_j AT[i][j] G[j][k] BT[j][l] == [l == i + k] for all i, k, l."""
    m, a, r = len(AT), len(BT), len(G[0])
    for i in range(m):
        for k in range(r):
            for l in range(a):
                s = sum(AT[i][j] * G[j][k] * BT[j][l] for j in range(a))
                if s != (1 if l == i + k else 0):
                    return False
    return True


def cook_toom(m: int, r: int = 3, points=None) -> Transform:
    """The Cook-Toom transform F(m, r) at the given finite points (infinity implied).

    Default points: the first m + r - 2 of 0, 1, -1, 2, -2, 1/2, -1/2, 3, -3, ... Raises ValueError for
    m outside 1..MAX_M, r outside 1..MAX_R, a wrong number of points, points out of bounds, or
    repeated points.
    """
    if isinstance(m, bool) or not (isinstance(m, int) and 1 <= m <= MAX_M):
        raise ValueError(f"bad m {m!r}; accepted: whole numbers from 1 to {MAX_M}")
    if isinstance(r, bool) or not (isinstance(r, int) and 1 <= r <= MAX_R):
        raise ValueError(f"bad r {r!r}; accepted: whole numbers from 1 to {MAX_R}")
    a = m + r - 1
    if points is None:
        if a - 1 > len(DEFAULT_POINTS):
            raise ValueError(f"no default points for F({m},{r}); pass {a - 1} points")
        points = DEFAULT_POINTS[: a - 1]
    points = tuple(parse_point(str(Fraction(p))) for p in points)
    if len(points) != a - 1:
        raise ValueError(f"F({m},{r}) needs {a - 1} finite points, got {len(points)}")
    if len(set(points)) != len(points):
        raise ValueError(f"interpolation points must be distinct, got {[str(p) for p in points]}")
    return _checked_exact(m, r, exact_matrices(m, r, points), points)


def _checked_exact(m: int, r: int, exact, points) -> Transform:
    """A Transform from rational matrices whose identity is verified exactly first."""
    if not identity_holds_exactly(*exact):  # a construction bug, never a user error
        raise AssertionError(f"Winograd identity failed for F({m},{r}) at {points}")
    as_float = lambda rows: np.array([[float(v) for v in row] for row in rows], dtype=np.float64)
    AT, G, BT = exact
    return Transform(m, r, as_float(AT), as_float(G), as_float(BT), points, exact)


def diagonal_scaling(t: Transform, exp_B, exp_G) -> Transform:
    """Cook-Toom transform t with row j of BT times 2^exp_B[j], row j of G times 2^exp_G[j] and
    column j of AT divided by both: the same convolution, checked exactly, other int8 ranges."""
    if t.exact is None:
        raise ValueError("diagonal scaling needs a generated (exact) transform")
    exp_B, exp_G = [int(e) for e in exp_B], [int(e) for e in exp_G]
    if len(exp_B) != t.a or len(exp_G) != t.a:
        raise ValueError(f"{t.name} takes {t.a} exponents for BT and for G")
    AT, G, BT = t.exact
    two = Fraction(2)
    BT = [[two ** e * v for v in row] for row, e in zip(BT, exp_B)]
    G = [[two ** e * v for v in row] for row, e in zip(G, exp_G)]
    AT = [[v / two ** (eb + eg) for v, eb, eg in zip(row, exp_B, exp_G)] for row in AT]
    return _checked_exact(t.m, t.r, (AT, G, BT), t.points)


def identity_error(t: Transform) -> float:
    """Max abs deviation of the float64 matrices from the exact identity (0 up to rounding for
    Cook-Toom; learned transforms may drift from it)."""
    prod = np.einsum("ij,jk,jl->ikl", t.AT, t.G, t.BT)
    target = np.zeros_like(prod)
    for i in range(t.m):
        for k in range(t.r):
            target[i, k, i + k] = 1.0
    return float(np.max(np.abs(prod - target)))


# ---------------------------------------------------------------------------------------------
# Transform files: .json and .npz (learned transforms), .txt (the on-board runner's format).

def _matrix_field(fields: dict, name: str, source: str) -> np.ndarray:
    if name not in fields:
        raise ValueError(f"{source}: missing field {name!r}")
    try:
        arr = np.asarray(fields[name], dtype=np.float64)
    except (TypeError, ValueError, OverflowError, RecursionError):
        raise ValueError(f"{source}: field {name!r} is not a numeric matrix") from None
    if arr.ndim != 2 or 0 in arr.shape or max(arr.shape) > MAX_M + MAX_R:
        raise ValueError(f"{source}: field {name!r} must be a non-empty 2-D matrix of at most "
                         f"{MAX_M + MAX_R} x {MAX_M + MAX_R}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{source}: field {name!r} contains NaN or infinity")
    if np.max(np.abs(arr)) > MAX_ENTRY:
        raise ValueError(f"{source}: field {name!r} has an entry of magnitude {np.max(np.abs(arr)):.3g}; "
                         f"accepted: at most {MAX_ENTRY:g} (larger ones overflow float32 in the kernels)")
    return arr


def _validate(fields: dict, source: str) -> Transform:
    """Check shapes, finiteness, magnitudes, int8 representability and m/r; ValueError naming the field."""
    mats = {name: _matrix_field(fields, name, source) for name in ("AT", "G", "BT")}
    m, a = mats["AT"].shape
    r = mats["G"].shape[1]
    for name, value in (("m", m), ("r", r)):
        if name in fields:
            given = fields[name]
            given = given.item() if isinstance(given, np.ndarray) and given.size == 1 else given
            if isinstance(given, bool) or not isinstance(given, (int, np.integer)) or given != value:
                shown = repr(given) if len(repr(given)) <= 40 else repr(given)[:37] + "..."
                raise ValueError(f"{source}: field {name!r} is {shown} but the matrices imply {name} = {value}")
    if mats["G"].shape != (a, r) or a != m + r - 1:
        raise ValueError(f"{source}: field 'G' must be {m + r - 1} x {r} for AT of shape {m} x {a}, got {mats['G'].shape}")
    if mats["BT"].shape != (a, a):
        raise ValueError(f"{source}: field 'BT' must be {a} x {a}, got {mats['BT'].shape}")
    _check_int8_matrices(mats, source)
    return Transform(m, r, mats["AT"], mats["G"], mats["BT"])


def _check_int8_matrices(mats: dict, source: str) -> None:
    """The int8 kernels use each matrix as integers with a power-of-two scale (bench.numerics.reference, step
    3): refuse matrices that do not fit that, or that have a row rounding to all-zero integers."""
    for name, limit in (("AT", BT_AT_LIMIT), ("G", G_LIMIT), ("BT", BT_AT_LIMIT)):
        try:
            q, _ = quantize_matrix(mats[name], limit)
        except ValueError as e:
            raise ValueError(f"{source}: field {name!r} cannot be used by the int8 kernels: {e}") from None
        zero = [i for i, row in enumerate(q) if not np.any(row)]
        if zero:
            raise ValueError(f"{source}: field {name!r} row {zero[0]} rounds to all-zero integers for int8 "
                             f"(entries too small next to the largest); accepted: rows whose entries "
                             f"survive a common power-of-two scale")


def _read_json(path: Path, data: bytes) -> dict:
    try:
        fields = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not valid JSON (not UTF-8 text)") from None
    except RecursionError:
        raise ValueError(f"{path}: not valid JSON (nested too deeply)") from None
    except ValueError as e:  # JSONDecodeError, and integers past Python's digit limit
        raise ValueError(f"{path}: not valid JSON ({str(e).splitlines()[0][:120]})") from None
    if not isinstance(fields, dict):
        raise ValueError(f"{path}: expected a JSON object with AT, G, BT")
    return fields


def _read_npz(path: Path, data: bytes) -> dict:
    """Arrays of an .npz, each checked from its .npy header (shape, dtype) before it is loaded."""
    limit = (MAX_M + MAX_R) ** 2
    fields = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = [n for n in z.namelist() if n.endswith(".npy")]
            if len(members) > 16:
                raise ValueError(f"{path}: {len(members)} arrays; a transform has AT, G, BT, m, r")
            for member in members:
                with z.open(member) as f:
                    version = np.lib.format.read_magic(f)
                    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read_header(f)
                    if dtype.hasobject or dtype.kind not in "iuf" or math.prod(shape) > limit:
                        raise ValueError(f"{path}: array {member[:-4]!r} is {dtype} of shape {shape}; "
                                         f"accepted: numbers, at most {limit} of them")
                with z.open(member) as f:  # read_array reads the header again
                    fields[member[:-4]] = np.lib.format.read_array(f, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, KeyError, RuntimeError, NotImplementedError, zipfile.LargeZipFile) as e:
        raise ValueError(f"{path}: not a readable .npz file ({str(e)[:120]})") from None
    except ValueError as e:
        msg = str(e)
        raise ValueError(msg if msg.startswith(str(path)) else f"{path}: not a readable .npz file ({msg[:120]})") from None
    return fields


def load_transform(path) -> Transform:
    """Read a transform from .json, .npz or .txt; ValueError naming the problem."""
    path = Path(path)
    suffix = path.suffix.lower()
    readers = {".json": _read_json, ".npz": _read_npz, ".txt": _parse_txt}
    if suffix not in readers:
        raise ValueError(f"{path}: unknown transform file type {suffix!r}; accepted: .json, .npz, .txt")
    try:   # a regular file of bounded size only: a FIFO or a device would block or never end
        data = read_bytes(path, "transform file", MAX_FILE_BYTES)
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.strerror or e})") from None
    return _validate(readers[suffix](path, data), str(path))


def _parse_txt(path: Path, data: bytes) -> dict:
    expected = f"{path}: expected 'm r' then the rows of AT, G and BT as numbers"
    try:
        numbers = data.decode("ascii").split()
        m, r = int(numbers[0]), int(numbers[1])
        values = [float(v) for v in numbers[2:]]
    except (IndexError, ValueError):  # UnicodeDecodeError is a ValueError
        raise ValueError(expected) from None
    if not (1 <= m <= MAX_M and 1 <= r <= MAX_R):
        raise ValueError(f"{path}: 'm r' = '{m} {r}'; accepted: m from 1 to {MAX_M}, r from 1 to {MAX_R}")
    a = m + r - 1
    sizes = {"AT": (m, a), "G": (a, r), "BT": (a, a)}
    count = sum(p * q for p, q in sizes.values())
    if len(values) != count:
        raise ValueError(f"{path}: expected {count} numbers after 'm r' = '{m} {r}', got {len(values)}")
    fields, pos = {"m": m, "r": r}, 0
    for name, (p, q) in sizes.items():
        fields[name] = np.array(values[pos: pos + p * q]).reshape(p, q)
        pos += p * q
    return fields


def save_transform(t: Transform, path) -> Path:
    """Write AT, G, BT (and m, r) as .json, .npz or .txt (the runner's format: 'm r', then rows)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        doc = {"m": t.m, "r": t.r, "AT": t.AT.tolist(), "G": t.G.tolist(), "BT": t.BT.tolist()}
        if t.points is not None:
            doc["points"] = [str(p) for p in t.points]
        path.write_text(json.dumps(doc, indent=1) + "\n")
    elif suffix == ".npz":
        np.savez(path, AT=t.AT, G=t.G, BT=t.BT, m=t.m, r=t.r)
    elif suffix == ".txt":
        lines = [f"{t.m} {t.r}"]
        for mat in (t.AT, t.G, t.BT):
            lines += [" ".join(f"{v:.17g}" for v in row) for row in mat]
        path.write_text("\n".join(lines) + "\n")
    else:
        raise ValueError(f"{path}: unknown transform file type {suffix!r}; accepted: .json, .npz, .txt")
    return path


def format_matrix(name: str, rows) -> str:
    """Rows of Fractions or floats as an aligned block (exact fractions where given)."""
    cells = [[str(v) if isinstance(v, Fraction) else f"{v:.6g}" for v in row] for row in rows]
    width = max(len(c) for row in cells for c in row)
    body = "\n".join("  [ " + "  ".join(c.rjust(width) for c in row) + " ]" for row in cells)
    return f"{name} ({len(cells)} x {len(cells[0])}):\n{body}"


# ---------------------------------------------------------------------------------------------
# Named transforms shipped with the package (bench/numerics/transforms/NAME-fM.json, with their provenance).

_NAMED_DIR = Path(__file__).resolve().parent / "transforms"


def named_transform_path(name: str, m: int) -> Path | None:
    """The shipped file of transform `name` for F(m, 3), or None when there is none for that m;
    ValueError for an unknown name."""
    if name not in NAMED_TRANSFORMS:
        raise ValueError(f"unknown named transform {name!r}; accepted: {', '.join(NAMED_TRANSFORMS)}")
    path = _NAMED_DIR / f"{name}-f{m}.json"
    return path if path.is_file() else None


def named_transform(name: str, m: int) -> Transform:
    """The shipped transform `name` for F(m, 3), e.g. named_transform("pso", 4)."""
    path = named_transform_path(name, m)
    if path is None:
        shipped = sorted(p.stem for p in _NAMED_DIR.glob(f"{name}-f*.json"))
        raise ValueError(f"no {name!r} transform for m = {m}; shipped: {', '.join(shipped) or 'none'}")
    return load_transform(path)
