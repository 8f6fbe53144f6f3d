"""What a sweep measures: layers (bench.layers) times operators (bench.operators).

A `Case` is one measurement; `bench.measure.results.case_key` identifies it across resumed runs and
`Case.spec` gives the runner's view of it (bench.measure.protocol.CaseSpec), with the local path of
its transform file, which the deployment pushes to the board. Validation happens here, before
anything is built or measured, and raises UsageError with the bad value and the accepted ones.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from bench.errors import UsageError, choice_error
from bench.layers import Layer
from bench.measure.protocol import CaseSpec
from bench.numerics.winograd import load_transform, named_transform_path
from bench.operators import (BUILTIN_TRANSFORMS, NAMED_TRANSFORMS, NO_SCHEME, NO_TRANSFORM, REQUANTS, TILE,
                             default_requant, sweep_requant, sweep_scheme)


@dataclass(frozen=True)
class Case:
    layer: Layer
    algo: str
    transform: str   # "none" for im2row, "static", "learned", a named transform or a transform file path
    bits: int
    scheme: str = NO_SCHEME   # int8 Winograd quantization scheme (bench.operators.SCHEMES); "none" otherwise
    requant: str = ""          # int8 requantization form (bench.operators.REQUANTS), "none" for fp32; "": the default

    def __post_init__(self):
        if not self.requant:
            object.__setattr__(self, "requant", default_requant(self.bits))

    @property
    def transform_file(self) -> Path | None:
        """The transform file of a case fed one (a shipped named one or the user's), else None."""
        if self.transform in (NO_TRANSFORM, *BUILTIN_TRANSFORMS):
            return None
        if self.transform in NAMED_TRANSFORMS:   # a shipped transform, named as such in the tables
            return named_transform_path(self.transform, TILE[self.algo])
        return Path(self.transform)

    def spec(self, case_id: int) -> CaseSpec:
        """The case for the runner: a transform file makes it a `learned` case fed that file."""
        l, path = self.layer, self.transform_file
        transform = "learned" if path else "static" if self.transform == NO_TRANSFORM else self.transform
        return CaseSpec(self.algo, transform, self.bits, l.h, l.w, l.cin, l.cout, self.scheme, str(case_id), path,
                        requant=self.requant)

    @property
    def work(self) -> float:
        """Relative cost for progress estimates: the MACs of a direct conv, plus a fixed overhead."""
        l = self.layer
        return l.h * l.w * l.cin * l.cout * 9 + 1e5


def parse_transforms(text: str) -> list[str]:
    """'static,learned,pso,path/to/t.json' -> names and absolute paths of readable transform files."""
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values:
        raise UsageError("empty transform list; accepted: static, learned, pso or a transform file path")
    out = []
    for v in values:
        if v in BUILTIN_TRANSFORMS or v in NAMED_TRANSFORMS:
            out.append(v)
            continue
        if not Path(v).suffix:
            raise choice_error("transform", v, [*BUILTIN_TRANSFORMS, *NAMED_TRANSFORMS, "a .json/.npz/.txt file"])
        try:
            load_transform(v)
        except ValueError as e:
            raise UsageError(str(e)) from None
        out.append(str(Path(v).resolve()))
    return out


MEASURED_CONVS = ((3, 1, 1),)   # (k, stride, pad) the kernels implement


def check_measurable(layers) -> None:
    """UsageError naming the first layer no kernel implements and what is implemented."""
    for l in layers:
        if (l.k, l.stride, l.pad) not in MEASURED_CONVS:
            accepted = ", ".join(f"k {k} stride {s} pad {p}" for k, s, p in MEASURED_CONVS)
            raise UsageError(f"layer {l.name or l.shape!r} (k {l.k} stride {l.stride} pad {l.pad}) has no kernel; "
                             f"accepted: {accepted}")


def expand(layers, algos, transforms, bits, schemes=("tensor",), requants=REQUANTS[:1]) -> list[Case]:
    """Every layer x operator; im2row has no transform, so it appears once per bit width; the
    scheme applies to int8 Winograd only (every other case appears once, with scheme none), the
    requantization form to int8 only (fp32 cases appear once, with requant none)."""
    check_measurable(layers)
    cases = []
    for layer, b, algo in itertools.product(layers, bits, algos):
        for transform in ([NO_TRANSFORM] if algo == "im2row" else transforms):
            if not _applies(transform, algo):
                continue
            for scheme, requant in itertools.product(dict.fromkeys(sweep_scheme(algo, b, s) for s in schemes),
                                                     dict.fromkeys(sweep_requant(b, r) for r in requants)):
                cases.append(Case(layer, algo, transform, b, scheme, requant))
    return cases


def _applies(transform: str, algo: str) -> bool:
    """A shipped named transform exists per tile size (no `pso` for F2); a transform file applies to
    the tile size it was made for."""
    if transform in NAMED_TRANSFORMS:
        return named_transform_path(transform, TILE[algo]) is not None
    if transform in (NO_TRANSFORM, *BUILTIN_TRANSFORMS):
        return True
    t = load_transform(transform)
    return t.r == 3 and f"f{t.m}" == algo
