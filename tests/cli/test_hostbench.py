"""`bench hostbench` goes through the measurement pipeline; its settings are checked before anything
is built or run."""

import re
import subprocess
import sys

import pytest


@pytest.mark.parametrize("args,message", [
    (["--cpu", "99"], "bad --cpu 99; accepted:"),
    (["--cpu", "-1"], "bad --cpu -1; accepted:"),
    (["--min-time-ms", "nan"], "bad --min-time-ms nan; accepted: 0 to 600000"),
    (["--min-time-ms", "inf"], "bad --min-time-ms inf"),
    (["--runs", "0"], "bad --runs 0; accepted: 1 to 1000"),
    (["--scheme", "tensor,int4"], "unknown scheme 'int4'; accepted: tensor, tap, wide"),
    (["--bits", "16"], "unknown bit width '16'; accepted: 8, 32"),
])
def test_bad_settings_are_one_line_exit_2(args, message):
    done = subprocess.run([sys.executable, "-m", "bench", "hostbench", *args], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_one_run_gives_the_table_and_the_runner_records(tmp_path):
    """The real host runner through the pipeline: every layer x combo in the table, and --json keeps
    every runner record of the run (info, peak, one case per row) with its board context."""
    import json

    from bench.cli.hostbench import COMBOS, LAYERS

    out = tmp_path / "runs.json"
    done = subprocess.run([sys.executable, "-m", "bench", "hostbench", "--runs", "1", "--min-time-ms", "1",
                           "--bits", "32", "--json", str(out)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    rows = [l for l in done.stdout.splitlines() if re.match(r"\s*\d+x\d+x\d+->\d+ ", l)]
    assert len(rows) == len(LAYERS) * len(COMBOS)
    (run,) = json.loads(out.read_text())
    assert [r["type"] for r in run[:2]] == ["info", "peak"]
    cases = [r for r in run if r["type"] == "case"]
    assert len(cases) == len(rows) and all(c["status"] == "ok" and c["board"] == "local" for c in cases)


def test_every_int8_winograd_case_is_measured_under_each_scheme():
    from bench.cli.hostbench import LAYERS, case_specs

    lines = [s.runner_line() for s in case_specs((32, 8), ("tensor", "wide"))]
    wide = [l for l in lines if "scheme=wide" in l]
    # 6 int8 Winograd kernels (f2/f4/f6 x static/learned) per layer; im2row and fp32 have no scheme
    assert len(wide) == 6 * len(LAYERS) and all("bits=8" in l and "im2row" not in l for l in wide)
    assert len(lines) == len(LAYERS) * (7 + 7 + 6)   # fp32, int8 tensor (the default line), int8 wide
