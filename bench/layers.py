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
                 "transform": "layer1.0.conv1.json",     # optional: the layer's own transform file
                 "weights": "layer1.0.conv1.npz"}],      # optional: its trained weights (and ranges)
     "not_measured": [{"op": "maxpool", "macs": 65536}]} # optional: named in network totals

Paths are relative to the file. Numbers must be whole JSON/TOML integers (8.0, "8" and true are
refused); unknown keys are refused, so a misspelt key never goes unnoticed. `layer_key` names a
layer in lookup tables, as once-for-all / ProxylessNAS tables do.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
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

    def __post_init__(self):
        if self.pad is None:
            object.__setattr__(self, "pad", self.k // 2)

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
        return ho * wo * self.k * self.k * self.cin * self.cout


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


# ---------------------------------------------------------------------------------------------
# Network files

MAX_K = 15
MAX_STRIDE = 8
_LAYER_KEYS = ("name", "h", "w", "cin", "cout", "count", "k", "stride", "pad", "transform", "weights")


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
                 _file(item, "transform", path.parent, where), _file(item, "weights", path.parent, where))


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
