"""Property tests (hypothesis) of what a board sends back (runner output lines) and of raw.jsonl."""

import json

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from bench.measure.protocol import CaseRecord, InfoRecord, PeakRecord, parse_record
from tests.properties import GOOD, examples, file_with, json_values, loaded_or_refused

pytestmark = pytest.mark.slow   # hundreds of generated inputs per test


# ---------------------------------------------------------------------------------------------
# Runner output lines (what a board sends back)

record_values = st.one_of(json_values, st.fixed_dictionaries(
    {"type": st.sampled_from(["case", "info", "peak", "other"]), "line": st.one_of(st.integers(), json_values)},
    optional={k: json_values for k in ("id", "status", "error_kind", "message", "reps", "cpus", "total_ms",
                                        "input_ms", "gemm_ms", "output_ms", "error", "cpu", "f32_gflops")}))


@examples(800)
@given(st.one_of(record_values.map(json.dumps), st.text()))
@example("[" * 100_000)
@example("9" * 5000)
def test_runner_output_lines(text):
    """A line from the runner (or from a broken or hostile board) is a typed record or None."""
    record = parse_record(text)
    event(type(record).__name__)
    assert record is None or isinstance(record, (CaseRecord, InfoRecord, PeakRecord))


GOOD_HEADER = {"type": "header", "tool": "winobench", "schema_version": 2}


@examples(400)
@given(st.lists(st.one_of(st.just(GOOD_HEADER), record_values, json_values).map(json.dumps), max_size=5),
       st.booleans())
def test_raw_jsonl(lines, torn):
    """raw.jsonl beside a good latency.csv: the results load, or one line says why."""
    text = "\n".join(lines) + ("" if torn else "\n")
    with file_with("r/raw.jsonl", text) as path:
        (path.parent / "latency.csv").write_text(",".join(GOOD) + "\n" + ",".join(GOOD.values()) + "\n")
        results = loaded_or_refused(path.parent)
        assert results is None or len(results.rows) == 1
