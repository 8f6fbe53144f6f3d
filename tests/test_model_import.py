"""ONNX models as networks (bench.model_import, `bench import-onnx`, `bench network --onnx`), on real
ONNX files built with the onnx package's helper API (installed from the registries on first use:
the `onnx` fixture; skipped where that fails)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from bench.errors import UsageError
from bench.layers import Layer, load_network


def small_resnet(onnx, path, batch="N"):
    """A stem, a strided block with a 1x1 stride-2 projection, two 3x3 convolutions of one shape, a
    depthwise convolution, max pooling, global average pooling and a classifier."""
    from onnx import TensorProto, helper, numpy_helper

    def w(name, *shape):
        return numpy_helper.from_array(np.zeros(shape, np.float32), name)

    def conv(name, x, weight, y, **attrs):
        return helper.make_node("Conv", [x, weight], [y], name=name, **attrs)

    nodes = [conv("stem", "x", "w0", "a", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["b"]),
             conv("down", "b", "w1", "c", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
             conv("proj", "b", "w2", "d", kernel_shape=[1, 1], strides=[2, 2]),
             helper.make_node("Add", ["c", "d"], ["e"]),
             conv("same1", "e", "w3", "f", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             conv("same2", "f", "w4", "g", kernel_shape=[3, 3], auto_pad="SAME_UPPER"),
             conv("dw", "g", "w5", "h", kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=16),
             helper.make_node("MaxPool", ["h"], ["i"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("GlobalAveragePool", ["i"], ["j"]),
             helper.make_node("Flatten", ["j"], ["k"]),
             helper.make_node("Gemm", ["k", "fc", "fcb"], ["y"], transB=1)]
    inits = [w("w0", 8, 3, 3, 3), w("w1", 16, 8, 3, 3), w("w2", 16, 8, 1, 1), w("w3", 16, 16, 3, 3),
             w("w4", 16, 16, 3, 3), w("w5", 16, 1, 3, 3), w("fc", 10, 16), w("fcb", 10)]
    graph = helper.make_graph(nodes, "small-resnet", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def test_convolutions_with_shapes_counts_and_the_rest_not_measured(onnx, tmp_path):
    from bench.model_import import read_onnx

    net = read_onnx(small_resnet(onnx, tmp_path / "m.onnx"))
    assert net.name == "m"
    assert [(l.name, l.h, l.w, l.cin, l.cout, l.k, l.stride, l.pad, l.count) for l in net.layers] == [
        ("stem", 32, 32, 3, 8, 3, 1, 1, 1), ("down", 32, 32, 8, 16, 3, 2, 1, 1), ("proj", 32, 32, 8, 16, 1, 2, 0, 1),
        ("same1", 16, 16, 16, 16, 3, 1, 1, 2)]   # same2 (auto_pad SAME_UPPER) is the same shape: counted
    other = {op["op"]: op["macs"] for op in net.not_measured}
    assert other == {"Relu": 8 * 32 * 32, "Add": 16 * 16 * 16, "Conv (grouped: no kernel)": 16 * 16 * 16 * 9,
                     "MaxPool": 16 * 8 * 8 * 4, "GlobalAveragePool": 16 * 8 * 8, "Gemm": 10 * 16}
    assert net.layers[1].key == Layer(32, 32, 8, 16, stride=2).key


def bench_with_onnx(onnx, *args):
    """`bench ARGS` in a process that finds onnx where the fixture put it."""
    where = os.path.dirname(os.path.dirname(onnx.__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), where) if p)}
    return subprocess.run([sys.executable, "-m", "bench", *map(str, args)], capture_output=True, text=True, timeout=300,
                          env=env)


def test_import_onnx_writes_a_network_file_bench_reads(onnx, tmp_path):
    model = small_resnet(onnx, tmp_path / "m.onnx")
    done = bench_with_onnx(onnx, "import-onnx", model, "--out", tmp_path / "n.json")
    assert done.returncode == 0, done.stderr
    assert "5 convolutions in 4 shapes" in done.stdout
    net = load_network(tmp_path / "n.json")
    assert sum(l.count for l in net.layers) == 5 and {op["op"] for op in net.not_measured} >= {"MaxPool", "Gemm"}
    doc = json.loads((tmp_path / "n.json").read_text())
    assert doc["layers"][1] == {"name": "down", "h": 32, "w": 32, "cin": 8, "cout": 16, "count": 1, "k": 3, "stride": 2, "pad": 1}


def test_bad_models_are_refused_in_one_line(onnx, tmp_path):
    from bench.model_import import read_onnx

    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01not a model")
    with pytest.raises(UsageError, match="is not an ONNX model|shape inference failed"):
        read_onnx(tmp_path / "junk.onnx")
    with pytest.raises(UsageError, match="not found"):
        read_onnx(tmp_path / "missing.onnx")
    sym = small_resnet(onnx, tmp_path / "sym.onnx")
    model = onnx.load(str(sym))
    model.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "H"
    onnx.save(model, str(sym))
    with pytest.raises(UsageError, match="symbolic dimension 'H'; give the input size"):
        read_onnx(sym)
    assert read_onnx(sym, (64, 64)).layers[0].h == 64


def test_without_onnx_the_message_says_how_to_install_it(monkeypatch, tmp_path):
    from bench.errors import MeasurementError
    from bench.model_import import read_onnx

    monkeypatch.setitem(sys.modules, "onnx", None)   # as if not installed: import onnx raises ImportError
    with pytest.raises(MeasurementError, match=r"needs the onnx package: pip install 'winobench\[onnx\]'"):
        read_onnx(tmp_path / "m.onnx")


TORCH_RESNET18 = """
import torch, torch.nn as nn


class Block(nn.Module):
    def __init__(s, cin, cout, stride):
        super().__init__()
        s.conv1, s.bn1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        s.conv2, s.bn2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        s.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)) if stride != 1 else None

    def forward(s, x):
        y = s.bn2(s.conv2(torch.relu(s.bn1(s.conv1(x)))))
        return torch.relu(y + (s.down(x) if s.down is not None else x))


class ResNet18(nn.Module):   # torchvision's resnet18, layer for layer
    def __init__(s):
        super().__init__()
        s.conv1, s.bn1, s.pool = nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.MaxPool2d(3, 2, 1)
        blocks, cin = [], 64
        for i, c in enumerate((64, 128, 256, 512)):
            blocks += [Block(cin, c, 1 if i == 0 else 2), Block(c, c, 1)]
            cin = c
        s.layers, s.fc = nn.Sequential(*blocks), nn.Linear(512, 1000)

    def forward(s, x):
        x = s.layers(s.pool(torch.relu(s.bn1(s.conv1(x)))))
        return s.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))
"""


def test_a_torch_exported_resnet18_is_the_imagenet_preset(torch, onnx, tmp_path):
    """torch.onnx.export of torchvision's ResNet-18 architecture: the same layers and counts as the
    resnet18-imagenet preset, so `bench network --onnx` and `--preset` give the same totals."""
    from bench.layers import resnet18_imagenet
    from bench.measure.cases import expand
    from bench.measure.results import ResultsDir, row_from_case
    from bench.model_import import read_onnx
    from tests.support import case_record

    space = {}
    exec(TORCH_RESNET18, space)
    model = space["ResNet18"]().eval()
    torch.onnx.export(model, (torch.zeros(1, 3, 224, 224),), str(tmp_path / "r18.onnx"), dynamo=False)
    net, preset = read_onnx(tmp_path / "r18.onnx"), resnet18_imagenet()
    assert sorted((l.key, l.count) for l in net.layers) == sorted((l.key, l.count) for l in preset.layers)
    assert {op["op"] for op in net.not_measured} >= {"MaxPool", "Add", "GlobalAveragePool", "Gemm"}
    cases = expand(list(preset.layers), ["im2row", "f4"], ["static"], [8, 32])
    with ResultsDir.create(tmp_path / "r", resume=False) as results:
        for i, case in enumerate(cases):
            rec = case_record(0.1 + i / 100)
            results.add(row_from_case(rec, case, 0), rec)
    totals = []
    for how in (["--onnx", tmp_path / "r18.onnx"], ["--preset", "resnet18-imagenet"]):
        done = bench_with_onnx(onnx, "network", tmp_path / "r", *how, "--out", tmp_path / how[0][2:])
        assert done.returncode == 0, done.stderr
        totals.append(open(tmp_path / how[0][2:] / "network.csv").read())
        assert "not measured (share of the network's multiply-adds" in done.stdout and "im2row-int8" in done.stdout
    assert totals[0] == totals[1]
