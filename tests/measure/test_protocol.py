"""bench.measure.protocol against the C runner: error kinds, limits and the case line, read from the C
sources (names) and checked on the real host runner (limits)."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from bench.files import kernels_dir
from bench.layers import MAX_CHANNELS, MAX_HW, Layer
from bench.measure import protocol
from bench.measure.cases import expand
from bench.measure.protocol import CaseSpec, ErrorKind, Repetition, case_deadline_s, parse_record
from bench.native.build import build_runner

RUNNER_DIR = kernels_dir() / "runner"


def _runner_sources() -> str:
    return "\n".join(p.read_text() for p in sorted(RUNNER_DIR.glob("*.c")))


def test_every_error_kind_the_runner_prints_is_in_the_enum():
    text = _runner_sources()
    body = text[text.index("static const char *error_kind"):]
    body = body[:body.index("\n}\n")]
    printed = set(re.findall(r'return "([a-z_]+)";', body))
    assert printed == {k.value for k in protocol.RUNNER_ERROR_KINDS}
    assert printed <= {k.value for k in ErrorKind}


def test_limits_match_the_runner_sources():
    text = _runner_sources()
    assert f"#define MAX_CPUS {protocol.MAX_RUNNER_CPUS}" in text
    assert f".max_reps = {protocol.MAX_REPS}" in text
    assert f"c->h > {MAX_HW}" in text and f"c->cin > {MAX_CHANNELS}" in text


@pytest.mark.slow
def test_limits_hold_on_the_real_runner(tmp_path):
    """The largest accepted sizes pass the runner's check, one more is a bad_case; the CLI's
    largest repetition settings are accepted by the runner's command line."""
    runner = build_runner("host")
    edge = CaseSpec("im2row", "static", 32, MAX_HW + 1, 1, 1, 1, id="over")
    cases = tmp_path / "c.txt"
    cases.write_text(edge.runner_line() + "\n")
    biggest = Repetition(protocol.MAX_REPS, protocol.MAX_MIN_TIME_MS, protocol.MAX_WARMUP).runner_args()
    done = subprocess.run([runner, *biggest, "--cases", str(cases)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    recs = [parse_record(l) for l in done.stdout.splitlines()]
    (case,) = [r for r in recs if isinstance(r, protocol.CaseRecord)]
    assert (case.id, case.status, case.error_kind) == ("over", "error", "bad_case")
    assert isinstance(recs[0], protocol.InfoRecord)


def test_scheme_is_on_the_runner_line_only_for_tap_and_wide():
    cases = expand([Layer(8, 8, 16, 16)], ["im2row", "f4"], ["static"], [8, 32], ["tensor", "tap", "wide"])
    got = {(c.algo, c.bits, c.scheme) for c in cases}
    assert got == {("im2row", 8, "none"), ("im2row", 32, "none"), ("f4", 32, "none"),
                   ("f4", 8, "tensor"), ("f4", 8, "tap"), ("f4", 8, "wide")}
    lines = {c.scheme: c.spec(0).runner_line() for c in cases if c.algo == "f4" and c.bits == 8}
    assert "scheme=" not in lines["tensor"]
    assert " scheme=tap " in lines["tap"] + " " and " scheme=wide " in lines["wide"] + " "


def test_requant_is_on_the_runner_line_only_for_the_fp32_form():
    """int8 cases in each form asked for (the default int form is the runner's default too); fp32
    cases once, with requant none."""
    cases = expand([Layer(8, 8, 16, 16)], ["im2row", "f4"], ["static"], [8, 32], ["tensor"], ["int", "fp32"])
    assert {(c.algo, c.bits, c.requant) for c in cases} == {
        ("im2row", 8, "int"), ("im2row", 8, "fp32"), ("f4", 8, "int"), ("f4", 8, "fp32"),
        ("im2row", 32, "none"), ("f4", 32, "none")}
    lines = {(c.algo, c.bits, c.requant): c.spec(0).runner_line() for c in cases}
    assert "requant=" not in lines[("f4", 8, "int")] + lines[("f4", 32, "none")]
    assert lines[("f4", 8, "fp32")].endswith(" requant=fp32 id=0")
    assert CaseSpec("f4", "static", 8, 4, 4, 3, 3).fields()["requant"] == "int"


def test_records_are_typed():
    line = {"type": "case", "line": 2, "id": 7, "status": "ok", "reps": 3, "cpus": [4],
            "total_ms": {"median": 1.5, "samples": [1.4, 1.5, 1.6]}, "gemm_gflops": 9.0}
    rec = parse_record(json.dumps(line))
    assert rec.ok and rec.id == "7" and rec.stages["total"].samples == (1.4, 1.5, 1.6) and rec.cpus == (4,)
    peak = parse_record('{"type": "peak", "cpu": 4, "f32_gflops": 18.0, "i8_gops": 30.0, "bw_gbs": 5.0}')
    assert peak.cpu == 4 and peak.values == {"f32_gflops": 18.0, "i8_gops": 30.0, "bw_gbs": 5.0}
    assert parse_record("not json") is None and parse_record("[1]") is None
    where = protocol.Where("b", "a53", (2, 3), 2, True)
    spec = CaseSpec("f4", "learned", 8, 4, 5, 3, 2, "tap", "x", Path("/local/m.json"))
    failed = protocol.CaseRecord.failed(3, spec, ErrorKind.TIMEOUT, "ran\npast", where)
    assert failed.error_kind == "timeout" and failed.message == "ran past" and failed.id == "x"
    assert failed.to_json() == {"type": "case", "line": 3, "id": "x", "algo": "f4", "transform": "learned", "bits": 8,
                                "h": 4, "w": 5, "cin": 3, "cout": 2, "scheme": "tap", "requant": "int", "status": "error",
                                "error_kind": "timeout", "message": "ran past", "board": "b", "core": "a53",
                                "cpus": [2, 3], "threads": 2, "emulated": True}   # no local path


def test_a_record_keeps_the_runner_json_and_adds_its_context():
    """What the results keep (raw.jsonl) is the runner's line as printed, plus the board context and
    what the pipeline set (the case's position in the caller's list, the error figures)."""
    line = {"type": "case", "line": 1, "id": "7", "algo": "f2", "status": "ok", "cpus": [4], "threads": 1,
            "total_ms": {"median": 1.5, "samples": [1.5]}}
    rec = parse_record(json.dumps(line))
    rec.line, rec.error = 9, {"sqnr_db": 40.0}
    rec.where = protocol.Where("b", "a73", rec.cpus, 1, False)
    assert rec.to_json() == {**line, "line": 9, "error": {"sqnr_db": 40.0}, "board": "b", "core": "a73",
                             "emulated": False}
    assert protocol.Where.from_json(rec.to_json()) == rec.where
    peak = parse_record('{"type": "peak", "cpu": 4, "f32_gflops": 18.0}')
    peak.where = rec.where
    assert peak.to_json() == {"type": "peak", "cpu": 4, "f32_gflops": 18.0, "board": "b", "core": "a73",
                              "cpus": [4], "threads": 1, "emulated": False}


@pytest.mark.parametrize("kw,message", [
    ({"min_reps": 0}, "bad min_reps 0; accepted: 1 to 100000"),
    ({"min_reps": protocol.MAX_REPS + 1}, "bad min_reps"),
    ({"min_time_ms": float("nan")}, "bad min_time_ms nan"),
    ({"min_time_ms": float("inf")}, "bad min_time_ms inf"),
    ({"warmup": -1}, "bad warmup -1"),
])
def test_repetition_bounds(kw, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Repetition(**kw)


def test_case_deadline_grows_with_work_and_settings():
    small = case_deadline_s(CaseSpec("f4", "static", 32, 8, 8, 8, 8), Repetition())
    big = case_deadline_s(CaseSpec("f4", "static", 32, 224, 224, 256, 256), Repetition())
    longer = case_deadline_s(CaseSpec("f4", "static", 32, 8, 8, 8, 8), Repetition(min_time_ms=10_000))
    own = case_deadline_s(CaseSpec("f4", "static", 32, 8, 8, 8, 8, reps=100_000), Repetition())
    assert protocol.DEADLINE_SLACK_S <= small < 40 and big > 10 * small and longer >= small + 90
    assert own > small + 100_000 * 9 * 8 ** 4 / protocol.SLOW_MACS_PER_S - 1   # a case's own reps count
