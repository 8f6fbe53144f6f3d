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
])
def test_bad_settings_are_one_line_exit_2(args, message):
    done = subprocess.run([sys.executable, "-m", "bench", "hostbench", *args], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1
