"""The checkpoint-to-latency path of tests/cli/test_checkpoint_to_latency.py on the emulated aarch64
board (`vm` of tests/e2e/conftest.py): the imported layers' transform files are pushed and run by the
aarch64 build, each layer with its own transform and tile origin; emulated timings are then kept out
of network totals and lookup tables, which say so."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.cli.test_checkpoint_to_latency import OWN, check_own_rows
from tests.e2e.conftest import bench
from tests.support import FIXTURES

pytestmark = pytest.mark.slow


def test_an_imported_checkpoint_runs_on_the_emulated_board(vm, tmp_path):
    imported, results = tmp_path / "imported", tmp_path / "results"
    res = bench("transforms", "import", FIXTURES / "checkpoints" / "flex_tiny.safetensors", "--out", imported,
                "--weights", "--input-size", "8", env=vm.env)
    assert res.returncode == 0, res.stderr
    net = imported / "network.json"
    res = bench("run", "--board", vm.name, "--core", "a53", "--layers", net, "--accept-inexact",
                "--algo", "im2row", "--bits", "8,32", "--reps", "2", "--min-time-ms", "1", "--out", results, env=vm.env)
    assert res.returncode == 0, res.stderr
    rows = pd.read_csv(results / "latency.csv", dtype=str, keep_default_na=False).to_dict("records")
    check_own_rows(rows, imported)
    assert len(rows) == 2 * (len(OWN) + 3) and all(r["emulated"] == "True" for r in rows)   # + im2row per layer
    assert {r["where"] for r in rows} == {"emulated"}
    for command in (("network", results, "--layers", net, "--out", tmp_path / "n"),
                    ("lut", results, "--out", tmp_path / "l")):
        res = bench(*command, env=vm.env)
        assert res.returncode == 2 and "no successful non-emulated" in res.stderr, res.stderr
