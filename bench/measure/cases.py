"""What a sweep measures: layer shapes (presets or lists) times operators (algo, transform, bits,
scheme).

A `Case` is one measurement; `bench.measure.results.case_key` identifies it across resumed runs and
`Case.spec` gives the runner's view of it (bench.measure.protocol). Validation happens here,
before anything is built or measured, and raises UsageError with the bad value and the accepted ones.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from pathlib import Path

from bench.errors import UsageError, choice_error
from bench.measure.protocol import ALGOS, BITS, MAX_CHANNELS, MAX_HW, SCHEMES, CaseSpec, scheme_for
from bench.numerics.winograd import NAMED_TRANSFORMS, load_transform, named_transform_path

BUILTIN_TRANSFORMS = ("static", "learned")


@dataclass(frozen=True)
class Layer:
    """A 3x3, stride-1, same-padded convolution layer; `count` is how often a network uses it."""

    h: int
    w: int
    cin: int
    cout: int
    count: int = 1
    name: str = ""


@dataclass(frozen=True)
class Case:
    layer: Layer
    algo: str
    transform: str   # "none" for im2row, "static", "learned" or a transform file path
    bits: int
    scheme: str = "none"   # int8 Winograd quantization scheme (protocol.SCHEMES); "none" otherwise

    @property
    def transform_file(self) -> str | None:
        """The transform file path, for a case fed one (it is pushed beside the runner)."""
        if self.transform in ("none",) + BUILTIN_TRANSFORMS:
            return None
        if self.transform in NAMED_TRANSFORMS:   # a shipped transform, named as such in the tables
            return str(named_transform_path(self.transform, int(self.algo[1:])))
        return self.transform

    def spec(self, case_id: int) -> CaseSpec:
        """The case for the runner. A transform file is named by its path digest (matrices_token),
        which bench.measure.deploy maps back to the file it pushes beside the runner."""
        l = self.layer
        path = self.transform_file
        transform, matrices = ("learned", matrices_token(path)) if path else (self.transform, "")
        return CaseSpec(self.algo, transform, self.bits, l.h, l.w, l.cin, l.cout, self.scheme,
                        str(case_id), matrices)

    @property
    def work(self) -> float:
        """Relative cost for progress estimates: the MACs of a direct conv, plus a fixed overhead."""
        l = self.layer
        return l.h * l.w * l.cin * l.cout * 9 + 1e5


def matrices_token(path: str) -> str:
    """How a case line names a transform file: a digest of its absolute path, so that any character
    in the path (spaces, '#', '=') and two files of the same name stay apart (bench.measure.deploy maps it back)."""
    return "t" + hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:16] + Path(path).suffix.lower()


def precision_name(bits: int) -> str:
    """8 -> "int8", 32 -> "fp32": how tables, plots and LUT keys name a bit width."""
    return "int8" if int(bits) == 8 else "fp32"


def resnet18_cifar(width: float = 1.0) -> list[Layer]:
    """The 16 Winograd-able 3x3 layers of the Winograd-aware ResNet-18 for CIFAR (handbook section 2:
    stride-2 convs become maxpool + stride-1 conv), as the 7 distinct shapes with their counts."""
    if width not in (0.5, 1.0):
        raise UsageError(f"unknown width {width!r}; accepted: 0.5, 1.0")
    chans = [int(c * width) for c in (64, 128, 256, 512)]
    layers = [Layer(32, 32, chans[0], chans[0], 4, "stage1")]
    for stage, (res, cin, cout) in enumerate(zip((16, 8, 4), chans, chans[1:]), start=2):
        layers.append(Layer(res, res, cin, cout, 1, f"stage{stage}.first"))
        layers.append(Layer(res, res, cout, cout, 3, f"stage{stage}"))
    return layers


def grid(resolutions=None, channels=None) -> list[Layer]:
    """Resolution x channel grid as in the latency characterisation of the MLSys 2020 paper."""
    resolutions = resolutions or (4, 8, 16, 32, 56, 112, 224)
    channels = channels or (8, 16, 32, 64, 128, 256, 512)
    return [Layer(r, r, c, c) for r, c in itertools.product(resolutions, channels)]


PRESETS = {
    "resnet18-cifar": "the 7 distinct 3x3 layer shapes of Winograd-aware ResNet-18 for CIFAR (--width 0.5|1.0)",
    "grid": "resolutions 4..224 x channels 8..512 (Cin = Cout), 49 layers",
    "quick": "resnet18-cifar at width 0.5 (the README's main job)",
}


def preset_layers(name: str, width: float = 1.0) -> list[Layer]:
    if name == "resnet18-cifar":
        return resnet18_cifar(width)
    if name == "grid":
        return grid()
    if name == "quick":
        return resnet18_cifar(0.5)
    raise choice_error("preset", name, PRESETS)


def parse_int_list(text: str, what: str, low: int, high: int) -> list[int]:
    """'4,8,16' -> [4, 8, 16]; each value in [low, high]."""
    values = []
    for item in text.split(","):
        item = item.strip()
        try:
            v = int(item)
        except ValueError:
            raise UsageError(f"bad {what} {item!r}; expected whole numbers from {low} to {high}, comma-separated") from None
        if not low <= v <= high:
            raise UsageError(f"bad {what} {v}; accepted: {low} to {high}")
        values.append(v)
    return values


def parse_choices(text: str, what: str, accepted) -> list[str]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values:
        raise UsageError(f"empty {what} list; accepted: {', '.join(map(str, accepted))}")
    for v in values:
        if v not in accepted:
            raise choice_error(what, v, accepted)
    return list(dict.fromkeys(values))


def parse_bits(text: str) -> list[int]:
    return [int(b) for b in parse_choices(text, "bit width", [str(b) for b in BITS])]


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


def custom_layers(res: str, channels: str | None, cin: str | None, cout: str | None) -> list[Layer]:
    """--res 8,16 with --channels 32,64 (Cin = Cout), or with --cin/--cout lists (all pairs)."""
    resolutions = parse_int_list(res, "resolution", 1, MAX_HW)
    if channels is not None and (cin is not None or cout is not None):
        raise UsageError("give either --channels or --cin/--cout, not both")
    if channels is not None:
        chans = parse_int_list(channels, "channel count", 1, MAX_CHANNELS)
        return [Layer(r, r, c, c) for r, c in itertools.product(resolutions, chans)]
    if cin is None or cout is None:
        raise UsageError("--res needs --channels, or both --cin and --cout")
    cins = parse_int_list(cin, "input channel count", 1, MAX_CHANNELS)
    couts = parse_int_list(cout, "output channel count", 1, MAX_CHANNELS)
    return [Layer(r, r, ci, co) for r, ci, co in itertools.product(resolutions, cins, couts)]


def parse_schemes(text: str) -> list[str]:
    return parse_choices(text, "scheme", SCHEMES)


def expand(layers, algos, transforms, bits, schemes=("tensor",)) -> list[Case]:
    """Every layer x operator; im2row has no transform, so it appears once per bit width; the
    scheme applies to int8 Winograd only (every other case appears once, with scheme none)."""
    cases = []
    for layer, b, algo in itertools.product(layers, bits, algos):
        for transform in (["none"] if algo == "im2row" else transforms):
            if transform in NAMED_TRANSFORMS:
                if named_transform_path(transform, int(algo[1:])) is None:
                    continue   # no shipped transform of that name for this tile size (e.g. pso for F2)
            elif transform not in BUILTIN_TRANSFORMS + ("none",) and not _matches_algo(transform, algo):
                continue
            for scheme in dict.fromkeys(scheme_for(algo, b, s) for s in schemes):
                cases.append(Case(layer, algo, transform, b, scheme))
    return cases


def _matches_algo(path: str, algo: str) -> bool:
    """A transform file only applies to the tile size it was made for."""
    t = load_transform(path)
    return t.r == 3 and f"f{t.m}" == algo
