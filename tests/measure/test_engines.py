"""Production engines as operators: cases, runner lines, operator keys, rows with empty stages, and
the engine runner (remote/engine_runner.py) itself: its data are the C runner's bytes, its reference
the float64 direct convolution, and a missing engine is an `unsupported` row naming what to install.
The runs against the real engines are in tests/e2e/test_engines.py."""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

from bench.files import remote_dir
from bench.layers import Layer
from bench.measure.cases import engine_cases, expand
from bench.measure.engine_deploy import local_paths, packages_for
from bench.measure.protocol import CaseRecord, Where
from bench.measure.results import ResultsDir, load_samples, row_from_case
from bench.native import kernels
from bench.numerics.reference import conv2d_direct
from bench.operators import ENGINE_VARIANTS, engine_op_key, op_key, parse_engines, row_op_key, split_op_key
from bench.errors import UsageError

RUNNER = remote_dir() / "engine_runner.py"


def _runner_module():
    spec = importlib.util.spec_from_file_location("engine_runner", RUNNER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.np = np
    return mod


def test_engines_add_their_variants_per_layer_and_bit_width():
    layers = [Layer(8, 8, 16, 16)]
    cases = expand(layers, ["im2row"], ["static"], [8, 32]) + \
        engine_cases(layers, [8, 32], ["winobench", "ncnn", "onnxruntime", "litert"])
    ours = [c for c in cases if c.engine == "winobench"]
    theirs = {(c.engine, c.algo, c.bits) for c in cases if c.engine != "winobench"}
    assert [(c.algo, c.bits) for c in ours] == [("im2row", 8), ("im2row", 32)]
    assert theirs == {(e, v, b) for e, per in ENGINE_VARIANTS.items() for b, vs in per.items() for v in vs}
    only = engine_cases(layers, [32], ["litert"])
    assert [(c.engine, c.algo, c.transform, c.scheme, c.requant) for c in only] == \
        [("litert", "xnnpack", "none", "none", "none")]
    assert only[0].spec(3).runner_line() == "engine=litert algo=xnnpack bits=32 h=8 w=8 cin=16 cout=16 id=3"
    with pytest.raises(UsageError, match="bad engine 'tvm'|unknown engine 'tvm'"):
        parse_engines("ncnn,tvm")


def test_engine_operator_keys_name_the_engine():
    assert engine_op_key("ncnn", "winograd", 8) == "ncnn-winograd-int8"
    assert row_op_key({"algo": "winograd", "transform": "none", "bits": 8, "engine": "ncnn"}) == "ncnn-winograd-int8"
    assert op_key("f4", "static", 8, "tap") == "f4-static-int8-tap"
    assert split_op_key("litert-xnnpack-fp32") == ("litert", "xnnpack", 32)
    assert split_op_key("f4-static-int8") is None and split_op_key("ncnn-conv-fp32") is None


def _engine_record(line=1):
    samples = [0.5, 0.6, 0.55]
    raw = {"type": "case", "line": line, "id": "0", "engine": "ncnn", "algo": "winograd", "bits": 8, "status": "ok",
           "reps": 3, "cpus": [1], "threads": 1, "weight_transform_ms": 2.0, "engine_version": "1.0.20261020",
           "total_ms": {"median": 0.55, "mean": 0.55, "min": 0.5, "p10": 0.5, "p90": 0.6, "mad": 0.05, "samples": samples},
           "error": {"sqnr_db": 39.0, "max_abs": 1.0, "rel_l2": 0.01}}
    rec = CaseRecord.from_json(raw)
    rec.where = Where("local", "host", (1,), 1, False)
    return rec


def test_an_engine_row_has_its_total_and_version_and_empty_stages(tmp_path):
    case = engine_cases([Layer(8, 8, 16, 16)], [8], ["ncnn"])[0]
    row = row_from_case(_engine_record(), case, 0)
    assert row["total_ms"] == 0.55 and row["engine"] == "ncnn" and row["engine_version"] == "1.0.20261020"
    assert row["input_ms"] is None and row["gemm_ms"] is None and row["output_ms"] is None
    assert row["sqnr_db"] == 39.0
    with ResultsDir(tmp_path) as results:
        results.start_run({})
        results.add(row, _engine_record())
    text = (tmp_path / "latency.csv").read_text().splitlines()[1]
    assert ",,,0.55," in text   # input, gemm, output: empty, not zero
    df = ResultsDir.load(tmp_path).dataframe()
    assert df.loc[0, "engine"] == "ncnn" and np.isnan(df.loc[0, "gemm_ms"])
    samples = load_samples(tmp_path)
    assert list(samples["stage"]) == ["total_ms"] and samples.loc[0, "engine"] == "ncnn"


def test_engine_runner_data_and_reference_are_the_c_runners():
    mod = _runner_module()
    for shape, seed in (((1, 5, 7, 3), 1), ((3, 3, 3, 4), 2)):
        assert mod.gaussian(shape, seed).tobytes() == kernels.gaussian(shape, seed).tobytes()
    x, w = kernels.gaussian((1, 6, 5, 3), 1), kernels.gaussian((3, 3, 3, 4), 2)
    np.testing.assert_allclose(mod.reference(x, w), conv2d_direct(x, w), rtol=1e-12, atol=1e-12)


def test_engine_runner_refuses_bad_cases_and_names_what_to_install(tmp_path):
    cases = tmp_path / "cases.txt"
    cases.write_text("engine=ncnn algo=im2row bits=8 h=4 w=4 cin=2 cout=2\n"
                     "engine=ncnn algo=winograd bits=16 h=4 w=4 cin=2 cout=2\n"
                     "engine=onnxruntime algo=conv bits=8 h=4 w=4 cin=2 cout=2\n"
                     "engine=ncnn algo=winograd bits=8 h=4 w=4 cin=2 cout=2 id=x\n")
    done = subprocess.run([sys.executable, str(RUNNER), "--min-time-ms", "1", "--cases", str(cases)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    info, *recs = [json.loads(l) for l in done.stdout.splitlines()]
    assert info["type"] == "info" and info["runner"] == "wb-engine-runner" and set(info["engines"]) == set(ENGINE_VARIANTS)
    assert [r["line"] for r in recs] == [1, 2, 3, 4]
    assert recs[0]["error_kind"] == "bad_case" and "accepted: winograd, direct" in recs[0]["message"]
    assert recs[1]["error_kind"] == "bad_case" and "accepted: 8, 32" in recs[1]["message"]
    assert recs[2]["error_kind"] == "bad_case" and "onnxruntime at 8 bits; accepted: qlinearconv" in recs[2]["message"]
    if importlib.util.find_spec("ncnn") is None:   # the engines are an optional extra
        assert recs[3]["error_kind"] == "unsupported" and "pip install ncnn" in recs[3]["message"]
    else:
        assert recs[3]["status"] == "ok" and recs[3]["id"] == "x"


def test_engines_need_their_wheels_and_litert_flatbuffers():
    assert packages_for(["litert", "ncnn"]) == ["litert", "ncnn", "flatbuffers"]
    assert all(isinstance(p, str) for p in local_paths(["ncnn", "onnxruntime", "litert"]))


def test_a_board_without_python3_is_one_line_saying_what_to_install(tmp_path, monkeypatch):
    """A board whose PATH has no python3 (this machine's transport, with PATH emptied)."""
    from bench.boards.profiles import load_board
    from bench.boards.transport import open_transport
    from bench.measure.engine_deploy import EngineUnavailable, probe_python

    monkeypatch.setenv("PATH", str(tmp_path))
    with open_transport(load_board("local")) as t, pytest.raises(EngineUnavailable) as e:
        probe_python(t, "bare")
    assert str(e.value) == ("board 'bare' has no python3 for the engine runner; install python3 there "
                            "(Debian: apt-get install python3 python3-numpy)")


def test_luts_plots_and_the_network_table_carry_the_engine(tmp_path):
    """One layer measured by the kernels (im2row, F4 fp32) and by ncnn: the LUT keys name the engine,
    the network table's engine rows have no stage sums (not zeros) and it gains the fastest per layer
    over every engine beside the fastest of the kernels alone; the breakdown and network plots draw."""
    from bench.analysis.lut import build_lut
    from bench.analysis.network import FASTEST, FASTEST_OURS, luts_from_rows, network_rows
    from bench.analysis.plots import breakdown, engines, network_plot
    import pandas as pd
    from tests.support import case_record

    layer = Layer(8, 8, 16, 16)
    cases = expand([layer], ["im2row", "f4"], ["static"], [32]) + engine_cases([layer], [8], ["ncnn"])[:1]
    with ResultsDir(tmp_path) as results:
        run = results.start_run({})
        for case, ms in zip(cases, (2.0, 1.0)):
            results.add(row_from_case(case_record(ms), case, run), case_record(ms))
        engine = _engine_record()
        engine.where = Where("b", "a73", (4,), 1, False)
        results.add(row_from_case(engine, cases[2], run), engine)
    df = ResultsDir.load(tmp_path).dataframe()
    lut_rows = build_lut(df)
    assert sorted(r["op"] for r in lut_rows) == ["f4-static-fp32", "im2row-fp32", "ncnn-winograd-int8"]
    rows = {r["assignment"]: r for r in network_rows(luts_from_rows(lut_rows)[0], [layer])}
    assert rows[FASTEST]["total_ms"] == 0.55 and np.isnan(rows["ncnn-winograd-int8"]["gemm_ms"])
    assert rows[FASTEST_OURS]["total_ms"] == 1.0 and rows[FASTEST_OURS]["gemm_ms"] == 0.7
    assert breakdown(df, tmp_path) and network_plot(pd.DataFrame(list(rows.values())), tmp_path)
    side_by_side = engines(df, tmp_path)   # each engine's fastest beside the kernels' fastest, per layer
    text = (tmp_path / "engines.svg").read_text()
    assert side_by_side and "ncnn winograd" in text and "f4 static" in text


def test_resuming_a_table_written_before_engines_rewrites_its_header(tmp_path):
    """A latency.csv without the engine columns gets them (its rows read as winobench) before a row is
    appended, so no appended row is ever read against the old header."""
    from bench.measure.results import COLUMNS
    from tests.support import case_record

    cases = expand([Layer(8, 8, 16, 16)], ["im2row", "f4"], ["static"], [32])
    with ResultsDir(tmp_path) as results:
        results.add(row_from_case(case_record(), cases[0], results.start_run({})), case_record())
    old = [c for c in COLUMNS if c not in ("engine", "engine_version")]
    lines = (tmp_path / "latency.csv").read_text().splitlines()
    keep = [COLUMNS.index(c) for c in old]
    (tmp_path / "latency.csv").write_text("".join(",".join(line.split(",")[i] for i in keep) + "\n" for line in lines))
    results = ResultsDir.create(tmp_path, resume=True)
    with results:
        results.add(row_from_case(case_record(0.5), cases[1], results.start_run({})), case_record(0.5))
    df = ResultsDir.load(tmp_path).dataframe()
    assert list(df["algo"]) == ["im2row", "f4"] and list(df["engine"]) == ["winobench", "winobench"]
    assert (tmp_path / "latency.csv").read_text().splitlines()[0] == ",".join(COLUMNS)


def test_the_standalone_runner_the_pushed_wheels_and_the_extra_name_the_same_engines():
    """remote/engine_runner.py cannot import bench: its tables are checked here against the host's,
    and the versions pushed to boards against pyproject's `engines` extra."""
    import tomllib

    from bench.measure.engine_deploy import REQUIREMENTS
    from bench.operators import ENGINE_DISTRIBUTIONS
    from tests.support import ROOT

    mod = _runner_module()
    assert mod.VARIANTS == ENGINE_VARIANTS
    assert mod.DISTRIBUTIONS == ENGINE_DISTRIBUTIONS
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["engines"]
    assert sorted(extra) == sorted(v for k, v in REQUIREMENTS.items() if k != "numpy")
