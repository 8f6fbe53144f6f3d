"""Property tests (hypothesis) of what `bench lut` and `bench plot` read: LUT files (lut.json,
lut.csv) and latency tables. Every generated input gives a value or a one-line UsageError."""

import contextlib
import io
import json
import math

import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from bench.analysis.lut import ENTRY_FIELDS, build_lut, load_lut, lut_json
from bench.errors import UsageError
from bench.measure.results import ResultsDir
from tests.properties import (cells, examples, file_with, json_values, latency_tables, loaded_or_refused,
                              mutated_tables, one_line)

pytestmark = pytest.mark.slow   # hundreds of generated inputs per test


# ---------------------------------------------------------------------------------------------
# LUT files

entries = st.one_of(
    st.fixed_dictionaries({"median_ms": st.floats(0, 1e3)}, optional={k: st.one_of(st.none(), st.floats())
                                                                       for k in ENTRY_FIELDS if k != "median_ms"}),
    st.dictionaries(st.sampled_from(list(ENTRY_FIELDS) + ["x"]), st.one_of(
        st.floats(), st.integers(), st.none(), st.text(max_size=3)), max_size=9))
lut_docs = st.fixed_dictionaries({
    "tool": st.sampled_from(["winobench"] * 5 + ["other"]), "schema_version": st.sampled_from([1] * 5 + [2, "1"]),
    "tables": st.dictionaries(st.text(max_size=8), st.one_of(
        st.dictionaries(st.text(max_size=8), st.one_of(st.dictionaries(st.text(max_size=8), entries, max_size=3),
                                                       json_values), max_size=3), json_values), max_size=1),
})


def _check_lut(path):
    try:
        lut = load_lut(path)
    except UsageError as e:
        assert one_line(e), str(e)
        return
    event("accepted")
    for layer, ops in lut.layers.items():
        for op in ops:
            ms = lut.latency(layer, op)
            assert math.isfinite(ms) and ms >= 0


@examples(800)
@given(st.one_of(lut_docs, json_values))
def test_lut_json(doc):
    with file_with("lut.json", json.dumps(doc)) as path:
        _check_lut(path)


@examples(200)
@given(st.one_of(st.text(), st.binary()))
@example("[" * 100_000)
@example("9" * 5000)
def test_lut_json_any_bytes(content):
    with file_with("lut.json", content) as path:
        _check_lut(path)


GOOD_LUT_ROW = {"board": "b", "core": "a73", "threads": "1", "layer": "conv-input:8x8x16-output:8x8x16-kernel:3-stride:1",
                "op": "f4-static-int8", "median_ms": "0.5", "p90_ms": "0.6", "input_ms": "0.1", "gemm_ms": "0.3",
                "output_ms": "0.1", "sqnr_db": "30", "max_abs": "", "rel_l2": "0.01"}


@examples(500)
@given(mutated_tables(GOOD_LUT_ROW, cells))
def test_lut_csv(content):
    with file_with("lut.csv", content) as path:
        _check_lut(path)


# ---------------------------------------------------------------------------------------------
# Latency tables read by `bench lut` and `bench plot`

def _check_table(content):
    with file_with("r/latency.csv", content) as path:
        results = loaded_or_refused(path.parent)
        if results is None:
            return
        rows = build_lut(results.dataframe())
        json.dumps(lut_json(rows), allow_nan=False)   # what `bench lut` writes is strict JSON


@examples(800)
@given(latency_tables())
def test_latency_tables(content):
    _check_table(content)


@examples(200)
@given(st.one_of(st.text(), st.binary()))
def test_latency_tables_any_bytes(content):
    _check_table(content)


@settings(max_examples=40, deadline=60_000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(latency_tables())
def test_plots_of_any_accepted_table(content):
    """What `bench plot` accepts, it draws (or refuses in one line): the figures never crash."""
    from bench.cli.main import main

    with file_with("r/latency.csv", content) as path:
        try:
            ResultsDir.load(path.parent)
        except UsageError:
            assume(False)   # refusals are test_latency_tables' part; here: what is accepted
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["plot", str(path.parent), "--out", str(path.parent / "plots")])
        event(f"exit {code}")
        assert code in (0, 2) and err.getvalue().count("\n") == (code != 0), err.getvalue()
