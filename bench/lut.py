"""The NAS lookup table, at the path the README promises (`bench.lut.load_lut`); the code lives in
bench.analysis.lut, the keys in bench.layers and bench.operators."""

from bench.analysis.lut import LUT, LUTError, load_lut
from bench.layers import Layer, layer_key, resnet18_cifar
from bench.operators import op_key

__all__ = ["LUT", "LUTError", "Layer", "layer_key", "load_lut", "op_key", "resnet18_cifar"]
