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
which is what the int8 pipeline (bench.reference) wants: G is applied offline.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

# Points in the order the defaults take them: F(2,3) uses the first 3, F(4,3) 5, F(6,3) 7 (handbook).
_DEFAULT_POINT_SEQUENCE = ("0", "1", "-1", "2", "-2", "1/2", "-1/2", "3", "-3", "1/3", "-1/3",
                           "4", "-4", "1/4", "-1/4")
DEFAULT_POINTS = tuple(Fraction(p) for p in _DEFAULT_POINT_SEQUENCE)

# Lower-error points of Barabasz et al. 2018 (handbook section 2).
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


def parse_points(text: str) -> tuple[Fraction, ...]:
    """'0,1,-1,1/2,-2' -> Fractions; ValueError naming the bad item."""
    points = []
    for item in text.split(","):
        try:
            points.append(Fraction(item.strip()))
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"bad interpolation point {item.strip()!r}; expected a rational such as 2 or -1/2") from None
    return tuple(points)


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
    m or r below 1, a wrong number of points, or repeated points.
    """
    if not (isinstance(m, int) and m >= 1):
        raise ValueError(f"m must be an integer >= 1, got {m!r}")
    if not (isinstance(r, int) and r >= 1):
        raise ValueError(f"r must be an integer >= 1, got {r!r}")
    a = m + r - 1
    if points is None:
        if a - 1 > len(DEFAULT_POINTS):
            raise ValueError(f"no default points for F({m},{r}); pass {a - 1} points")
        points = DEFAULT_POINTS[: a - 1]
    points = tuple(Fraction(p) for p in points)
    if len(points) != a - 1:
        raise ValueError(f"F({m},{r}) needs {a - 1} finite points, got {len(points)}")
    if len(set(points)) != len(points):
        raise ValueError(f"interpolation points must be distinct, got {[str(p) for p in points]}")
    AT, G, BT = exact_matrices(m, r, points)
    if not identity_holds_exactly(AT, G, BT):  # a construction bug, never a user error
        raise AssertionError(f"Cook-Toom identity failed for F({m},{r}) at {points}")
    as_float = lambda rows: np.array([[float(v) for v in row] for row in rows], dtype=np.float64)
    return Transform(m, r, as_float(AT), as_float(G), as_float(BT), points, (AT, G, BT))


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

def _validate(fields: dict, source: str) -> Transform:
    """Check shapes, finiteness and m/r against the matrices; ValueError naming the field."""
    mats = {}
    for name in ("AT", "G", "BT"):
        if name not in fields:
            raise ValueError(f"{source}: missing field {name!r}")
        try:
            arr = np.asarray(fields[name], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{source}: field {name!r} is not a numeric matrix") from None
        if arr.ndim != 2 or 0 in arr.shape:
            raise ValueError(f"{source}: field {name!r} must be a non-empty 2-D matrix, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{source}: field {name!r} contains NaN or infinity")
        mats[name] = arr
    m, a = mats["AT"].shape
    r = mats["G"].shape[1]
    for name, value in (("m", m), ("r", r)):
        if name in fields:
            given = fields[name]
            given = given.item() if isinstance(given, np.ndarray) else given
            if isinstance(given, bool) or not isinstance(given, (int, np.integer)) or given != value:
                raise ValueError(f"{source}: field {name!r} is {given!r} but the matrices imply {name} = {value}")
    if mats["G"].shape != (a, r) or a != m + r - 1:
        raise ValueError(f"{source}: field 'G' must be {m + r - 1} x {r} for AT of shape {m} x {a}, got {mats['G'].shape}")
    if mats["BT"].shape != (a, a):
        raise ValueError(f"{source}: field 'BT' must be {a} x {a}, got {mats['BT'].shape}")
    return Transform(m, r, mats["AT"], mats["G"], mats["BT"])


def load_transform(path) -> Transform:
    """Read a transform from .json, .npz or .txt; ValueError naming the problem."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            try:
                fields = json.loads(path.read_text())
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}: not valid JSON ({e})") from None
            if not isinstance(fields, dict):
                raise ValueError(f"{path}: expected a JSON object with AT, G, BT")
        elif suffix == ".npz":
            try:
                with np.load(path, allow_pickle=False) as data:
                    fields = {k: data[k] for k in data.files}
            except (OSError, ValueError) as e:
                raise ValueError(f"{path}: not a readable .npz file ({e})") from None
        elif suffix == ".txt":
            fields = _parse_txt(path)
        else:
            raise ValueError(f"{path}: unknown transform file type {suffix!r}; accepted: .json, .npz, .txt")
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.strerror})") from None
    return _validate(fields, str(path))


def _parse_txt(path: Path) -> dict:
    try:
        numbers = path.read_text().split()
        m, r = int(numbers[0]), int(numbers[1])
        values = [float(v) for v in numbers[2:]]
    except (IndexError, ValueError):
        raise ValueError(f"{path}: expected 'm r' then the rows of AT, G and BT as numbers") from None
    a = m + r - 1
    sizes = {"AT": (m, a), "G": (a, r), "BT": (a, a)}
    if m < 1 or r < 1 or len(values) != sum(p * q for p, q in sizes.values()):
        raise ValueError(f"{path}: expected {sum(p * q for p, q in sizes.values()) if m >= 1 and r >= 1 else '?'} "
                         f"numbers after 'm r' = '{m} {r}', got {len(values)}")
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
