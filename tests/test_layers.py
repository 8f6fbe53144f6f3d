"""bench.layers: presets, custom layer lists and layer keys."""

import re

import pytest

from bench.errors import UsageError
from bench.layers import Layer, custom_layers, layer_key, preset_layers, resnet18_cifar


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


def write(tmp_path, doc, name="net.json"):
    import json

    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_a_network_file_round_trips_with_its_layer_files(tmp_path):
    from bench.layers import Network, load_network, save_network

    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "l1.json").write_text("{}")
    doc = {"network": "tiny", "layers": [
        {"name": "stem", "h": 32, "w": 32, "cin": 3, "cout": 16, "k": 7, "stride": 2},
        {"name": "l1", "h": 16, "w": 16, "cin": 16, "cout": 16, "count": 4, "transform": "t/l1.json"}],
        "not_measured": [{"op": "maxpool", "macs": 4096}]}
    net = load_network(write(tmp_path, doc))
    stem, l1 = net.layers
    assert (net.name, stem.pad, stem.out_hw, l1.pad, l1.count) == ("tiny", 3, (16, 16), 1, 4)
    assert l1.transform == str(tmp_path / "t" / "l1.json") and net.not_measured == ({"op": "maxpool", "macs": 4096},)
    assert stem.key == "conv-input:32x32x3-output:16x16x16-kernel:7-stride:2"
    copy = save_network(net, tmp_path / "copy.json")
    assert load_network(copy) == net and '"transform": "t/l1.json"' in copy.read_text()
    toml = tmp_path / "net.toml"
    toml.write_text('network = "t"\n[[layers]]\nh = 8\nw = 8\ncin = 4\ncout = 4\n')
    assert load_network(toml).layers == (Layer(8, 8, 4, 4, name="layer0"),) and Network("t", ()).not_measured == ()


@pytest.mark.parametrize("layer,message", [
    ({"h": 8.0, "w": 8, "cin": 4, "cout": 4}, "bad h 8.0; accepted: a whole number from 1 to 4096"),
    ({"h": "8", "w": 8, "cin": 4, "cout": 4}, "bad h '8'"),
    ({"h": True, "w": 8, "cin": 4, "cout": 4}, "bad h true"),
    ({"h": 8, "w": 8, "cin": 4, "cout": 4, "count": 2.5}, "bad count 2.5"),
    ({"h": 8, "w": 8, "cin": 4, "cout": 4, "stirde": 2}, "unknown key 'stirde'; accepted: name, h, w"),
    ({"h": 8, "w": 8, "cin": 4, "cout": 4, "k": 3, "pad": 4}, "bad pad 4; accepted: a whole number from 0 to 3"),
    ({"h": 8, "w": 8, "cin": 4, "cout": 4, "transform": "missing.json"}, "transform file"),
])
def test_bad_network_files_name_the_layer_key_and_the_accepted_values(tmp_path, layer, message):
    from bench.layers import load_network

    with pytest.raises(UsageError, match=re.escape(message)):
        load_network(write(tmp_path, {"layers": [layer]}))


def test_layers_no_kernel_implements_are_refused_before_anything_runs():
    from bench.measure.cases import expand

    with pytest.raises(UsageError, match=r"layer 'stem' \(k 7 stride 2 pad 3\) has no kernel; accepted: k 3 stride 1 pad 1"):
        expand([Layer(32, 32, 3, 16, name="stem", k=7, stride=2)], ["im2row"], ["static"], [32])


def test_duplicate_list_values_collapse_in_order():
    assert [l.h for l in custom_layers("8,8,16,8", "4", None, None)] == [8, 16]
    assert [(l.cin, l.cout) for l in custom_layers("8", None, "4,4", "8")] == [(4, 8)]
