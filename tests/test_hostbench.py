"""`bench hostbench` goes through the measurement pipeline; its settings are checked before anything
is built or run."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("args,message", [
    (["--cpu", "99"], "bad --cpu 99; accepted:"),
    (["--cpu", "-1"], "bad --cpu -1; accepted:"),
    (["--min-time-ms", "nan"], "bad --min-time-ms nan; accepted: 0 to 600000"),
    (["--min-time-ms", "inf"], "bad --min-time-ms inf"),
    (["--runs", "0"], "bad --runs 0; accepted: 1 to 1000"),
    (["--scheme", "tensor,int4"], "bad --scheme 'tensor,int4'; accepted: a list from tensor, tap, wide"),
])
def test_bad_settings_are_one_line_exit_2(args, message):
    done = subprocess.run([sys.executable, "-m", "bench", "hostbench", *args], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_every_int8_winograd_case_is_measured_under_each_scheme():
    from bench.cmd_hostbench import LAYERS, cases_text

    lines = cases_text((32, 8), ("tensor", "wide")).splitlines()
    wide = [l for l in lines if "scheme=wide" in l]
    # 6 int8 Winograd kernels (f2/f4/f6 x static/learned) per layer; im2row and fp32 have no scheme
    assert len(wide) == 6 * len(LAYERS) and all("bits=8" in l and "im2row" not in l for l in wide)
    assert len(lines) == len(LAYERS) * (7 + 7 + 6)   # fp32, int8 tensor (the default line), int8 wide
