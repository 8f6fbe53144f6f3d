"""Sweep cases, the results directory and the NAS lookup table, on constructed runner lines.
(The end-to-end tests through the real runner are in test_run_cli.py.)"""

import json
import os
import stat

import numpy as np
import pytest

from bench.measure.cases import Layer, custom_layers, expand, parse_bits, parse_choices, preset_layers, resnet18_cifar
from bench.errors import UsageError
from bench.analysis.lut import LUTError, build_lut, layer_key, load_lut, lut_json, op_key
from bench.measure.protocol import CaseRecord
from bench.measure.results import COLUMNS, CONTRACT_COLUMNS, ResultsDir, case_key, load_peaks, load_samples, row_from_case


def test_resnet18_cifar_has_16_winograd_layers():
    for width, chans in ((1.0, (64, 128, 256, 512)), (0.5, (32, 64, 128, 256))):
        layers = resnet18_cifar(width)
        assert sum(l.count for l in layers) == 16
        assert {(l.h, l.cout) for l in layers} == set(zip((32, 16, 8, 4), chans))
    with pytest.raises(UsageError, match="accepted: 0.5, 1.0"):
        resnet18_cifar(0.75)


def test_expand_gives_im2row_once_per_bit_width():
    cases = expand([Layer(8, 8, 16, 16)], ["im2row", "f4"], ["static", "learned"], [8, 32])
    assert sorted((c.algo, c.transform, c.bits) for c in cases) == [
        ("f4", "learned", 8), ("f4", "learned", 32), ("f4", "static", 8), ("f4", "static", 32),
        ("im2row", "none", 8), ("im2row", "none", 32)]
    assert len({case_key("b", "a73", 1, c) for c in cases}) == len(cases)


@pytest.mark.parametrize("call,message", [
    (lambda: preset_layers("resnet50"), "unknown preset 'resnet50'; accepted: resnet18-cifar, grid, quick"),
    (lambda: parse_bits("16"), "unknown bit width '16'; accepted: 8, 32"),
    (lambda: parse_choices("f3", "algo", ["im2row", "f2"]), "unknown algo 'f3'; accepted: im2row, f2"),
    (lambda: custom_layers("0", "8", None, None), "bad resolution 0; accepted: 1 to 4096"),
    (lambda: custom_layers("8", "-4", None, None), "bad channel count -4"),
    (lambda: custom_layers("8,x", "4", None, None), "bad resolution 'x'"),
    (lambda: custom_layers("", "4", None, None), "bad resolution ''"),
    (lambda: custom_layers("8", None, "4", None), "--res needs --channels"),
])
def test_bad_sweep_input_names_value_and_accepted(call, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        call()


def _line(case, ms=1.0, status="ok"):
    stats = lambda v: {"median": v, "mean": v, "min": v * 0.9, "p10": v * 0.95, "p90": v * 1.1, "mad": 0.01, "samples": [v] * 3}
    if status != "ok":
        return CaseRecord.from_saved({"type": "case", "status": "error", "error_kind": "runtime", "message": "boom",
                     "board": "b", "core": "a73", "cpus": [4]})
    return CaseRecord.from_saved({"type": "case", "status": "ok", "board": "b", "core": "a73", "cpus": [4], "threads": 1, "reps": 3,
            "total_ms": stats(ms), "input_ms": stats(ms * 0.2), "gemm_ms": stats(ms * 0.7),
            "output_ms": stats(ms * 0.1), "error": {"sqnr_db": 30.0, "max_abs": 0.1, "rel_l2": 0.03}})


def _write(path, cases, statuses, run_meta=None):
    results = ResultsDir.create(path, resume=path.exists())
    with results:
        run = results.start_run(run_meta or {"command": "test", "settings": {"threads": 1, "min_reps": 3}})
        for case, status in zip(cases, statuses):
            results.add(row_from_case(_line(case, status=status), case, run), _line(case, status=status))
    return results


def test_results_persist_after_every_case_and_resume(tmp_path):
    cases = expand([Layer(8, 8, 16, 16, 2, "l1"), Layer(4, 4, 8, 8)], ["im2row", "f2"], ["static"], [8])
    _write(tmp_path / "r", cases[:2], ["ok", "error"])
    # What is on disk now is a complete table (as after a Ctrl-C).
    df = ResultsDir.load(tmp_path / "r").dataframe()
    assert list(df.columns) == COLUMNS and COLUMNS[:len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    assert df["status"].tolist() == ["ok", "error"] and df["cpus"].tolist() == ["4", "4"]
    assert df.loc[0, "total_ms"] == 1.0 and df.loc[0, "sqnr_db"] == 30.0 and df.loc[0, "count"] == 2
    assert df["scheme"].tolist() == ["none", "tensor"]
    with pytest.raises(UsageError, match="already holds results; pass --resume"):
        ResultsDir.create(tmp_path / "r", resume=False)
    again = ResultsDir.create(tmp_path / "r", resume=True)
    key = lambda c: ("b", "a73", 1, c.bits, c.algo, c.transform, c.scheme, c.layer.h, c.layer.w, c.layer.cin, c.layer.cout)
    assert again.measured_keys() == {key(cases[0])}  # the failed case is measured again
    _write(tmp_path / "r", cases[1:2], ["ok"])
    df = ResultsDir.load(tmp_path / "r").dataframe()
    assert len(df) == 2 and (df["status"] == "ok").all() and df["run"].tolist() == [0, 1]
    records = [json.loads(l) for l in (tmp_path / "r" / "raw.jsonl").read_text().splitlines()]
    assert records[0]["schema_version"] == 2 and [r["type"] for r in records].count("run") == 2
    assert [r["type"] for r in records].count("case") == 3
    samples = load_samples(tmp_path / "r")
    assert len(samples) == 2 * 4 and set(samples["stage"]) == {"total_ms", "input_ms", "gemm_ms", "output_ms"}
    assert samples[samples["stage"] == "total_ms"]["samples"].tolist() == [[1.0] * 3] * 2


def test_results_follow_the_umask_and_append_only(tmp_path):
    cases = expand([Layer(4, 4, 8, 8)], ["im2row", "f2"], ["static"], [8])
    old = os.umask(0o022)
    try:
        _write(tmp_path / "r", cases[:1], ["ok"])
        size = (tmp_path / "r" / "latency.csv").stat().st_size
        _write(tmp_path / "r", cases[1:], ["ok"])
    finally:
        os.umask(old)
    for name in ("latency.csv", "raw.jsonl"):
        assert stat.S_IMODE((tmp_path / "r" / name).stat().st_mode) == 0o644
    text = (tmp_path / "r" / "latency.csv").read_text()
    assert text.count("board,core") == 1 and len(text) > size   # one header, rows appended


def test_a_torn_last_line_is_dropped_and_cut_off(tmp_path):
    cases = expand([Layer(4, 4, 8, 8)], ["im2row", "f2"], ["static"], [8])
    _write(tmp_path / "r", cases, ["ok", "ok"])
    csv_path, raw_path = tmp_path / "r" / "latency.csv", tmp_path / "r" / "raw.jsonl"
    text = csv_path.read_text()
    csv_path.write_text(text[:-25])                              # the last row torn mid-write
    raw_path.write_text(raw_path.read_text()[:-40])              # and its raw record
    loaded = ResultsDir.create(tmp_path / "r", resume=True)
    assert len(loaded.rows) == 1 and len(loaded.measured_keys()) == 1   # measured again on resume
    with loaded:
        assert csv_path.read_text().endswith("\n") and raw_path.read_text().endswith("\n")
    assert len(ResultsDir.load(tmp_path / "r").dataframe()) == 1


def test_a_second_writer_is_refused(tmp_path):
    cases = expand([Layer(4, 4, 8, 8)], ["im2row"], ["static"], [8])
    _write(tmp_path / "r", cases, ["ok"])
    first = ResultsDir.create(tmp_path / "r", resume=True)
    with first:
        second = ResultsDir.create(tmp_path / "r", resume=True)
        with pytest.raises(UsageError, match="being written by another bench run"):
            second.open_for_writing()
    with ResultsDir.create(tmp_path / "r", resume=True):
        pass   # released on exit


def test_resume_refuses_other_settings_and_missing_dirs(tmp_path):
    cases = expand([Layer(4, 4, 8, 8)], ["im2row"], ["static"], [8])
    _write(tmp_path / "r", cases, ["ok"])
    now = {"threads": 1, "min_reps": 5}
    with pytest.raises(UsageError, match="min_reps 3 \\(now 5\\).*--mix-settings"):
        ResultsDir.create(tmp_path / "r", resume=True, settings=now)
    assert ResultsDir.create(tmp_path / "r", resume=True, settings=now, mix_settings=True).rows
    with pytest.raises(UsageError, match="holds no results"):
        ResultsDir.create(tmp_path / "misspelt", resume=True)
    assert not (tmp_path / "misspelt").exists()


def test_load_peaks_gives_every_field(tmp_path):
    with ResultsDir.create(tmp_path / "r", resume=False) as results:
        run = results.start_run({"command": "test"})
        results.add_record("peak", run, {"board": "b", "core": "a73", "cpus": [4], "threads": 1,
                                         "f32_gflops": 18.5, "i8_gops": 30.0, "bw_gbs": 7.5})
        results.add(row_from_case(_line(_one()), _one(), run), _line(_one()))
    peaks = load_peaks(tmp_path / "r")
    assert peaks.loc[0, ["board", "core", "f32_gflops", "i8_gops", "bw_gbs"]].tolist() == ["b", "a73", 18.5, 30.0, 7.5]


def _one():
    return expand([Layer(4, 4, 8, 8)], ["im2row"], ["static"], [8])[0]


@pytest.mark.parametrize("content,name,message", [
    ("a,b\n1,2\n", "latency.csv", "missing columns"),
    ('{"tool": "other"}\n', "raw.jsonl", "not a winobench results file"),
    ('not json\n{}\n', "raw.jsonl", "line 1 is not JSON"),
    (b"\xff\xfe", "latency.csv", "not UTF-8"),
])
def test_foreign_results_are_refused(tmp_path, content, name, message):
    (tmp_path / "latency.csv").write_text(",".join(CONTRACT_COLUMNS) + "\n")
    if isinstance(content, bytes):
        (tmp_path / name).write_bytes(content)
    else:
        (tmp_path / name).write_text(content)
    with pytest.raises(UsageError, match=message):
        ResultsDir.load(tmp_path)
    with pytest.raises(UsageError, match="not a winobench results directory"):
        ResultsDir.load(tmp_path / "empty")


def _lut_from(tmp_path, entries):
    with ResultsDir.create(tmp_path / "r", resume=False) as results:
        for case, ms in entries:
            results.add(row_from_case(_line(case, ms), case, 0), _line(case, ms))
    path = tmp_path / "lut.json"
    path.write_text(json.dumps(lut_json(build_lut(results.dataframe()))))
    return load_lut(path)


def test_lut_answers_lookups_and_expected_latency(tmp_path):
    layer = Layer(32, 32, 64, 64)
    cases = {(c.algo, c.transform, c.bits): c for c in expand([layer], ["im2row", "f2", "f4"], ["static"], [8, 32])}
    lut = _lut_from(tmp_path, [(cases[("im2row", "none", 32)], 4.0), (cases[("f2", "static", 8)], 1.0),
                               (cases[("f4", "static", 8)], 0.5)])
    key = "conv-input:32x32x64-output:32x32x64-kernel:3-stride:1"
    assert layer_key(32, 32, 64, 64) == key and lut.name == "b/a73/t1"
    assert lut.latency((32, 32, 64, 64), "im2row-fp32") == 4.0
    assert lut.latency(key, "f4-static-int8", "p90_ms") == pytest.approx(0.55)
    assert lut.expected_latency(key, {"f2-static-int8": 0.25, "f4-static-int8": 0.75}) == pytest.approx(0.625)
    assert lut.entry(key, "f4-static-int8")["sqnr_db"] == 30.0
    with pytest.raises(LUTError, match="operator 'f6-static-int8' is not measured .* measured: f2-static-int8, f4-static-int8, im2row-fp32"):
        lut.latency(key, "f6-static-int8")
    with pytest.raises(LUTError, match="layer 'conv-input:16x16"):
        lut.latency((16, 16, 64, 64), "im2row-fp32")
    with pytest.raises(ValueError, match="sum to 1"):
        lut.expected_latency(key, {"f2-static-int8": 0.5})


def test_op_keys():
    assert op_key("im2row", "none", 32) == "im2row-fp32"
    assert op_key("f6", "learned", 8) == "f6-learned-int8"
    assert op_key("f4", "/x/flex_f4.json", 8) == "f4-flex_f4-int8"


def test_lut_keys_name_the_scheme_beyond_tensor(tmp_path):
    cases = expand([Layer(8, 8, 16, 16)], ["im2row", "f4"], ["static"], [8], ["tensor", "tap", "wide"])
    with ResultsDir.create(tmp_path / "r", resume=False) as results:
        for c in cases:
            results.add(row_from_case(_line(c), c, 0), _line(c))
    rows = build_lut(ResultsDir.load(tmp_path / "r").dataframe())
    assert {(r["op"], r["scheme"]) for r in rows} == {
        ("im2row-int8", "none"), ("f4-static-int8", "tensor"), ("f4-static-int8-tap", "tap"),
        ("f4-static-int8-wide", "wide")}
