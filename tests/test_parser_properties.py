"""Property tests (hypothesis) of every parser that reads outside input here: CPU lists, board
profiles (TOML text), LUT files (lut.json, lut.csv) and the latency tables `bench lut` and `bench
plot` read. Every generated input gives a value or a one-line UsageError: never another exception,
never a hang (a deadline per example). Run with --hypothesis-show-statistics for the example counts.
"""

import contextlib
import csv
import io
import json
import math
import os
import tempfile
from pathlib import Path

import pytest
import tomlkit
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from bench.boards.profiles import BOARD_SCHEMA, list_boards, parse_cpulist, format_cpulist
from bench.errors import UsageError
from bench.analysis.lut import ENTRY_FIELDS, build_lut, load_lut, lut_json
from bench.boards.schema import CLUSTER_SCHEMA, MAX_CPUS
from bench.measure.results import COLUMNS, CONTRACT_COLUMNS, ResultsDir



def examples(n: int):
    """n generated examples, each within 5 s (a hang fails), whatever the machine's load."""
    return settings(max_examples=n, deadline=5000, suppress_health_check=[HealthCheck.too_slow])


def one_line(e: UsageError) -> bool:
    event("refused with one line")
    return "\n" not in str(e) and str(e).strip() != ""


@contextlib.contextmanager
def file_with(name: str, content):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
        yield path


# ---------------------------------------------------------------------------------------------
# CPU lists

cpu_text = st.one_of(
    st.text(),
    st.text(alphabet="0123456789-, \n\t", max_size=40),
    st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 5000)), max_size=6).map(
        lambda pairs: ",".join(f"{a}-{b}" if a != b else str(a) for a, b in pairs)),
)


@examples(2000)
@given(cpu_text)
@example("0-99999999")
@example("9" * 5000)
@example("\u0663")
def test_cpu_lists(text):
    try:
        cpus = parse_cpulist(text)
    except UsageError as e:
        assert one_line(e)
        return
    event("accepted")
    assert list(cpus) == sorted(set(cpus)) and all(0 <= c < MAX_CPUS for c in cpus)
    assert parse_cpulist(format_cpulist(cpus)) == cpus


# ---------------------------------------------------------------------------------------------
# Board profiles: TOML text -> profiles, or one line

scalars = st.one_of(st.booleans(), st.integers(-2**63, 2**63 - 1), st.floats(), st.text(max_size=12),
                    st.sampled_from(["0-3", "4-7", "0-99999999", "a53", "ssh", "local", "emulated", "aarch64",
                                     "qemu-aarch64-static", "false", "hikey960", "local"]))
values = st.one_of(scalars, st.lists(scalars, max_size=4), st.dictionaries(st.text(max_size=5), scalars, max_size=3))
clusters = st.lists(st.dictionaries(st.sampled_from(sorted(CLUSTER_SCHEMA) + ["speed"]), values, max_size=6), max_size=3)
VALID_BOARD = {"host": "h", "port": 22, "user": "root", "accept_new_host_key": False, "connect_timeout": 5.0,
               "clusters": [{"core": "a53", "cpus": "0-3", "max_khz": 1800000, "dotprod": False, "capacity": 512}]}


@st.composite
def board_tables(draw):
    """A valid profile with a few keys (of the board or a cluster) given generated values."""
    table = json.loads(json.dumps(VALID_BOARD))
    for _ in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):
            table[draw(st.sampled_from(sorted(BOARD_SCHEMA) + ["colour"]))] = draw(values)
        elif isinstance(table.get("clusters"), list) and table["clusters"] and isinstance(table["clusters"][0], dict):
            table["clusters"][0][draw(st.sampled_from(sorted(CLUSTER_SCHEMA) + ["speed"]))] = draw(values)
    return table if draw(st.integers(0, 4)) else draw(st.dictionaries(st.sampled_from(sorted(BOARD_SCHEMA)), values, max_size=6))


board_tables = board_tables()
user_files = st.fixed_dictionaries(
    {"boards": st.dictionaries(st.sampled_from(["b1", "b2", "hikey960", "local"]), board_tables, max_size=3)},
    optional={"groups": st.one_of(st.dictionaries(st.text(max_size=4), st.lists(st.sampled_from(["b1", "local", "x"]),
                                                                                 max_size=3), max_size=2), values),
              "other": values})


def _boards_from(content) -> None:
    with file_with("boards.toml", content) as path:
        saved = os.environ.get("BENCH_BOARDS_FILE")
        os.environ["BENCH_BOARDS_FILE"] = str(path)
        try:
            boards = list_boards()
        except UsageError as e:
            assert one_line(e), str(e)
            return
        finally:
            os.environ.pop("BENCH_BOARDS_FILE")
            if saved is not None:
                os.environ["BENCH_BOARDS_FILE"] = saved
    event("accepted")
    for b in boards:  # what was accepted has the right types
        assert type(b.accept_new_host_key) is bool and type(b.emulated) is bool and type(b.probe_clusters) is bool
        assert b.port is None or type(b.port) is int
        assert all(0 <= c < MAX_CPUS for cl in b.clusters for c in cl.cpus)
        assert all(type(cl.dotprod) is bool for cl in b.clusters)


@examples(600)
@given(user_files)
def test_board_profiles_from_generated_tables(doc):
    try:
        text = tomlkit.dumps(doc)
    except Exception:  # tomlkit cannot write it (e.g. nan in some positions): not a TOML file then
        return
    _boards_from(text)


@examples(300)
@given(st.one_of(st.text(), st.binary()))
@example(b"[boards.b]\nhost = \"caf\xe9\"\n")
def test_board_profiles_from_any_text_or_bytes(content):
    _boards_from(content)


# ---------------------------------------------------------------------------------------------
# LUT files

json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                           max_leaves=12)
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


cells = st.one_of(st.text(max_size=6), st.floats().map(str), st.integers().map(str), st.just(""))
GOOD_LUT_ROW = {"board": "b", "core": "a73", "threads": "1", "layer": "conv-input:8x8x16-output:8x8x16-kernel:3-stride:1",
                "op": "f4-static-int8", "median_ms": "0.5", "p90_ms": "0.6", "input_ms": "0.1", "gemm_ms": "0.3",
                "output_ms": "0.1", "sqnr_db": "30", "max_abs": "", "rel_l2": "0.01"}


def csv_text(columns, rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


@st.composite
def mutated_tables(draw, good: dict, cell_values, all_columns=(), vary: str | None = None):
    """CSV text: the columns of `good` (one dropped now and then, some of `all_columns` added), rows of
    good values (column `vary` different in each) with a few cells replaced by generated ones, now
    and then a torn row."""
    columns = list(dict.fromkeys(list(good) + draw(st.lists(st.sampled_from(list(all_columns) or ["extra"]), max_size=4))))
    if draw(st.integers(0, 3)) == 0:
        columns.remove(draw(st.sampled_from(columns)))
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        row = [good.get(c, "") if c != vary else str(4 * (len(rows) + 1)) for c in columns]
        for i in draw(st.lists(st.integers(0, len(columns) - 1), max_size=3)):
            row[i] = draw(cell_values)
        rows.append(row if draw(st.integers(0, 9)) else row[:-1])
    return csv_text(columns, rows)


@examples(500)
@given(mutated_tables(GOOD_LUT_ROW, cells))
def test_lut_csv(content):
    with file_with("lut.csv", content) as path:
        _check_lut(path)


# ---------------------------------------------------------------------------------------------
# Latency tables read by `bench lut` and `bench plot`

GOOD = {"board": "b", "core": "a73", "cpus": "4", "bits": "8", "algo": "f4", "transform": "static", "h": "8",
        "w": "8", "cin": "16", "cout": "16", "input_ms": "0.1", "gemm_ms": "0.5", "output_ms": "0.1",
        "total_ms": "0.8", "status": "ok", "threads": "1", "emulated": "False", "total_p90_ms": "0.9"}
latency_cells = st.one_of(st.sampled_from(["", "0", "1", "8", "32", "-1", "nan", "inf", "1e400", "ok", "error",
                                           "True", "False", "1_0", " 8", "\x00"]), cells)


def latency_tables():
    return mutated_tables(GOOD, latency_cells, COLUMNS, vary="h")  # one case per row, as `bench run` writes


def loaded_or_refused(directory):
    """The results in `directory`, or None after checking that the refusal is one line."""
    try:
        results = ResultsDir.load(directory)
    except UsageError as e:
        assert one_line(e), str(e)
        return None
    event("accepted")
    return results


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
            code = main(["plot", str(path.parent)])
        event(f"exit {code}")
        assert code in (0, 2) and err.getvalue().count("\n") == (code != 0), err.getvalue()


# ---------------------------------------------------------------------------------------------
# Runner output lines (what a board sends back) and the host's case-line parser

from bench.measure.deploy import parse_cases  # noqa: E402
from bench.measure.protocol import CaseRecord, InfoRecord, PeakRecord, parse_record  # noqa: E402

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


@examples(500)
@given(st.lists(st.text(max_size=30), max_size=5))
def test_host_case_lines_number_lines_as_the_runner_does(lines):
    """parse_cases numbers lines as the runner does: only \\n ends a line (not U+0085 or U+2028)."""
    text = "\n".join(lines) + "\n"
    numbers = [c.line for c in parse_cases(text)]
    assert numbers == [n for n, l in enumerate(text.split("\n")[:-1], start=1) if l.split("#", 1)[0].strip()]


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
