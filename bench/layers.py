"""Layers: the convolution shapes the tables are measured on and the networks are summed over.

A `Layer` is a 3x3, stride-1, same-padded convolution H x W x Cin -> Cout with how often a network
uses it (`count`) and a name. Layers come from presets (`preset_layers`), from `--res` with
`--channels` or `--cin`/`--cout` lists (`custom_layers`), or from a layers file (`load_layers`:
JSON, or TOML with [[layers]] tables):

    {"layers": [{"name": "stage1", "h": 32, "w": 32, "cin": 32, "cout": 32, "count": 4}, ...]}

`layer_key` names a layer in lookup tables, as once-for-all / ProxylessNAS tables do.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from bench.errors import UsageError, choice_error
from bench.files import read_mapping

# The largest layer the runner accepts (kernels_c/runner; tests/measure/test_protocol.py checks it).
MAX_HW = 4096
MAX_CHANNELS = 8192


@dataclass(frozen=True)
class Layer:
    """A 3x3, stride-1, same-padded convolution layer; `count` is how often a network uses it."""

    h: int
    w: int
    cin: int
    cout: int
    count: int = 1
    name: str = ""

    @property
    def key(self) -> str:
        return layer_key(self.h, self.w, self.cin, self.cout)

    @property
    def shape(self) -> str:
        return f"{self.h}x{self.w}x{self.cin}->{self.cout}"


def layer_key(h: int, w: int, cin: int, cout: int, kernel: int = 3, stride: int = 1) -> str:
    """`conv-input:32x32x64-output:32x32x64-kernel:3-stride:1`."""
    ho, wo = -(-h // stride), -(-w // stride)
    return f"conv-input:{h}x{w}x{cin}-output:{ho}x{wo}x{cout}-kernel:{kernel}-stride:{stride}"


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


def load_layers(path) -> list[Layer]:
    """Layers with counts from a layers file (format in the module docstring)."""
    path = Path(path)
    items = read_mapping(path, "layers").get("layers")
    if not isinstance(items, list) or not items:
        raise UsageError(f"{path}: expected a non-empty list `layers` of {{name, h, w, cin, cout, count}}")
    layers = []
    for i, item in enumerate(items):
        try:
            layer = Layer(int(item["h"]), int(item["w"]), int(item["cin"]), int(item["cout"]),
                          int(item.get("count", 1)), str(item.get("name", f"layer{i}")))
        except (KeyError, TypeError, ValueError) as e:
            raise UsageError(f"{path}: layer {i} needs whole numbers h, w, cin, cout (and count): {e!r}") from None
        if not (1 <= layer.h <= MAX_HW and 1 <= layer.w <= MAX_HW and 1 <= layer.cin <= MAX_CHANNELS
                and 1 <= layer.cout <= MAX_CHANNELS and layer.count >= 1):
            raise UsageError(f"{path}: layer {i} {layer.h}x{layer.w}x{layer.cin}->{layer.cout} x{layer.count} out of "
                             f"range; accepted: h, w 1..{MAX_HW}, channels 1..{MAX_CHANNELS}, count >= 1")
        layers.append(layer)
    return layers
