"""The roofline: the runner's bandwidth probe in its `peak` line, `bench run` recording it per
(board, core), the stage operations/bytes it is read against, and `bench plot`'s roofline figure."""

import itertools
import json
import math
import os
import subprocess
import sys

import pytest

from bench.native.build import build_runner
from bench.measure.results import load_peaks
from bench.analysis.workload import stage_work

QEMU = "qemu-aarch64-static"


def peak_line(argv):
    done = subprocess.run(argv + ["--peak"], input="", capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return next(json.loads(l) for l in done.stdout.splitlines() if '"peak"' in l)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["host", "cortex-a53"])
def test_peak_line_reports_a_streaming_bandwidth(target):
    if target == "host":
        peak = peak_line([str(build_runner("host")), "--cpus", "0"])
    else:
        peak = peak_line([QEMU, "-cpu", "cortex-a53", str(build_runner("aarch64", "cortex-a53"))])
    assert math.isfinite(peak["bw_gbs"]) and 0.05 < peak["bw_gbs"] < 2000
    assert peak["f32_gflops"] > 0


def test_stage_work_follows_the_documented_formulas():
    # F(2,3) static: a = 4, T = 16 tiles on 8x8; nnz(BT) = 8, nnz(AT) = 6
    w = stage_work("f2", 32, (8, 8, 3, 5))
    assert w["gemm"] == (2 * 16 * 16 * 3 * 5, 4 * 16 * (16 * 3 + 3 * 5) + 4 * 16 * 16 * 5)
    assert w["input"][0] == 4 * 4 * 8 * 16 * 3 and w["output"][0] == 2 * (4 + 2) * 6 * 16 * 5
    dense = stage_work("f2", 32, (8, 8, 3, 5), transform="learned")
    assert dense["input"][0] == 4 * 4 * 16 * 16 * 3 and dense["gemm"] == w["gemm"]
    i8 = stage_work("im2row", 8, (7, 7, 3, 5))
    assert i8["gemm"][0] == 18 * 49 * 15 and i8["input"] == (0.0, 49 * 3 * 10) and i8["output"][0] == 49 * 5
    assert stage_work("im2row", 32, (7, 7, 3, 5))["output"] == (0.0, 0.0)   # fp32: the GEMM writes y


@pytest.mark.slow
def test_bench_run_records_peaks_and_plot_draws_the_roofline(tmp_path):
    out = tmp_path / "r"
    run = subprocess.run([sys.executable, "-m", "bench", "run", "--res", "8,16", "--channels", "16", "--algo", "im2row,f4",
                          "--transform", "static", "--reps", "2", "--min-time-ms", "1", "--no-errors", "--out", str(out)],
                         capture_output=True, text=True, timeout=600, env={**os.environ})
    assert run.returncode == 0, run.stderr
    peaks = load_peaks(out)
    assert len(peaks) == 1 and peaks.iloc[0]["board"] == "local" and peaks.iloc[0]["core"] == "host"
    assert peaks.iloc[0]["bw_gbs"] > 0 and peaks.iloc[0]["f32_gflops"] > 0 and peaks.iloc[0]["threads"] == 1
    plot = subprocess.run([sys.executable, "-m", "bench", "plot", str(out), "--out", str(tmp_path / "p")],
                          capture_output=True, text=True, timeout=600)
    assert plot.returncode == 0, plot.stderr
    png = tmp_path / "p" / "roofline.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_the_roofline_holds_every_point_and_warns_of_those_above_the_probe(tmp_path):
    """A probe far below what the GEMMs achieve (as on a host through SIMDe): the drawn roof is the
    best achieved rate, the probe is drawn beside it, and each panel above the probe is a warning;
    a host run says so in the title."""
    import dataclasses

    from bench.analysis.plots import roofline
    from bench.measure.cases import Case
    from bench.measure.protocol import Where
    from bench.measure.results import ResultsDir, row_from_case
    from bench.layers import Layer
    from tests.support import case_record

    host = Where("local", "host", (0,), 1, False, "host-simde", "-march=native")
    with ResultsDir(tmp_path / "r") as results:
        run = results.start_run({})
        results.add_record("peak", run, {"f32_gflops": 0.01, "i8_gops": 1e6, "bw_gbs": 1e6, **host.to_json()})
        for algo, bits in (("im2row", 32), ("f4", 32), ("f4", 8)):
            rec = case_record(0.05)
            rec.where = dataclasses.replace(host)
            results.add(row_from_case(rec, Case(Layer(16, 16, 32, 32), algo, "static", bits), run), rec)
    warnings = []
    (tmp_path / "p").mkdir()
    paths = roofline(ResultsDir.load(tmp_path / "r").dataframe(), load_peaks(tmp_path / "r"), tmp_path / "p", warnings)
    assert [p.name for p in paths] == ["roofline.png", "roofline.svg"]
    assert len(warnings) == 1 and warnings[0].startswith("roofline fp32 on local/host t1:") and "above the peak probe" in warnings[0]
    svg = paths[1].read_text()
    assert "x86 host, NEON emulated through SIMDe" in svg and "roof: best achieved" in svg


def test_plots_keep_every_layer_and_thread_count_and_name_the_winner(tmp_path):
    """One and two threads in one table (as --resume --mix-settings makes), 10 layers, an int8
    operator with a useless SQNR: every layer is drawn (two breakdown files), each thread count has
    its own panel, the heatmap names its winners and leaves the useless operator out, saying so."""
    import dataclasses

    from bench.analysis.plots import all_plots
    from bench.layers import Layer
    from bench.measure.cases import Case
    from bench.measure.protocol import Where
    from bench.measure.results import ResultsDir, row_from_case
    from tests.support import case_record

    with ResultsDir(tmp_path / "r") as results:
        run = results.start_run({})
        for threads, res, (algo, bits, ms, sqnr) in itertools.product(
                (1, 2), range(4, 14), (("im2row", 8, 1.0, 35.0), ("f2", 8, 0.8, 28.0), ("f4", 8, 0.5, -15.0))):
            rec = case_record(ms / threads)
            rec.error = {"sqnr_db": sqnr, "max_abs": 0.1, "rel_l2": 0.1}
            rec.where = Where("b", "a73", (4, 5)[:threads], threads, False, "native", "-mcpu=cortex-a73")
            results.add(row_from_case(rec, Case(Layer(res, res, 16, 16), algo, "static", bits), run), rec)
    paths = all_plots(ResultsDir.load(tmp_path / "r").dataframe(), tmp_path / "p")
    assert {p.name for p in paths} >= {"breakdown.png", "breakdown-2.png", "speedup.svg", "error.png"}
    page1 = (tmp_path / "p" / "breakdown.svg").read_text()
    assert "layers 1-8 of 10" in page1 and "int8 on b/a73 t1" in page1 and "int8 on b/a73 t2" in page1
    assert "p10-p90" in page1
    heat = (tmp_path / "p" / "speedup.svg").read_text()
    assert "f2 static" in heat and "1.25" in heat                 # the winner (F2: 1.0 / 0.8), named
    assert "SQNR below 20 dB left out" in heat and "f4 static int8" in heat
    assert "Arm native a73 -mcpu=cortex-a73" in heat
    from bench.cli.main import main

    assert main(["plot", str(tmp_path / "r"), "--min-sqnr", "nan", "--out", str(tmp_path / "q")]) == 2
    assert not (tmp_path / "q").exists()
