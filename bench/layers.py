"""Layers: the convolution shapes the tables are measured on and the networks are summed over.

A `Layer` is a convolution H x W x Cin -> Cout with a k x k kernel, a stride and a padding (3x3,
stride 1, same padding unless said otherwise), how often a network uses it (`count`), a name, and
optionally its own transform file and trained weights. Layers come from presets (`preset_layers`),
from `--res` with `--channels` or `--cin`/`--cout` lists (`custom_layers`), or from a network file
(`load_network`), the one format `bench run`, `bench network` and the importers of checkpoints and
models read and write: JSON, or TOML with [[layers]] tables.

    {"network": "resnet18-cifar-w0.5",
     "layers": [{"name": "layer1.0.conv1", "h": 32, "w": 32, "cin": 32, "cout": 32, "count": 1,
                 "k": 3, "stride": 1, "pad": 1,          # defaults: k 3, stride 1, pad k // 2
                 "groups": 1, "dilation": 1,             # defaults 1 (others are named, never measured)
                 "transform": "layer1.0.conv1.json",     # optional: the layer's own transform file
                 "weights": "layer1.0.conv1.npz"}],      # optional: its trained weights (and ranges)
     "not_measured": [{"op": "maxpool", "macs": 65536}]} # optional: named in network totals

Paths are relative to the file. Numbers must be whole JSON/TOML integers (8.0, "8" and true are
refused); unknown keys are refused, so a misspelt key never goes unnoticed. `layer_key` names a
layer in lookup tables, as once-for-all / ProxylessNAS tables do.

What the kernels implement (`unsupported`): im2row takes k 1, 3, 5, 7, stride 1 or 2 and padding
0..k-1; Winograd F2/F4/F6 takes 3x3 stride 1 padding 1 (`Layer.winograd`); no kernel takes
grouped (depthwise) or dilated convolutions.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from pathlib import Path

from bench.errors import UsageError, choice_error, shown
from bench.files import read_mapping, replacing

# The largest layer the runner accepts (kernels_c/runner; tests/measure/test_protocol.py checks it).
MAX_HW = 4096
MAX_CHANNELS = 8192


@dataclass(frozen=True)
class Layer:
    """A convolution layer; `count` is how often a network uses it. `pad` None means k // 2 (same
    padding for odd k); `transform` and `weights` are absolute paths of files of this layer."""

    h: int
    w: int
    cin: int
    cout: int
    count: int = 1
    name: str = ""
    k: int = 3
    stride: int = 1
    pad: int | None = None
    transform: str | None = None
    weights: str | None = None
    groups: int = 1
    dilation: int = 1

    def __post_init__(self):
        if self.pad is None:
            object.__setattr__(self, "pad", self.k // 2)

    @property
    def winograd(self) -> bool:
        """Winograd F(m x m, 3 x 3) applies: 3x3, stride 1, padding 1, not grouped or dilated."""
        return (self.k, self.stride, self.pad, self.groups, self.dilation) == (3, 1, 1, 1, 1)

    @property
    def filter(self) -> str:
        """`k3s1p1`: the filter as labels name it."""
        return f"k{self.k}s{self.stride}p{self.pad}"

    @property
    def out_hw(self) -> tuple[int, int]:
        return conv_out(self.h, self.k, self.stride, self.pad), conv_out(self.w, self.k, self.stride, self.pad)

    @property
    def key(self) -> str:
        """`conv-input:32x32x64-output:32x32x64-kernel:3-stride:1`, as once-for-all tables key layers."""
        ho, wo = self.out_hw
        return f"conv-input:{self.h}x{self.w}x{self.cin}-output:{ho}x{wo}x{self.cout}-kernel:{self.k}-stride:{self.stride}"

    @property
    def shape(self) -> str:
        conv = "" if (self.k, self.stride) == (3, 1) else f" k{self.k}s{self.stride}"
        return f"{self.h}x{self.w}x{self.cin}->{self.cout}{conv}"

    @property
    def macs(self) -> int:
        ho, wo = self.out_hw
        return ho * wo * self.k * self.k * self.cin * self.cout // self.groups


IM2ROW_KERNELS = (1, 3, 5, 7)
IM2ROW_STRIDES = (1, 2)
SUPPORTED = ("im2row: k 1, 3, 5, 7, stride 1 or 2, pad 0..k-1; "
             "Winograd f2/f4/f6: 3x3 stride 1 pad 1; groups 1 and dilation 1 only")


def unsupported(layer: Layer) -> str | None:
    """None when some kernel implements the layer, else one line naming it and what is supported."""
    l = layer
    if (l.groups == 1 and l.dilation == 1 and l.k in IM2ROW_KERNELS and l.stride in IM2ROW_STRIDES
            and 0 <= l.pad < l.k and min(l.out_hw) >= 1):
        return None
    what = f"k {l.k} stride {l.stride} pad {l.pad}" + (f" groups {l.groups}" if l.groups != 1 else "") + \
        (f" dilation {l.dilation}" if l.dilation != 1 else "")
    return f"layer {l.name or l.shape!r} ({what}) has no kernel; supported: {SUPPORTED}"


def conv_out(size: int, k: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - k) // stride + 1


def layer_key(h: int, w: int, cin: int, cout: int, kernel: int = 3, stride: int = 1) -> str:
    """The key of a layer with same padding (Layer.key)."""
    return Layer(h, w, cin, cout, k=kernel, stride=stride).key


# ---------------------------------------------------------------------------------------------
# Presets

def resnet18_cifar(width: float = 1.0) -> list[Layer]:
    """The 16 Winograd-able 3x3 layers of the Winograd-aware ResNet-18 for CIFAR (every stride-2 conv
    of the public training code is a maxpool + a stride-1 conv), as the 7 distinct shapes with counts."""
    if width not in (0.5, 1.0):
        raise UsageError(f"unknown width {width!r}; accepted: 0.5, 1.0")
    chans = [int(c * width) for c in (64, 128, 256, 512)]
    layers = [Layer(32, 32, chans[0], chans[0], 4, "stage1")]
    for stage, (res, cin, cout) in enumerate(zip((16, 8, 4), chans, chans[1:]), start=2):
        layers.append(Layer(res, res, cin, cout, 1, f"stage{stage}.first"))
        layers.append(Layer(res, res, cout, cout, 3, f"stage{stage}"))
    return layers


GRID_MAX_MACS = 4e9   # the grid's 1x1 and strided layers stop here (a 224x224x256->512 3x3/2 alone is 15 GMAC)


def grid(resolutions=None, channels=None) -> list[Layer]:
    """The latency predictor's training set: the resolution x channel grid of the MLSys 2020 paper's
    characterisation (3x3 stride 1, Cin = Cout), the same with Cout = 2 Cin and Cin = 2 Cout, 1x1
    and strided filters at channel ratios 1 and 2, 3-channel stems, and 5x5 and 7x7 filters, so
    that every convolution of the ResNet-18 presets lies inside what was measured."""
    resolutions = resolutions or (4, 8, 16, 32, 56, 112, 224)
    channels = channels or (8, 16, 32, 64, 128, 256, 512)
    top = max(channels)
    layers = [Layer(r, r, c, c) for r, c in itertools.product(resolutions, channels)]
    layers += [Layer(r, r, ci, co) for r, c in itertools.product(resolutions, channels) if 2 * c <= top
               for ci, co in ((c, 2 * c), (2 * c, c))]
    wide = [c for c in channels if c in (8, 32, 128, 256)] or list(channels)
    layers += [l for r, c in itertools.product(resolutions, wide) for co in (c, 2 * c)
               for k, s in ((1, 1), (1, 2), (3, 2))
               if (l := Layer(r, r, c, co, k=k, stride=s)).macs <= GRID_MAX_MACS]
    layers += [Layer(r, r, 3, co, k=k, stride=s) for r in (32, 64, 112, 224) for co in (16, 32, 64)
               for k, s in ((3, 1), (7, 2))]
    layers += [Layer(r, r, c, c, k=k, stride=s) for r in (8, 32, 112) for c in (16, 64)
               for k, s in ((5, 1), (5, 2), (7, 1), (7, 2))]
    return layers


def merge_repeats(layers) -> list[Layer]:
    """Layers of the same shape and filter as one, named as the first, their counts summed (a network
    measures and sums each shape once)."""
    merged: dict = {}
    for l in layers:
        key = (l.h, l.w, l.cin, l.cout, l.k, l.stride, l.pad, l.groups, l.dilation, l.transform, l.weights)
        first = merged.get(key)
        merged[key] = l if first is None else replace(first, count=first.count + l.count)
    return list(merged.values())


def _basic_block(name: str, res: int, cin: int, cout: int, stride: int, shortcut: bool) -> list[Layer]:
    """A ResNet basic block: two 3x3 convolutions (the first with `stride`) and a 1x1 projection of
    the input when asked (stride `stride`, no padding)."""
    out = -(-res // stride)
    convs = [Layer(res, res, cin, cout, name=f"{name}.conv1", stride=stride),
             Layer(out, out, cout, cout, name=f"{name}.conv2")]
    if shortcut:
        convs.append(Layer(res, res, cin, cout, name=f"{name}.shortcut", k=1, stride=stride, pad=0))
    return convs


def resnet18_cifar_full(width: float = 1.0) -> Network:
    """Winograd-aware ResNet-18 for CIFAR-10 as its public training code builds it (src/models.py of
    jafermarq/WinogradAwareNets): a 3x3 stem 3 -> 32 at 32x32 (32 at every width), four stages of two
    basic blocks with 64, 128, 256, 512 x width channels, where a stride-2 block max-pools 2x2 first
    and convolves with stride 1, 1x1 shortcuts wherever the channels change, 4x4 average pooling and
    a 10-way classifier."""
    if width not in (0.5, 1.0):
        raise UsageError(f"unknown width {width!r}; accepted: 0.5, 1.0")
    chans = [int(c * width) for c in (64, 128, 256, 512)]
    layers, cin, res = [Layer(32, 32, 3, 32, name="conv1")], 32, 32
    pools = []
    for stage, cout in enumerate(chans, start=1):
        if stage > 1:
            pools.append({"op": f"layer{stage}.0.maxpool", "macs": res * res * cin})
            res //= 2
        for block in range(2):
            layers += _basic_block(f"layer{stage}.{block}", res, cin, cout, 1, block == 0 and cin != cout)
            cin = cout
    adds = [{"op": "residual additions", "macs": sum(l.h * l.w * l.cout for l in layers if l.name.endswith("conv2"))}]
    head = [{"op": "avgpool", "macs": res * res * cin}, {"op": "linear", "macs": cin * 10}]
    return Network(f"resnet18-cifar-w{width:g}", tuple(merge_repeats(layers)), tuple(pools + adds + head))


def resnet18_imagenet() -> Network:
    """torchvision's ResNet-18 at 224x224: a 7x7 stride-2 stem 3 -> 64, 3x3 stride-2 max pooling,
    four stages of two basic blocks (64, 128, 256, 512 channels; the first 3x3 of stages 2-4 with
    stride 2 and a 1x1 stride-2 projection), global average pooling and a 1000-way classifier."""
    layers = [Layer(224, 224, 3, 64, name="conv1", k=7, stride=2, pad=3)]
    pools = [{"op": "maxpool", "macs": 56 * 56 * 64 * 9}]
    cin, res = 64, 56
    for stage, cout in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            layers += _basic_block(f"layer{stage}.{block}", res, cin, cout, stride, stride == 2)
            cin, res = cout, -(-res // stride)
    adds = [{"op": "residual additions", "macs": sum(l.out_hw[0] * l.out_hw[1] * l.cout for l in layers
                                                     if l.name.endswith("conv2"))}]
    head = [{"op": "avgpool", "macs": res * res * cin}, {"op": "fc", "macs": cin * 1000}]
    return Network("resnet18-imagenet", tuple(merge_repeats(layers)), tuple(pools + adds + head))


PRESETS = {
    "resnet18-cifar": "the 7 distinct 3x3 layer shapes of Winograd-aware ResNet-18 for CIFAR (--width 0.5|1.0)",
    "resnet18-cifar-full": "every convolution of Winograd-aware ResNet-18 for CIFAR as its training code builds it: "
                           "the 3-channel stem, every 3x3 and the 1x1 shortcuts (--width 0.5|1.0)",
    "resnet18-imagenet": "every convolution of torchvision's ResNet-18 at 224x224: the 7x7/2 stem, 3x3/1 and /2, 1x1/2",
    "grid": "the latency predictor's set: resolutions 4..224 x channels 8..512 at cout/cin 1/2, 1, 2 (3x3), "
            "1x1 and strided filters, 3-channel stems, 5x5 and 7x7",
    "quick": "resnet18-cifar at width 0.5 (the README's main job)",
}
NETWORK_PRESETS = ("resnet18-cifar-full", "resnet18-imagenet")   # with their operations that are not convolutions


def preset_network(name: str, width: float = 1.0) -> Network:
    """A preset as a Network (the whole-network presets with their `not_measured` operations)."""
    if name == "resnet18-cifar-full":
        return resnet18_cifar_full(width)
    if name == "resnet18-imagenet":
        return resnet18_imagenet()
    return Network(name, tuple(preset_layers(name, width)))


def preset_layers(name: str, width: float = 1.0) -> list[Layer]:
    if name == "resnet18-cifar":
        return resnet18_cifar(width)
    if name in NETWORK_PRESETS:
        return list(preset_network(name, width).layers)
    if name == "grid":
        return grid()
    if name == "quick":
        return resnet18_cifar(0.5)
    raise choice_error("preset", name, PRESETS)


# ---------------------------------------------------------------------------------------------
# Lists from the command line and layers files

def parse_int_list(text: str, what: str, low: int, high: int) -> list[int]:
    """'4,8,16' -> [4, 8, 16]; each value a whole number in [low, high], duplicates collapsed (order
    kept: `--res 8,8` measures 8 once)."""
    values = []
    for item in text.split(","):
        item = item.strip()
        if not re.fullmatch(r"-?[0-9]{1,9}", item, re.ASCII):
            raise UsageError(f"bad {what} {shown(item)}; expected whole numbers from {low} to {high}, comma-separated")
        v = int(item)
        if not low <= v <= high:
            raise UsageError(f"bad {what} {v}; accepted: {low} to {high}")
        values.append(v)
    return list(dict.fromkeys(values))


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


def with_filters(layers, kernels: str | None, strides: str | None) -> list[Layer]:
    """Each layer with every filter size of `kernels` x stride of `strides` ('1,3,5,7', '1,2'; None:
    3 and 1), same padding (k // 2); UsageError for a size or stride no kernel takes."""
    ks = parse_int_list(kernels or "3", "kernel size", 1, max(IM2ROW_KERNELS))
    ss = parse_int_list(strides or "1", "stride", 1, max(IM2ROW_STRIDES))
    bad = [k for k in ks if k not in IM2ROW_KERNELS]
    if bad:
        raise choice_error("kernel size", str(bad[0]), [str(k) for k in IM2ROW_KERNELS])
    return [Layer(l.h, l.w, l.cin, l.cout, l.count, l.name, k, s) for l in layers for k in ks for s in ss]


# ---------------------------------------------------------------------------------------------
# Network files

MAX_K = 15
MAX_STRIDE = 8
_LAYER_KEYS = ("name", "h", "w", "cin", "cout", "count", "k", "stride", "pad", "groups", "dilation",
               "transform", "weights")


@dataclass(frozen=True)
class Network:
    """A network file: its name, its layers, and the operations it has that are not measured
    ({"op": name, "macs": multiply-accumulates}), which network totals name apart."""

    name: str
    layers: tuple[Layer, ...]
    not_measured: tuple[dict, ...] = ()


def load_network(path) -> Network:
    """A network file (format in the module docstring); UsageError naming the file, the layer, the
    key and what is accepted."""
    path = Path(path)
    doc = read_mapping(path, "network")
    _only_keys(doc, ("network", "layers", "not_measured"), f"{path}")
    items = doc.get("layers")
    if not isinstance(items, list) or not items:
        raise UsageError(f"{path}: expected a non-empty list `layers` of tables {{name, h, w, cin, cout, count, ...}}")
    layers = tuple(_layer(item, i, path) for i, item in enumerate(items))
    names = [l.name for l in layers]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"{path}: layer names must be unique; named twice: {', '.join(twice)}")
    name = doc.get("network", path.stem)
    if not isinstance(name, str) or not name:
        raise UsageError(f"{path}: bad network {name!r}; expected a name (a string)")
    return Network(name, layers, tuple(_not_measured(doc.get("not_measured", []), path)))


def load_layers(path) -> list[Layer]:
    """The layers of a network file."""
    return list(load_network(path).layers)


def save_network(network: Network, path) -> Path:
    """Write a network file (JSON) that load_network reads back; layer files are named relative to
    it where they lie beside or below it."""
    import json

    path = Path(path)
    rows = []
    for l in network.layers:
        row = {"name": l.name, "h": l.h, "w": l.w, "cin": l.cin, "cout": l.cout, "count": l.count,
               "k": l.k, "stride": l.stride, "pad": l.pad}
        row.update({key: getattr(l, key) for key in ("groups", "dilation") if getattr(l, key) != 1})
        for key in ("transform", "weights"):
            if getattr(l, key):
                row[key] = _relative(Path(getattr(l, key)), path.parent)
        rows.append(row)
    doc = {"network": network.name, "layers": rows}
    if network.not_measured:
        doc["not_measured"] = list(network.not_measured)
    with replacing(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
    return path


def _relative(p: Path, base: Path) -> str:
    try:
        return str(p.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(p.resolve())


def _only_keys(table: dict, accepted, where: str) -> None:
    for key in table:
        if key not in accepted:
            raise UsageError(f"{where}: unknown key {key!r}; accepted: {', '.join(accepted)}")


def _whole(item: dict, key: str, low: int, high: int, where: str, default=None) -> int:
    v = item.get(key, default)
    if type(v) is not int or not low <= v <= high:
        raise UsageError(f"{where}: bad {key} {shown(v)}; accepted: a whole number from {low} to {high}")
    return v


def _file(item: dict, key: str, base: Path, where: str) -> str | None:
    v = item.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or not v:
        raise UsageError(f"{where}: bad {key} {str(v)[:40]!r}; accepted: a file path relative to the network file")
    p = (base / v).resolve()
    if not p.is_file():
        raise UsageError(f"{where}: {key} file {str(p)!r} not found")
    return str(p)


def _layer(item, i: int, path: Path) -> Layer:
    where = f"{path}: layer {i}"
    if not isinstance(item, dict):
        raise UsageError(f"{where}: expected a table {{name, h, w, cin, cout, count, ...}}")
    _only_keys(item, _LAYER_KEYS, where)
    name = item.get("name", f"layer{i}")
    if not isinstance(name, str) or not name:
        raise UsageError(f"{where}: bad name {name!r}; expected a string")
    k = _whole(item, "k", 1, MAX_K, where, 3)
    return Layer(_whole(item, "h", 1, MAX_HW, where), _whole(item, "w", 1, MAX_HW, where),
                 _whole(item, "cin", 1, MAX_CHANNELS, where), _whole(item, "cout", 1, MAX_CHANNELS, where),
                 _whole(item, "count", 1, 1_000_000, where, 1), name, k,
                 _whole(item, "stride", 1, MAX_STRIDE, where, 1), _whole(item, "pad", 0, k, where, k // 2),
                 _file(item, "transform", path.parent, where), _file(item, "weights", path.parent, where),
                 _whole(item, "groups", 1, MAX_CHANNELS, where, 1), _whole(item, "dilation", 1, MAX_K, where, 1))


def _not_measured(items, path: Path) -> list[dict]:
    if not isinstance(items, list):
        raise UsageError(f"{path}: bad not_measured; expected a list of {{op, macs}} tables")
    out = []
    for i, item in enumerate(items):
        where = f"{path}: not_measured {i}"
        if not isinstance(item, dict):
            raise UsageError(f"{where}: expected a table {{op, macs}}")
        _only_keys(item, ("op", "macs"), where)
        if not isinstance(item.get("op"), str) or not item["op"]:
            raise UsageError(f"{where}: bad op {str(item.get('op'))[:40]!r}; expected a name")
        out.append({"op": item["op"], "macs": _whole(item, "macs", 0, 10 ** 15, where, 0)})
    return out
