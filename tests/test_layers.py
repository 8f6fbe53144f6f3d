"""bench.layers: presets, custom layer lists and layer keys."""

import pytest

from bench.errors import UsageError
from bench.layers import custom_layers, layer_key, preset_layers, resnet18_cifar


def test_resnet18_cifar_has_16_winograd_layers():
    for width, chans in ((1.0, (64, 128, 256, 512)), (0.5, (32, 64, 128, 256))):
        layers = resnet18_cifar(width)
        assert sum(l.count for l in layers) == 16
        assert {(l.h, l.cout) for l in layers} == set(zip((32, 16, 8, 4), chans))
    with pytest.raises(UsageError, match="accepted: 0.5, 1.0"):
        resnet18_cifar(0.75)


@pytest.mark.parametrize("call,message", [
    (lambda: preset_layers("resnet50"), "unknown preset 'resnet50'; accepted: resnet18-cifar, grid, quick"),
    (lambda: custom_layers("0", "8", None, None), "bad resolution 0; accepted: 1 to 4096"),
    (lambda: custom_layers("8", "-4", None, None), "bad channel count -4"),
    (lambda: custom_layers("8,x", "4", None, None), "bad resolution 'x'"),
    (lambda: custom_layers("", "4", None, None), "bad resolution ''"),
    (lambda: custom_layers("8", None, "4", None), "--res needs --channels"),
])
def test_bad_layer_input_names_value_and_accepted(call, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        call()


def test_layer_keys_follow_once_for_all():
    assert layer_key(32, 32, 64, 64) == "conv-input:32x32x64-output:32x32x64-kernel:3-stride:1"
    assert layer_key(32, 32, 64, 128, stride=2) == "conv-input:32x32x64-output:16x16x128-kernel:3-stride:2"
