"""The NAS lookup table (bench.analysis.lut) built from a results directory of constructed records."""

import json

import pytest

from bench.analysis.lut import LUTError, build_lut, load_lut, lut_json
from bench.layers import Layer, layer_key
from bench.measure.cases import expand
from bench.measure.results import ResultsDir, row_from_case
from tests.support import case_record


def _lut_from(tmp_path, entries):
    with ResultsDir.create(tmp_path / "r", resume=False) as results:
        for case, ms in entries:
            results.add(row_from_case(case_record(ms), case, 0), case_record(ms))
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


def test_lut_keys_name_the_scheme_beyond_tensor(tmp_path):
    cases = expand([Layer(8, 8, 16, 16)], ["im2row", "f4"], ["static"], [8], ["tensor", "tap", "wide"])
    with ResultsDir.create(tmp_path / "r", resume=False) as results:
        for c in cases:
            results.add(row_from_case(case_record(), c, 0), case_record())
    rows = build_lut(ResultsDir.load(tmp_path / "r").dataframe())
    assert {(r["op"], r["scheme"]) for r in rows} == {
        ("im2row-int8", "none"), ("f4-static-int8", "tensor"), ("f4-static-int8-tap", "tap"),
        ("f4-static-int8-wide", "wide")}


def test_a_strided_layer_has_its_own_key_and_entries(tmp_path):
    s1, s2 = Layer(32, 32, 16, 32), Layer(32, 32, 16, 32, stride=2)
    one_by_one = Layer(32, 32, 16, 32, k=1, stride=2, pad=0)
    cases = expand([s1, s2, one_by_one], ["im2row"], ["static"], [32])
    lut = _lut_from(tmp_path, list(zip(cases, (4.0, 1.5, 0.25))))
    assert sorted(lut.layers) == sorted([s1.key, s2.key, one_by_one.key]) and len(lut.layers) == 3
    assert s2.key == "conv-input:32x32x16-output:16x16x32-kernel:3-stride:2"
    assert (lut.latency(s1, "im2row-fp32"), lut.latency(s2, "im2row-fp32"), lut.latency(one_by_one, "im2row-fp32")) == \
        (4.0, 1.5, 0.25)
    assert lut.network_latency([s1, s2, one_by_one], "im2row-fp32")["total_ms"] == pytest.approx(5.75)
    with pytest.raises(ValueError, match="no latency model for im2row-fp32"):
        lut.predict(s2, "im2row-fp32")


def test_lut_keys_name_the_fp32_requantization_and_the_product_precision(tmp_path):
    """Both requantization forms measured: the fp32 one gains `-rq-fp32`; every entry names the
    precision of its GEMM's products (wide: int16)."""
    cases = expand([Layer(8, 8, 16, 16)], ["f4"], ["static"], [8, 32], ["tensor", "wide"], ["int", "fp32"])
    with ResultsDir.create(tmp_path / "r", resume=False) as results:
        for c in cases:
            results.add(row_from_case(case_record(), c, 0), case_record())
    rows = build_lut(ResultsDir.load(tmp_path / "r").dataframe())
    assert {(r["op"], r["requant"], r["precision"]) for r in rows} == {
        ("f4-static-int8", "int", "int8"), ("f4-static-int8-rq-fp32", "fp32", "int8"),
        ("f4-static-int8-wide", "int", "int16"), ("f4-static-int8-wide-rq-fp32", "fp32", "int16"),
        ("f4-static-fp32", "none", "fp32")}
    doc = lut_json(rows)
    assert doc["operators"]["f4-static-int8-wide"]["precision"] == "int16"
    assert doc["operators"]["f4-static-int8-rq-fp32"]["requant"] == "fp32"
    (tmp_path / "lut.json").write_text(json.dumps(doc))
    assert load_lut(tmp_path / "lut.json").latency((8, 8, 16, 16), "f4-static-int8-wide-rq-fp32") > 0
