"""A network file whose layers carry their own transforms, through `bench run --layers`, `bench lut`
and `bench network`, on the in-process fake board of tests/measure/test_sweep.py (mocked there, and
why): each layer is measured with its own transform (no cross product), two files with one stem
keep two operator keys, and a collision is refused rather than merged."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bench.analysis.lut import lut_json
from bench.cli.main import main
from bench.errors import UsageError
from bench.layers import Layer
from bench.measure.cases import Case, parse_transforms
from bench.numerics.winograd import cook_toom, save_transform
from bench.operators import op_key, transform_digest
from tests.measure.test_sweep import fake_board, rows  # noqa: F401  (the fixture)


def learned_f4(path, shift: float):
    t = cook_toom(4)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_transform(type(t)(4, 3, t.AT, t.G + shift, t.BT), path)
    return path


@pytest.fixture
def network(tmp_path):
    """Two layers of one shape, each with its own transform file named conv1.json."""
    a, b = learned_f4(tmp_path / "l1" / "conv1.json", 0.0), learned_f4(tmp_path / "l2" / "conv1.json", 0.01)
    doc = {"network": "two", "layers": [
        {"name": "layer1.0.conv1", "h": 8, "w": 8, "cin": 16, "cout": 16, "transform": "l1/conv1.json"},
        {"name": "layer2.0.conv1", "h": 8, "w": 8, "cin": 16, "cout": 16, "transform": "l2/conv1.json"}]}
    (tmp_path / "net.json").write_text(json.dumps(doc))
    return tmp_path / "net.json", a, b


def test_each_layer_runs_its_own_transform_and_keeps_its_own_key(fake_board, network, tmp_path, capsys):
    net, a, b = network
    out = tmp_path / "r"
    assert main(["run", "--board", "fakehikey", "--core", "a73", "--layers", str(net), "--algo", "im2row,f4",
                 "--transform", "static", "--bits", "32", "--no-errors", "--reps", "3", "--min-time-ms", "1",
                 "--out", str(out)]) == 0
    got = sorted((r["algo"], r["transform"], r["transform_digest"]) for r in rows(out))
    # one shape: im2row and static once, each layer's own file once (not every file on every layer)
    assert got == sorted([("im2row", "none", ""), ("f4", "static", ""), ("f4", str(a), transform_digest(a)),
                          ("f4", str(b), transform_digest(b))])
    assert main(["lut", str(out), "--out", str(out)]) == 0
    lut = json.loads((out / "lut.json").read_text())
    (table,) = lut["tables"].values()
    (ops,) = table.values()
    assert op_key("f4", str(a), 32) != op_key("f4", str(b), 32)
    assert {op_key("f4", str(a), 32), op_key("f4", str(b), 32), "f4-static-fp32", "im2row-fp32"} == set(ops)
    assert op_key("f4", str(a), 32).startswith("f4-conv1@")
    capsys.readouterr()
    assert main(["network", str(out), "--layers", str(net), "--out", str(tmp_path / "n")]) == 0
    text = capsys.readouterr().out
    assert "own transforms fp32" in text and "f4-static-fp32" in text and "im2row-fp32" in text
    # the fastest per layer never gives a layer another layer's trained transform (same shape, same
    # cost, another computation)
    fastest = pd.read_csv(tmp_path / "n" / "network_layers.csv").query("assignment == 'fastest per layer'")
    chosen = dict(zip(fastest["layer"], fastest["op"]))
    assert chosen["layer1.0.conv1"] != op_key("f4", str(b), 32) and chosen["layer2.0.conv1"] != op_key("f4", str(a), 32)


def test_the_same_file_content_is_one_operator_and_a_key_for_two_files_is_refused(tmp_path):
    a = learned_f4(tmp_path / "x" / "t.json", 0.0)
    b = learned_f4(tmp_path / "y" / "t.json", 0.0)
    c = learned_f4(tmp_path / "z" / "t.json", 0.5)
    assert op_key("f4", str(a), 8) == op_key("f4", str(b), 8) != op_key("f4", str(c), 8)
    assert op_key("f4", str(tmp_path / "gone" / "t.json"), 8) == "f4-t-int8"   # no file, no digest
    row = {"board": "b", "core": "a73", "threads": 1, "layer": "L", "op": "f4-t-fp32", "transform": "/gone/x/t.json"}
    with pytest.raises(UsageError, match="operator key f4-t-fp32 names two transform files"):
        lut_json([row, {**row, "transform": "/gone/y/t.json"}])


def test_a_layer_whose_transform_is_not_winograd_is_measured_only_when_accepted(tmp_path, capsys):
    t = cook_toom(4)
    save_transform(type(t)(4, 3, t.AT, t.G, t.BT * np.arange(1, 7)[:, None]), tmp_path / "bad.json")
    (tmp_path / "net.json").write_text(json.dumps({"layers": [
        {"name": "l", "h": 8, "w": 8, "cin": 4, "cout": 4, "transform": "bad.json"}]}))
    assert main(["run", "--layers", str(tmp_path / "net.json"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "layer 'l'" in err and "is not a Winograd transform (identity error" in err and "--accept-inexact" in err
    assert not (tmp_path / "r").exists()


def test_an_imported_transform_is_measured_with_its_tile_origin(tmp_path):
    path = learned_f4(tmp_path / "t.json", 0.01)
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "tile_origin": "symmetric"}))
    layer = Layer(10, 10, 4, 4)
    assert Case(layer, "f4", str(path), 8, "tensor").spec(1).runner_line().split()[-2] == "origin=symmetric"
    assert "origin" not in Case(layer, "f4", str(learned_f4(tmp_path / "u.json", 0.01)), 8, "tensor").spec(1).runner_line()
    assert "origin" not in Case(layer, "f4", "static", 8, "tensor").spec(1).runner_line()
    path.write_text(json.dumps({**doc, "tile_origin": "centre"}))
    with pytest.raises(UsageError, match="field 'tile_origin' is 'centre'; accepted: top-left, symmetric"):
        parse_transforms(str(path))


def test_a_layer_s_own_transform_is_measured_on_its_tile_size_whatever_algo_lists(tmp_path):
    """A network total needs every layer: an F6 layer's own file runs as f6 under --algo im2row,f4."""
    from bench.measure.cases import expand
    f6 = save_transform(cook_toom(6), tmp_path / "six.json")
    layer = Layer(12, 12, 4, 4, name="l", transform=str(f6))
    cases = expand([layer], ["im2row", "f4"], ["static"], [8, 32])
    assert sorted((c.algo, c.transform, c.bits) for c in cases if c.transform == str(f6)) == [
        ("f6", str(f6), 8), ("f6", str(f6), 32)]
