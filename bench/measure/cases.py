"""What a sweep measures: layers (bench.layers) times operators (bench.operators).

A `Case` is one measurement; `bench.measure.results.case_key` identifies it across resumed runs and
`Case.spec` gives the runner's view of it (bench.measure.protocol.CaseSpec), with the local path of
its transform file, which the deployment pushes to the board. Validation happens here, before
anything is built or measured, and raises UsageError with the bad value and the accepted ones.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from pathlib import Path

from bench.errors import UsageError, choice_error
from bench.layers import Layer, unsupported
from bench.measure.protocol import CaseSpec
from bench.numerics.matrix_quant import lane_variant
from bench.numerics.trained import NOT_WINOGRAD_ERROR, load_weights
from bench.numerics.winograd import (identity_error, learned_stand_in_path, load_transform, named_transform_path,
                                     tile_origin_of)
from bench.operators import (BUILTIN_TRANSFORMS, ENGINE_VARIANTS, NAMED_TRANSFORMS, NO_REQUANT, NO_SCHEME, NO_TRANSFORM,
                             OUR_ENGINE, REQUANTS, SCHEMES, TILE, TILE_ORIGINS, default_requant, sweep_requant,
                             sweep_scheme)


@dataclass(frozen=True)
class Case:
    layer: Layer
    algo: str
    transform: str   # "none" for im2row, "static", "learned", a named transform or a transform file path
    bits: int
    scheme: str = NO_SCHEME   # int8 Winograd quantization scheme (bench.operators.SCHEMES); "none" otherwise
    engine: str = OUR_ENGINE  # a production engine: algo is its variant (bench.operators.ENGINE_VARIANTS)
    requant: str = ""         # int8 requantization form (bench.operators.REQUANTS), "none" for fp32 and engines;
                              # "": the default

    def __post_init__(self):
        if not self.requant:
            default = default_requant(self.bits) if self.engine == OUR_ENGINE else NO_REQUANT
            object.__setattr__(self, "requant", default)

    @property
    def transform_file(self) -> Path | None:
        """The transform file of a case fed one (a shipped named one, the `learned` operator's
        stand-in for trained matrices, or the user's), else None."""
        if self.transform == "learned" and self.algo in TILE:
            return learned_stand_in_path(TILE[self.algo])
        if self.transform in (NO_TRANSFORM, *BUILTIN_TRANSFORMS):
            return None
        if self.transform in NAMED_TRANSFORMS:   # a shipped transform, named as such in the tables
            return named_transform_path(self.transform, TILE[self.algo])
        return Path(self.transform)

    @property
    def origin(self) -> str:
        """Where the tile grid starts: as the case's transform file says (an imported one tiles as
        its training code did), else from the top-left."""
        path = self.transform_file
        return tile_origin_of(path) if path and self.algo in TILE else TILE_ORIGINS[0]

    def spec(self, case_id: int) -> CaseSpec:
        """The case for the runner: a transform file makes it a `learned` case fed that file."""
        l = self.layer
        if self.engine != OUR_ENGINE:
            return CaseSpec(self.algo, NO_TRANSFORM, self.bits, l.h, l.w, l.cin, l.cout, id=str(case_id), engine=self.engine)
        path = self.transform_file
        transform = "learned" if path else "static" if self.transform == NO_TRANSFORM else self.transform
        return CaseSpec(self.algo, transform, self.bits, l.h, l.w, l.cin, l.cout, self.scheme, str(case_id), path,
                        origin=self.origin, k=l.k, stride=l.stride, pad=l.pad, requant=self.requant)

    @property
    def lanes(self) -> str | None:
        """The int8 dense tile kernels' lane widths this case runs (`in16/16 out32/32`,
        bench.numerics.matrix_quant.lane_variant); None where no such choice is made (fp32, im2row,
        static kernels, and the tap and wide schemes, whose kernels have one width)."""
        path = self.transform_file
        if self.bits != 8 or path is None or self.scheme not in (SCHEMES[0], NO_SCHEME):
            return None
        return _lane_variant(str(path))

    @property
    def work(self) -> float:
        """Relative cost for progress estimates: the MACs of a direct conv, plus a fixed overhead."""
        return self.layer.macs + 1e5


@functools.lru_cache(maxsize=64)
def _lane_variant(path: str) -> str:
    t = load_transform(path)
    return lane_variant(t.AT, t.BT)


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


def check_measurable(layers) -> None:
    """UsageError naming the first layer no kernel implements and what is supported."""
    for l in layers:
        reason = unsupported(l)
        if reason:
            raise UsageError(reason)


def expand(layers, algos, transforms, bits, schemes=("tensor",), requants=REQUANTS[:1]) -> list[Case]:
    """Every layer x operator of this project's kernels that applies to it (Winograd to 3x3 stride-1
    layers only); im2row has no transform, so it appears once per bit width; the scheme applies to
    int8 Winograd only (every other case appears once, with scheme none), the requantization form to
    int8 only (fp32 cases appear once, with requant none). A layer with its own transform file (a
    network file's `transform`) is measured with it besides `transforms`, on the algorithm of its
    tile size whether `algos` lists it or not; one measurement serves every layer of the same shape
    and operator."""
    check_measurable(layers)
    cases, seen = [], set()
    for layer, b, algo in itertools.product(layers, bits, algos):
        if algo in TILE and not layer.winograd:
            continue
        for transform in ([NO_TRANSFORM] if algo == "im2row" else transforms):
            if _applies(transform, algo):
                cases += _variants(layer, algo, transform, b, (schemes, requants), seen)
    for layer, b in itertools.product(layers, bits):
        if layer.transform and layer.transform not in transforms and layer.winograd:
            t = load_transform(layer.transform)
            if t.r == 3 and f"f{t.m}" in TILE:
                cases += _variants(layer, f"f{t.m}", layer.transform, b, (schemes, requants), seen)
    return cases


def _variants(layer: Layer, algo: str, transform: str, bits: int, forms, seen: set) -> list[Case]:
    """The case of each int8 scheme x requantization form in `forms` ((schemes, requants)) that
    applies, once per shape and operator (`seen`)."""
    schemes, requants = forms
    out = []
    for scheme, requant in itertools.product(dict.fromkeys(sweep_scheme(algo, bits, s) for s in schemes),
                                             dict.fromkeys(sweep_requant(bits, r) for r in requants)):
        key = (layer.h, layer.w, layer.cin, layer.cout, layer.k, layer.stride, layer.pad, algo, transform, bits,
               scheme, requant)
        if key not in seen:
            seen.add(key)
            out.append(Case(layer, algo, transform, bits, scheme, requant=requant))
    return out


def engine_cases(layers, bits, engines) -> list[Case]:
    """Each production engine in `engines` (OUR_ENGINE is skipped: expand) with its variants of every
    Winograd-shaped layer (the engines' one-layer models) and bit width; algos, transforms, schemes
    and requantization forms are this project's own and do not apply to them."""
    check_measurable(layers)
    winograd_layers = [l for l in layers if l.winograd]
    return [Case(layer, variant, NO_TRANSFORM, b, NO_SCHEME, engine)
            for layer, b, engine in itertools.product(winograd_layers, bits, [e for e in engines if e != OUR_ENGINE])
            for variant in ENGINE_VARIANTS[engine][b]]


def check_winograd(layers, accept_inexact: bool) -> None:
    """UsageError naming the first layer whose own transform is not a Winograd transform (identity
    error above bench.numerics.trained.NOT_WINOGRAD_ERROR), unless told to measure it anyway."""
    if accept_inexact:
        return
    for l in layers:
        if not l.transform:
            continue
        error = identity_error(load_transform(l.transform))
        if error > NOT_WINOGRAD_ERROR:
            raise UsageError(f"layer {l.name!r}: {l.transform} is not a Winograd transform (identity error "
                             f"{error:.3g}, accepted up to {NOT_WINOGRAD_ERROR:g}); its latency would be that of "
                             f"a layer that does not convolve: measure it anyway with --accept-inexact")


def check_weights(layers) -> None:
    """UsageError naming the first layer whose weight file is unreadable or not of its shape
    (k x k x cin x cout), before anything is measured."""
    for l in layers:
        if not l.weights:
            continue
        try:
            shape = load_weights(l.weights)[0].shape
        except ValueError as e:
            raise UsageError(f"layer {l.name!r}: {e}") from None
        if shape != (l.k, l.k, l.cin, l.cout):
            raise UsageError(f"layer {l.name!r}: {l.weights} holds weights of shape {shape}; the layer takes "
                             f"{(l.k, l.k, l.cin, l.cout)} (k, k, cin, cout)")


def _applies(transform: str, algo: str) -> bool:
    """A shipped named transform exists per tile size (no `pso` for F2); a transform file applies to
    the tile size it was made for."""
    if transform in NAMED_TRANSFORMS:
        return named_transform_path(transform, TILE[algo]) is not None
    if transform in (NO_TRANSFORM, *BUILTIN_TRANSFORMS):
        return True
    t = load_transform(transform)
    return t.r == 3 and f"f{t.m}" == algo
