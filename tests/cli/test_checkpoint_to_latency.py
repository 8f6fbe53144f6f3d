"""From a Winograd-aware checkpoint to its network latency as a user types it, on the local board
(the host build of the real runner): `bench transforms import --weights` -> `bench run --layers`
-> `bench network` -> `bench lut`. The checkpoint is the tiny one in the training code's layout
(tests/numerics/test_trained.py `flex_state`): saved by torch where torch installs, and the committed
.npz and .safetensors of the same arrays everywhere. tests/e2e/test_checkpoint_vm.py runs the same
on the emulated aarch64 board."""

from __future__ import annotations

import csv
import json

import pytest

from bench.cli.main import main
from bench.operators import op_key
from tests.numerics.test_trained import flex_state
from tests.support import FIXTURES

FAST = ["--reps", "2", "--min-time-ms", "1"]
OWN = {"layer1.0.conv1": "f4", "layer2.0.conv1": "f4", "layer3.0.conv1": "f6"}


def torch_checkpoint(torch, path):
    """torch.save of the tiny checkpoint's state dict, as the training code saves one."""
    torch.save({k: torch.from_numpy(v.copy()) for k, v in flex_state().items()}, path)
    return path


@pytest.fixture(params=["npz", "safetensors", "pt"])
def checkpoint(request, tmp_path):
    if request.param == "pt":
        return torch_checkpoint(request.getfixturevalue("torch"), tmp_path / "flex_tiny.pt")
    return FIXTURES / "checkpoints" / f"flex_tiny.{request.param}"


def read_rows(out) -> list[dict]:
    with open(out / "latency.csv", newline="") as f:
        return list(csv.DictReader(f))


def check_own_rows(rows: list[dict], imported) -> None:
    """Every imported layer measured with its own file at both widths, error figures on its trained
    weights against both references."""
    for name, algo in OWN.items():
        mine = [r for r in rows if r["transform"] == str(imported / "transforms" / f"{name}.json")]
        assert sorted((r["algo"], r["bits"], r["status"]) for r in mine) == [(algo, "32", "ok"), (algo, "8", "ok")]
        assert all(r["error_data"] == f"trained+range:{name}" and r["sqnr_same_db"] and r["sqnr_db"] for r in mine)
        fp32 = next(r for r in mine if r["bits"] == "32")
        assert float(fp32["sqnr_same_db"]) > 90 > float(fp32["sqnr_db"])   # learned: exact to itself, not to conv


def test_a_checkpoint_goes_to_network_latency_on_the_local_board(checkpoint, tmp_path, capsys):
    imported, results = tmp_path / "imported", tmp_path / "results"
    assert main(["transforms", "import", str(checkpoint), "--out", str(imported), "--weights",
                 "--input-size", "8"]) == 0
    net = imported / "network.json"
    assert main(["run", "--board", "local", "--layers", str(net), "--accept-inexact", "--algo", "im2row,f4",
                 "--transform", "static", "--bits", "8,32", *FAST, "--out", str(results)]) == 0
    rows = read_rows(results)
    check_own_rows(rows, imported)
    capsys.readouterr()
    assert main(["network", str(results), "--layers", str(net), "--out", str(tmp_path / "n")]) == 0
    text = capsys.readouterr().out
    assert "network of 3 layers" in text
    assert all(f" {a} " in text for a in ("own transforms fp32", "own transforms int8", "im2row-fp32",
                                          "f4-static-int8"))
    assert main(["lut", str(results), "--out", str(tmp_path / "lut")]) == 0
    lut = json.loads((tmp_path / "lut" / "lut.json").read_text())
    ops = [op for table in lut["tables"].values() for layer in table.values() for op in layer]
    keys = {(r["h"], r["w"], r["cin"], r["cout"], op_key(r["algo"], r["transform"], int(r["bits"]), r["scheme"]))
            for r in rows}
    assert len(ops) == len(rows) == len(keys)   # one key per measured operator and layer: nothing merged
    assert {op_key(OWN[n], str(imported / "transforms" / f"{n}.json"), 32) for n in OWN} <= set(ops)
