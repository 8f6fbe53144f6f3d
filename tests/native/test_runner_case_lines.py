"""Property test of the runner's own parser of case lines (kernels_c/RUNNER.md), through the real
host build: every generated cases text gives exactly one `case` record per case line, in order,
each `ok` or an `error` with a known kind and a one-line message; the runner never crashes, never
hangs (a deadline per example) and exits 0. Sizes stay tiny so that valid cases cost microseconds."""

import json
import subprocess

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bench.native.build import build_runner

FAST = ["--min-time-ms", "0", "--min-reps", "1", "--warmup", "0"]
KINDS = {"bad_case", "bad_matrices", "unsupported", "runtime"}

small = st.integers(1, 9).map(str)
values = {
    "algo": st.sampled_from(["im2row", "f2", "f4", "f6", "f3", "", "F4"]),
    "transform": st.sampled_from(["static", "learned", "none", "pso", ""]),
    "bits": st.sampled_from(["8", "32", "16", "0", "-8", "8.0", "x"]),
    "h": st.one_of(small, st.sampled_from(["0", "-1", "4097", "99999999999999999999", "1e3", "x", ""])),
    "w": st.one_of(small, st.sampled_from(["0", "4097", "0x10", " "])),
    "cin": st.one_of(small, st.sampled_from(["0", "8193", "-5", "1.5"])),
    "cout": st.one_of(small, st.sampled_from(["0", "8193", "abc"])),
    "reps": st.sampled_from(["1", "2", "0", "-1", "2000000000", "x"]),
    "id": st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF), max_size=8),
    "matrices": st.sampled_from(["/nonexistent.txt", "/dev/null", "/proc/self/status", ""]),
    "scheme": st.sampled_from(["tap", "wide", "tensor", "x"]),
}
VALID = {"algo": "f2", "transform": "static", "bits": "32", "h": "4", "w": "5", "cin": "3", "cout": "2"}


@st.composite
def case_line(draw):
    fields = dict(VALID)
    for key in draw(st.lists(st.sampled_from(sorted(values) + ["colour"]), max_size=3)):
        fields[key] = draw(values.get(key, st.text(max_size=4)))
    if draw(st.integers(0, 5)) == 0:
        fields.pop(draw(st.sampled_from(sorted(fields))))
    tokens = [f"{k}={v}" for k, v in fields.items()]
    if draw(st.integers(0, 6)) == 0:
        tokens.append(draw(st.text(alphabet=st.characters(blacklist_categories=["Cs", "Zl", "Zp"],
                                                          blacklist_characters="\n\r#\x00"), max_size=10)))
    return " ".join(draw(st.permutations(tokens)))


@st.composite
def cases_text(draw):
    lines = draw(st.lists(st.one_of(case_line(), st.sampled_from(["", "   ", "# a comment"])), min_size=1, max_size=4))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def runner():
    return build_runner("host")


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=cases_text())
def test_every_case_line_gets_one_record(runner, text):
    p = subprocess.run([str(runner), "--cpus", "0", *FAST], input=text.encode(), capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    records = [json.loads(l) for l in p.stdout.decode().split("\n") if l]  # not splitlines: U+0085 is no newline in JSON
    assert records[0]["type"] == "info"
    cases = [r for r in records if r["type"] == "case"]
    expected = [n for n, l in enumerate(text.split("\n")[:-1], start=1) if l.split("#", 1)[0].strip()]
    assert [c["line"] for c in cases] == expected
    for c in cases:
        event(c["status"] if c["status"] == "ok" else c["error_kind"])
        assert c["status"] == "ok" or (c["error_kind"] in KINDS and c["message"] and "\n" not in c["message"])
