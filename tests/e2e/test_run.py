"""`bench run`, `bench lut`, `bench plot` and `bench verify` driven as a user would: subprocesses on
the local board, on a real sshd on 127.0.0.1 (conftest) and on a two-board farm."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from bench.analysis.lut import LUTError, load_lut
from bench.measure.results import COLUMNS, CSV_DTYPES, KEY_COLUMNS, MAX_SAMPLES
from bench.numerics.winograd import BARABASZ_POINTS, cook_toom, save_transform

FAST = ["--reps", "2", "--min-time-ms", "1"]
SMALL = ["--res", "4,7", "--channels", "5"]


def bench(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "bench", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def read_csv(path):
    return pd.read_csv(path / "latency.csv", dtype=CSV_DTYPES, keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def local_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "results"
    done = bench("run", *SMALL, *FAST, "--out", out)
    assert done.returncode == 0, done.stderr
    return out, done


def test_run_writes_the_contract_csv_with_types(local_results):
    out, done = local_results
    df = read_csv(out)
    assert list(df.columns) == COLUMNS
    # 2 layers x (im2row + 3 Winograd x 2 transforms) x 2 bit widths
    assert len(df) == 2 * 7 * 2 and (df["status"] == "ok").all()
    assert set(df["algo"]) == {"im2row", "f2", "f4", "f6"} and set(df["bits"]) == {8, 32}
    assert set(df[df["algo"] == "im2row"]["transform"]) == {"none"}
    for c in ("bits", "h", "w", "cin", "cout", "threads", "reps"):
        assert df[c].dtype == np.int64, c
    for c in ("input_ms", "gemm_ms", "output_ms", "total_ms", "total_p90_ms", "sqnr_db", "rel_l2"):
        assert df[c].dtype == np.float64 and df[c].notna().all(), c
    assert (df["total_ms"] > 0).all() and (df["reps"] >= 2).all()
    assert (df["board"] == "local").all() and (df["core"] == "host").all() and not df["emulated"].any()
    assert df["cpus"].str.fullmatch(r"\d+(,\d+)*").all()
    # int8 Winograd loses accuracy with tile size; fp32 stays near float precision.
    sq = df[df["h"] == 7].set_index(["algo", "transform", "bits"])["sqnr_db"]
    assert sq[("f2", "static", 8)] > sq[("f6", "static", 8)] and sq[("f2", "static", 32)] > 90
    records = [json.loads(l) for l in (out / "raw.jsonl").read_text().splitlines()]
    kinds = [r["type"] for r in records]
    assert records[0] == {"type": "header", "tool": "winobench", "schema_version": 2}
    assert kinds[1] == "run" and records[1]["command"].startswith("bench run --res 4,7")
    assert kinds.count("case") == len(df) and kinds.count("peak") == 1 and kinds[-1] == "run_end"
    case = next(r for r in records if r["type"] == "case")
    # every sample, or the uniform subset of MAX_SAMPLES a fast case (thousands of reps in 1 ms) keeps
    assert len(case["total_ms"]["samples"]) == min(case["reps"], MAX_SAMPLES) and "gemm_ms" in case
    assert "runner" in kinds and "after" in records[-1]
    assert records[1]["harness"]["error_figures"].startswith(("during", "after"))
    assert "fastest" in done.stdout and "speedup" in done.stdout


def test_lut_answers_lookups_and_expected_latency(local_results, tmp_path):
    out, _ = local_results
    done = bench("lut", out, "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(tmp_path / "lut.csv")) == 28
    lut = load_lut(tmp_path / "lut.json")
    df = read_csv(out)
    row = df[(df["h"] == 7) & (df["algo"] == "f4") & (df["transform"] == "static") & (df["bits"] == 8)].iloc[0]
    assert lut.latency((7, 7, 5, 5), "f4-static-int8") == pytest.approx(row["total_ms"])
    f2 = lut.latency((7, 7, 5, 5), "f2-static-fp32")
    assert lut.expected_latency((7, 7, 5, 5), {"f2-static-fp32": 0.5, "f4-static-int8": 0.5}) == \
        pytest.approx(0.5 * f2 + 0.5 * row["total_ms"])
    with pytest.raises(LUTError, match="layer 'conv-input:9x9x5"):
        lut.latency((9, 9, 5, 5), "f2-static-fp32")


def test_plots_are_written_and_non_empty(local_results, tmp_path):
    out, _ = local_results
    done = bench("plot", out, "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    for stem in ("breakdown", "speedup", "error"):
        png, svg = tmp_path / f"{stem}.png", tmp_path / f"{stem}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
        assert b"<svg" in svg.read_bytes()[:1000]


def test_ctrl_c_stops_a_run_started_with_sigint_ignored(tmp_path):
    """A shell's background job starts with SIGINT ignored, and Python keeps it so; bench installs
    its own handler, so Ctrl-C (SIGINT) still stops the sweep the documented way (exit 130)."""
    out = tmp_path / "r"
    args = [sys.executable, "-m", "bench", "run", "--res", "6,9", "--channels", "8", "--reps", "3",
            "--min-time-ms", "150", "--no-errors", "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not ((out / "latency.csv").exists() and len(read_csv(out)) >= 1):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err, err
    assert 1 <= len(read_csv(out)) < 28


def test_interrupted_run_resumes_without_lost_or_duplicated_rows(tmp_path):
    out = tmp_path / "r"
    args = [sys.executable, "-m", "bench", "run", "--res", "6,9,12", "--channels", "8",
            "--reps", "3", "--min-time-ms", "150", "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (out / "latency.csv").exists() and len(read_csv(out)) >= 3:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "--resume" in err
    before = read_csv(out)
    assert 3 <= len(before) < 42 and (before["status"] == "ok").all()

    done = bench("run", "--res", "6,9,12", "--channels", "8", *FAST, "--out", out, "--resume")
    assert done.returncode == 2 and "other settings" in done.stderr and "--mix-settings" in done.stderr
    done = bench("run", "--res", "6,9,12", "--channels", "8", *FAST, "--out", out, "--resume", "--mix-settings")
    assert done.returncode == 0, done.stderr
    assert f"{42 - len(before)} of 42 cases" in done.stderr
    after = read_csv(out)
    assert len(after) == 42 and not after.duplicated(KEY_COLUMNS).any()
    kept = after.merge(before, on=KEY_COLUMNS, suffixes=("", "_before"))
    assert len(kept) == len(before)
    np.testing.assert_array_equal(kept["total_ms"], kept["total_ms_before"])  # measured once, kept
    assert set(after["run"]) == {0, 1}


def test_verify_passes_exact_files_and_judges_a_learned_one_against_its_own_matrices(tmp_path):
    good = save_transform(cook_toom(4, 3, BARABASZ_POINTS[(4, 3)]), tmp_path / "barabasz_f4.json")
    done = bench("verify", "--algo", "f4", "--transform", f"static,learned,{good},pso")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(" ok") == 4 * 4 * 2 and "all kernel results correct" in done.stdout
    # Not an exact Winograd transform, in a file whose name would break a runner case line.
    t = cook_toom(4)
    learned = type(t)(4, 3, t.AT, t.G, t.BT * np.where(np.eye(6) > 0, 1.0, 1.05))
    odd = save_transform(learned, tmp_path / "learned f4 #1 h=4096.json")
    done = bench("verify", "--algo", "f4", "--transform", odd)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [l for l in done.stdout.splitlines() if " f4 " in l]
    assert len(rows) == 4 * 2 and all("transform's own identity error" in l for l in rows)
    assert sum("vs same-matrix Winograd" in l for l in rows) == 4
    assert sum("bit-exact with the host build" in l for l in rows) == 4


def test_verify_judge_calls_a_wrong_output_wrong(tmp_path):
    """The board's answer is fabricated here (a wrong kernel cannot be built on purpose); the
    judgement uses the real host build and references."""
    from bench.measure.accuracy import same_matrices_check
    from bench.measure.cases import Case, Layer
    from bench.cli.verify import judge
    from bench.measure.protocol import CaseRecord

    t = cook_toom(4)
    learned = type(t)(4, 3, t.AT, t.G, t.BT * np.where(np.eye(6) > 0, 1.0, 1.05))
    case = Case(Layer(7, 13, 3, 5), "f4", str(save_transform(learned, tmp_path / "l.json")), 32)
    right = same_matrices_check(case)
    board = lambda checksum, rel: CaseRecord(1, "0", "ok", checksum=checksum, error={"rel_l2": rel})
    ok, note = judge(case, board(right["checksum"], right["transform_rel_l2"]))
    assert ok and "identity error" in note
    ok, note = judge(case, board("0" * 16, 0.9))
    assert not ok and "differs from the host build" in note


@pytest.mark.parametrize("args,message", [
    (["run", "--core", "a99"], "has no core 'a99'"),
    (["run", "--algo", "f3"], "unknown algo 'f3'; accepted: im2row, f2, f4, f6"),
    (["run", "--preset", "resnet50"], "unknown preset 'resnet50'; accepted: resnet18-cifar, resnet18-cifar-full, resnet18-imagenet, grid, quick"),
    (["run", "--bits", "16"], "unknown bit width '16'; accepted: 8, 32"),
    (["run", "--res", "0", "--channels", "8"], "bad resolution 0; accepted: 1 to 4096"),
    (["run", "--res", "8", "--channels", ""], "bad channel count ''"),
    (["run", "--res", "8", "--channels", "-3"], "bad channel count -3"),
    (["run", "--threads", "0"], "bad --threads 0"),
    (["run", "--threads", "99"], "bad --threads 99"),
    (["run", "--reps", "2000000000"], "bad --reps 2000000000; accepted: 1 to 100000"),
    (["run", "--min-time-ms", "nan"], "bad --min-time-ms nan"),
    (["run", "--case-timeout", "0"], "bad --case-timeout 0"),
    (["run", "--scheme", "row"], "unknown scheme 'row'; accepted: tensor, tap, wide"),
    (["run", "--resume"], "--resume: "),
    (["run", "--transform", "nosuch.json"], "nosuch.json: cannot read"),
    (["run", "--board", "nosuchboard"], "nosuchboard"),
    (["lut", "."], "not a winobench results directory"),
    (["plot", "foreign"], "not a winobench latency table"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, message):
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "latency.csv").write_text("x,y\n1,2\n")
    done = bench(*args, "--out", tmp_path / "out", cwd=tmp_path) if args[0] == "run" else bench(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "tables").exists()


def test_existing_results_are_never_overwritten(local_results):
    out, _ = local_results
    before = (out / "latency.csv").read_bytes()
    done = bench("run", *SMALL, *FAST, "--out", out)
    assert done.returncode == 2 and "already holds results; pass --resume" in done.stderr
    assert (out / "latency.csv").read_bytes() == before


def test_run_over_ssh(ssh_board, tmp_path):
    out = tmp_path / "r"
    done = bench("run", "--board", ssh_board.name, "--res", "5", "--channels", "3", "--algo", "im2row,f6", *FAST,
                 "--out", out)
    assert done.returncode == 0, done.stderr
    df = read_csv(out)
    assert len(df) == 6 and (df["status"] == "ok").all() and (df["board"] == ssh_board.name).all()
    assert (df["core"] == "host").all()


def test_run_on_a_farm_merges_both_boards(ssh_farm, tmp_path):
    out = tmp_path / "r"
    done = bench("run", "--board", ssh_farm.names[0], "--board", ssh_farm.names[1], "--res", "4,5,6",
                 "--channels", "3", "--algo", "im2row,f2", "--bits", "32", *FAST, "--out", out)
    assert done.returncode == 0, done.stderr
    df = read_csv(out)
    assert len(df) == 9 and (df["status"] == "ok").all()
    assert set(df["board"]) == set(ssh_farm.names)  # same kind: the cases are shared out
