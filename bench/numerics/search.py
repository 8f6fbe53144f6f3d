"""Data-free search for quantization-friendly Winograd transforms (`bench transforms search`).

Particle swarm optimisation as in Protsenko et al. (ECCV 2024): no model and no data set, only seeded
synthetic layers. A particle is a Cook-Toom transform F(m, 3), coded as
  - the a - 1 finite interpolation points, on a grid of multiples of POINT_STEP within +-POINT_BOUND;
  - power-of-two diagonal scalings: row j of BT times 2^eB_j, row j of G times 2^eG_j, column j of AT
    divided by both, with eB, eG = the balancing exponents of the points (rows of about unit norm,
    `balancing_exponents`) plus integer offsets within +-EXP_BOUND.
Every candidate is built in exact rationals and its convolution identity is checked exactly
(bench.numerics.winograd.diagonal_scaling), so the transform is always exact; only its int8 rounding changes.
The objective is the mean SQNR (dB, against the float64 direct convolution) of the integer reference
of the chosen scheme (bench.numerics.reference) over Gaussian and half-rectified (ReLU) inputs on TRAIN_SHAPES.
Held-out figures use other seeds (a different seed-sequence tag) and the larger HELD_OUT_SHAPES.
"""

from __future__ import annotations

import functools
import inspect
import math
import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from bench.operators import SCHEMES

from bench.numerics import reference
from bench.numerics.reference import conv2d_direct, error_metrics
from bench.numerics.winograd import BARABASZ_POINTS, Transform, cook_toom, diagonal_scaling

SEARCH_MS = (2, 4, 6)              # the tile sizes the kernels implement
POINT_STEP = Fraction(1, 4)
POINT_BOUND = 4
EXP_BOUND = 4
TRAIN_SHAPES = ((8, 8, 32, 32), (10, 10, 16, 24))      # (h, w, cin, cout)
INPUT_KINDS = ("gaussian", "relu")
HELD_OUT_SHAPES = ((16, 16, 64, 64), (32, 32, 32, 32))
HELD_OUT_SEEDS = (1, 2)
_TRAIN_TAG, _HELD_OUT_TAG = 1, 2   # seed-sequence tags: training and held-out data never share a stream


@dataclass(frozen=True)
class Candidate:
    """Points plus the BT and G exponents (absolute, balancing included) of one transform."""

    points: tuple[Fraction, ...]
    exp_B: tuple[int, ...]
    exp_G: tuple[int, ...]

    def transform(self, m: int) -> Transform:
        return diagonal_scaling(cook_toom(m, 3, self.points), self.exp_B, self.exp_G)

    def describe(self) -> dict:
        return {"points": [str(p) for p in self.points], "BT_row_exponents": list(self.exp_B),
                "G_row_exponents": list(self.exp_G)}


@functools.lru_cache(maxsize=65536)
def balancing_exponents(points: tuple, m: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Power-of-two row scalings that bring every row of BT and G to about unit L2 norm, so that
    every Winograd position of V, U and M has about the same range (what one int8 scale per tensor
    wants)."""
    t = cook_toom(m, 3, points)
    exps = lambda mat: tuple(-int(round(math.log2(np.linalg.norm(row)))) for row in mat)
    return exps(t.BT), exps(t.G)


def balanced(points, m: int) -> Candidate:
    points = tuple(Fraction(p) for p in points)
    return Candidate(points, *balancing_exponents(points, m))


def reference_candidates(m: int) -> dict[str, Candidate | None]:
    """The baselines the search must beat: default points, Barabasz points, Barabasz balanced
    (None: the plain Cook-Toom transform without scaling)."""
    default = cook_toom(m).points
    out = {"default": Candidate(default, (0,) * (m + 2), (0,) * (m + 2)), "default+balancing": balanced(default, m)}
    if (m, 3) in BARABASZ_POINTS:
        bpts = BARABASZ_POINTS[(m, 3)]
        out["barabasz"] = Candidate(bpts, (0,) * (m + 2), (0,) * (m + 2))
        out["barabasz+balancing"] = balanced(bpts, m)
    return out


# ---------------------------------------------------------------------------------------------
# The objective: int8 SQNR of a scheme's integer reference on seeded synthetic layers

def check_scheme(scheme: str) -> None:
    """ValueError unless bench.numerics.reference has an integer reference for the scheme."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; accepted: {', '.join(SCHEMES)}")
    if scheme != "tensor" and "scheme" not in inspect.signature(reference.conv2d_winograd_int8).parameters:
        raise ValueError(f"scheme {scheme!r} has no integer reference in bench.numerics.reference yet; accepted today: tensor")


def int8_output(x, w, t: Transform, scheme: str) -> np.ndarray:
    """Dequantized output of the scheme's integer reference (bench.numerics.reference)."""
    if "scheme" in inspect.signature(reference.conv2d_winograd_int8).parameters:
        return reference.conv2d_winograd_int8(x, w, t, scheme=scheme)
    return reference.conv2d_winograd_int8(x, w, t)


def synthetic_layer(shape, kind: str, entropy) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (x, w): Gaussian weights; Gaussian or half-rectified Gaussian input."""
    h, w, cin, cout = shape
    rng = np.random.default_rng(entropy)
    x = rng.standard_normal((1, h, w, cin))
    if kind == "relu":
        x = np.maximum(x, 0.0)
    return x, rng.standard_normal((3, 3, cin, cout))


def training_set(seed: int) -> list[tuple]:
    """[(x, w, float64 direct output)] for every training shape and input kind."""
    data = []
    for i, (shape, kind) in enumerate((s, k) for s in TRAIN_SHAPES for k in INPUT_KINDS):
        x, w = synthetic_layer(shape, kind, [seed, _TRAIN_TAG, i])
        data.append((x, w, conv2d_direct(x, w)))
    return data


def mean_sqnr(t: Transform, data, scheme: str) -> float:
    """Mean SQNR in dB of the scheme over the data; -inf when the int8 kernels cannot use t."""
    try:
        return float(np.mean([error_metrics(int8_output(x, w, t, scheme), ref)["sqnr_db"] for x, w, ref in data]))
    except ValueError:  # a matrix the int8 scheme cannot represent (bench.numerics.reference.quantize_matrix)
        return -math.inf


def held_out_sqnr(t: Transform, scheme: str) -> dict[str, float]:
    """{"HxWxCin->Cout": mean SQNR dB over HELD_OUT_SEEDS} on Gaussian data no search ever sees."""
    out = {}
    for shape in HELD_OUT_SHAPES:
        layers = [synthetic_layer(shape, "gaussian", [s, _HELD_OUT_TAG]) for s in HELD_OUT_SEEDS]
        out["{}x{}x{}->{}".format(*shape)] = mean_sqnr(t, [(x, w, conv2d_direct(x, w)) for x, w in layers], scheme)
    return out


# ---------------------------------------------------------------------------------------------
# The particle swarm

@dataclass(frozen=True)
class Swarm:
    """How the search runs: swarm size, iterations, the seed of the swarm and of its training data,
    and a time budget in seconds (checked between iterations)."""

    particles: int = 24
    iterations: int = 40
    seed: int = 0
    time_budget_s: float = 1800.0


@dataclass
class SearchResult:
    best: Candidate
    objective_db: float
    iterations_done: int
    evaluations: int
    stopped_by_budget: bool


class Space:
    """Particle coordinates <-> candidates for F(m, 3): a - 1 point values, then a BT and a G offset
    per Winograd position (rounded to the grid; repeated points make no candidate)."""

    def __init__(self, m: int):
        self.m, self.a = m, m + 2
        n = self.a - 1
        self.low = np.array([-POINT_BOUND] * n + [-EXP_BOUND] * 2 * self.a, dtype=float)
        self.high = -self.low

    def decode(self, z) -> Candidate | None:
        n = self.a - 1
        step = float(POINT_STEP)
        points = tuple(Fraction(int(round(v / step))) * POINT_STEP for v in np.clip(z[:n], self.low[:n], self.high[:n]))
        if len(set(points)) != n:
            return None
        offsets = [int(round(v)) for v in np.clip(z[n:], -EXP_BOUND, EXP_BOUND)]
        exp_B, exp_G = balancing_exponents(points, self.m)
        return Candidate(points, tuple(e + o for e, o in zip(exp_B, offsets[:self.a])),
                         tuple(e + o for e, o in zip(exp_G, offsets[self.a:])))

    def encode(self, points) -> np.ndarray:
        """A balanced transform at these points (zero offsets)."""
        return np.array([float(p) for p in points] + [0.0] * 2 * self.a)


class Objective:
    """Cached mean training SQNR of decoded candidates (the swarm revisits grid points often)."""

    def __init__(self, m: int, scheme: str, seed: int):
        self.m, self.scheme, self.data = m, scheme, training_set(seed)
        self.cache: dict[Candidate, float] = {}

    def __call__(self, c: Candidate | None) -> float:
        if c is None:
            return -math.inf
        if c not in self.cache:
            self.cache[c] = mean_sqnr(c.transform(self.m), self.data, self.scheme)
        return self.cache[c]


def _initial_swarm(space: Space, particles: int, rng) -> np.ndarray:
    """Default and Barabasz points balanced, their jittered copies, and uniform random particles."""
    seeds = [space.encode(cook_toom(space.m).points)]
    if (space.m, 3) in BARABASZ_POINTS:
        seeds.append(space.encode(BARABASZ_POINTS[(space.m, 3)]))
    swarm = rng.uniform(space.low, space.high, size=(particles, space.low.size))
    for i in range(particles // 2):
        swarm[i] = seeds[i % len(seeds)] + (rng.normal(0.0, 0.5, space.low.size) if i >= len(seeds) else 0.0)
    return np.clip(swarm, space.low, space.high)


def particle_swarm(m: int, scheme: str, swarm: Swarm, progress=None) -> SearchResult:
    """Global-best PSO (inertia 0.9 -> 0.4, c1 = c2 = 1.5). Deterministic for a seed as long as the
    time budget does not cut it short (the budget is checked between iterations)."""
    check_scheme(scheme)
    iterations, time_budget_s = swarm.iterations, swarm.time_budget_s
    space, objective = Space(m), Objective(m, scheme, swarm.seed)
    rng = np.random.default_rng([swarm.seed, _TRAIN_TAG])
    pos = _initial_swarm(space, swarm.particles, rng)
    vel = rng.uniform(-1.0, 1.0, size=pos.shape)
    vmax = 0.25 * (space.high - space.low)
    best_pos, best_val = pos.copy(), np.array([objective(space.decode(p)) for p in pos])
    g = int(np.argmax(best_val))
    start, done = time.monotonic(), 0
    for it in range(iterations):
        if time.monotonic() - start > time_budget_s:
            break
        inertia = 0.9 - 0.5 * it / max(iterations - 1, 1)
        r1, r2 = rng.random(pos.shape), rng.random(pos.shape)
        vel = np.clip(inertia * vel + 1.5 * r1 * (best_pos - pos) + 1.5 * r2 * (best_pos[g] - pos), -vmax, vmax)
        pos = np.clip(pos + vel, space.low, space.high)
        for i, p in enumerate(pos):
            val = objective(space.decode(p))
            if val > best_val[i]:
                best_pos[i], best_val[i] = p, val
        g = int(np.argmax(best_val))
        done += 1
        if progress is not None:
            progress(best_val[g])
    best, best_db = _polish(space, objective, best_pos[g], float(best_val[g]), start + time_budget_s)
    return SearchResult(best, best_db, done, len(objective.cache), done < iterations)


def _polish(space: Space, objective: Objective, z, value: float, deadline: float) -> tuple[Candidate, float]:
    """Greedy coordinate steps from the swarm's best (one grid step of a point or one power of two
    of a scaling at a time) until no step improves the objective or the deadline passes."""
    steps = np.array([float(POINT_STEP)] * (space.a - 1) + [1.0] * (2 * space.a))
    z = np.clip(np.round(z / steps) * steps, space.low, space.high)   # the grid point it decodes to
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        for i, step in enumerate(steps):
            for sign in (1.0, -1.0):
                trial = z.copy()
                trial[i] = np.clip(trial[i] + sign * step, space.low[i], space.high[i])
                val = objective(space.decode(trial))
                if val > value:
                    z, value, improved = trial, val, True
    return space.decode(z), value


# ---------------------------------------------------------------------------------------------
# Reporting and the result file

def comparison(m: int, scheme: str, found: Candidate) -> dict[str, dict]:
    """Held-out SQNR of the baselines and the found transform: {name: {held_out_sqnr_db, points, ...}}."""
    rows = {}
    for name, c in {**reference_candidates(m), "found": found}.items():
        rows[name] = {**c.describe(), "held_out_sqnr_db": held_out_sqnr(c.transform(m), scheme)}
    return rows


def result_document(m: int, scheme: str, swarm: Swarm, result: SearchResult, rows: dict, command: str) -> dict:
    """The found transform as a transform file's fields with its provenance (what load_transform
    reads, plus points, exponents and how they were found)."""
    from datetime import datetime, timezone

    t = result.best.transform(m)
    doc = {"m": t.m, "r": t.r, "AT": t.AT.tolist(), "G": t.G.tolist(), "BT": t.BT.tolist(),
           **result.best.describe(),
           "provenance": {
               "method": "particle swarm over Cook-Toom points and power-of-two diagonal scalings "
                         "(Protsenko et al., ECCV 2024), data-free; identity checked in exact arithmetic",
               "command": command, "scheme": scheme, "seed": swarm.seed, "particles": swarm.particles,
               "iterations": swarm.iterations, "iterations_done": result.iterations_done,
               "distinct_transforms_evaluated": result.evaluations,
               "search_space": {"point_step": str(POINT_STEP), "point_bound": POINT_BOUND,
                                "exponent_offset_bound": EXP_BOUND},
               "objective": {"value_db": result.objective_db,
                             "what": "mean int8 SQNR vs float64 direct, integer reference of the scheme",
                             "shapes": ["{}x{}x{}->{}".format(*s) for s in TRAIN_SHAPES],
                             "inputs": list(INPUT_KINDS)},
               "held_out": {"seeds": list(HELD_OUT_SEEDS), "inputs": "gaussian", "sqnr_db": rows},
               "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}}
    return doc
