"""`bench compare`: the U test on raw samples, its flags and exit status; checked against a real
second runner build in which one kernel is deliberately slowed (WB_SLOW_KERNEL, a test-only define)."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bench.native.build import build_runner
from bench.measure.cases import Case, Layer
from bench.analysis.compare import MIN_REPS, compare
from bench.measure.protocol import CaseRecord
from bench.measure.results import ResultsDir, load_samples, row_from_case

SLOWED = "wb_f32_conv_winograd_static_f4"
CASES = [f"algo={a} transform=static bits=32 h={h} w={h} cin={c} cout={c}"
         for a in ("im2row", "f2", "f4") for h, c in ((8, 16), (12, 8), (16, 16))]


def samples_frame(groups: dict) -> pd.DataFrame:
    """load_samples-shaped rows from {algo: samples}."""
    rows = [{"board": "b", "core": "a53", "threads": 1, "bits": 32, "algo": algo, "transform": "static",
             "scheme": "none", "requant": "none", "h": 8, "w": 8, "cin": 8, "cout": 8, "k": 3, "stride": 1, "pad": 1,
             "emulated": False, "run": 0, "stage": "total_ms", "samples": list(s)}
            for algo, s in groups.items()]
    return pd.DataFrame(rows)


def test_u_test_flags_a_shift_and_not_the_same_distribution():
    rng = np.random.default_rng(0)
    old = samples_frame({"f2": rng.normal(1.0, 0.02, 15), "f4": rng.normal(1.0, 0.02, 15), "f6": rng.normal(1.0, 0.02, 4)})
    new = samples_frame({"f2": rng.normal(1.0, 0.02, 15), "f4": rng.normal(1.2, 0.02, 15), "f6": rng.normal(1.5, 0.02, 4)})
    cmp = compare(old, new).set_index("algo")
    assert not cmp.loc["f2", "changed"] and cmp.loc["f4", "changed"] and cmp.loc["f4", "slower"]
    assert cmp.loc["f4", "change"] == pytest.approx(0.2, abs=0.03) and cmp.loc["f4", "p_value"] < 1e-4
    # 4 against 4 samples: the two-sided U test cannot go below p = 2/70, and the case is flagged
    assert cmp.loc["f6", "few_reps"] and not cmp.loc["f2", "few_reps"] and MIN_REPS == 9
    assert cmp.loc["f6", "p_value"] == pytest.approx(2 / 70)


def run_into_results(binary, out, reps=15):
    """Run CASES through a runner build on CPU 0 and store them as a results directory."""
    text = "".join(f"{c} id={i}\n" for i, c in enumerate(CASES))
    done = subprocess.run([str(binary), "--cpus", "0", "--min-reps", str(reps), "--min-time-ms", "1", "--warmup", "2"],
                          input=text, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    import json

    with ResultsDir(out) as results:
        for line in map(json.loads, done.stdout.splitlines()):
            if line["type"] != "case":
                continue
            rec = CaseRecord.from_saved({**line, "board": "local", "core": "host", "threads": 1, "emulated": False})
            case = Case(Layer(line["h"], line["w"], line["cin"], line["cout"]), line["algo"], line["transform"], line["bits"])
            results.add(row_from_case(rec, case, 0), rec)
    return out


def bench(*args):
    return subprocess.run([sys.executable, "-m", "bench", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.slow
def test_a_deliberately_slowed_kernel_is_marked_and_fails_ci(tmp_path):
    normal = build_runner("host")
    slowed = build_runner("host", defines=(f'WB_SLOW_KERNEL="{SLOWED}"', "WB_SLOW_PERCENT=50"))
    assert slowed != normal
    old = run_into_results(normal, tmp_path / "old")
    new = run_into_results(slowed, tmp_path / "new")
    assert len(load_samples(old)) == len(CASES) * 4   # total and three stages per case

    done = bench("compare", old, new, "--out", tmp_path / "cmp")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "got significantly slower by more than 10%" in done.stderr
    cmp = pd.read_csv(tmp_path / "cmp" / "compare.csv")
    f4 = cmp[cmp["algo"] == "f4"]
    assert len(f4) == 3 and f4["slower"].all() and (f4["change"] > 0.25).all(), cmp.to_string()
    assert (tmp_path / "cmp" / "compare.png").stat().st_size > 10_000
    assert all(f"f4-static-fp32 {h}x{h}" in line and "SLOWER FAIL" in line
               for h in (8, 12, 16) for line in done.stdout.splitlines() if f"f4-static-fp32 {h}x{h}" in line)

    same = bench("compare", old, old, "--out", tmp_path / "same")
    assert same.returncode == 0 and "0 changed" in same.stdout, same.stdout + same.stderr


def test_bad_compare_input_is_one_line_exit_2(tmp_path):
    with ResultsDir(tmp_path / "r") as results:
        results.start_run({})
    for args, message in (([tmp_path / "r", tmp_path / "nothing"], "is not a winobench results directory"),
                          ([tmp_path / "r", tmp_path / "r"], "has no successful measurements with raw samples"),
                          ([tmp_path / "r", tmp_path / "r", "--alpha", "2"], "bad --alpha 2.0")):
        done = bench("compare", *args)
        assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "r" / "compare").exists()


def test_case_labels_name_a_filter_other_than_3x3_stride_1():
    from bench.analysis.compare import case_label

    row = {"board": "b", "core": "a53", "algo": "im2row", "transform": "none", "bits": 8, "scheme": "none",
           "h": 32, "w": 32, "cin": 3, "cout": 16}
    assert case_label({**row, "k": 3, "stride": 1, "pad": 1}) == "b/a53 im2row-int8 32x32x3->16"
    assert case_label({**row, "k": 7, "stride": 2, "pad": 3}) == "b/a53 im2row-int8 32x32x3->16 k7s2p3"
