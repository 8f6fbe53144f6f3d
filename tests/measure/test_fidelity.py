"""Where a figure was measured (bench.measure.fidelity) reaches every row, LUT entry, summary and
comparison: host (SIMDe) and emulated figures never appear unlabelled, and a comparison of one
against the other is refused."""

import dataclasses
import json
import platform

import pytest

from bench.analysis.compare import check_same_where, compare, wheres
from bench.analysis.lut import build_lut, lut_json, load_lut
from bench.errors import UsageError
from bench.measure import fidelity
from bench.measure.cases import Case, Layer
from bench.measure.protocol import Where
from bench.measure.results import ResultsDir, load_samples, row_from_case
from bench.measure.sweep import summary
from tests.support import case_record

HOST = Where("local", "host", (0,), 1, False, "host-simde", "-march=native")
BOARD = Where("hikey", "a73", (7,), 1, False, "native", "-mcpu=cortex-a73")


def table(path, where: Where, ms: float = 1.0):
    """A results directory of two fp32 cases and one int8 case measured `where`."""
    with ResultsDir(path) as results:
        run = results.start_run({})
        for algo, bits in (("im2row", 32), ("f4", 32), ("im2row", 8)):
            rec = case_record(ms * (1 if bits == 32 else 1.2))
            rec.where = dataclasses.replace(where)
            case = Case(Layer(8, 8, 16, 16), algo, "static", bits)
            results.add(row_from_case(rec, case, run), rec)
    return ResultsDir.load(path)


def test_the_build_and_core_decide_where():
    from bench.measure.targets import cpu_flag
    from bench.measure.targets import fidelity as where

    assert where(True, "aarch64") == "emulated"
    assert where(False, "aarch64") == "native"
    assert where(False, "host") == ("native" if platform.machine() in ("aarch64", "arm64") else "host-simde")
    assert cpu_flag("aarch64", "cortex-a55", dotprod=True) == "-mcpu=cortex-a55+dotprod"
    assert cpu_flag("aarch64", None) == "-mcpu=cortex-a53"
    assert cpu_flag("host", None) == "-march=native"
    assert fidelity.label("native", "a73", "-mcpu=cortex-a73") == "Arm native a73 -mcpu=cortex-a73"
    assert "SIMDe" in fidelity.label("host-simde")


def test_rows_and_lut_entries_say_where(tmp_path):
    results = table(tmp_path / "host", HOST)
    df = results.dataframe()
    assert set(df["where"]) == {"host-simde"} and set(df["cpu_flag"]) == {"-march=native"}
    rows = build_lut(df)
    doc = lut_json(rows)
    entry = doc["tables"]["local/host/t1"]["conv-input:8x8x16-output:8x8x16-kernel:3-stride:1"]["f4-static-fp32"]
    assert entry["where"] == "host-simde" and entry["cpu_flag"] == "-march=native"
    path = tmp_path / "lut.json"
    path.write_text(json.dumps(doc))
    assert load_lut(path).entry("conv-input:8x8x16-output:8x8x16-kernel:3-stride:1", "f4-static-fp32")["where"] == "host-simde"


def test_a_host_summary_says_what_its_figures_mean(tmp_path):
    text = summary(table(tmp_path / "host", HOST).dataframe())
    assert "local / host (x86 host, NEON emulated through SIMDe):" in text
    assert "note: host figures: NEON kernels emulated through SIMDe on x86" in text and "A53" in text
    board = summary(table(tmp_path / "board", BOARD).dataframe())
    assert "hikey / a73 (Arm native a73 -mcpu=cortex-a73):" in board and "note:" not in board


def test_an_old_table_without_the_column_is_unknown_not_native(tmp_path):
    results = table(tmp_path / "old", Where("b", "a73", (4,), 1, False))
    assert set(results.dataframe()["where"]) == {""}
    assert "unknown" in summary(results.dataframe())


def test_comparing_host_against_board_figures_is_refused(tmp_path):
    host = table(tmp_path / "host", dataclasses.replace(HOST, board="hikey", core="a73"))
    board = table(tmp_path / "board", BOARD, ms=0.5)
    cmp = compare(load_samples(host.path), load_samples(board.path))
    with pytest.raises(UsageError, match="measured x86 host, NEON emulated through SIMDe in OLD and Arm native a73"):
        check_same_where(cmp, wheres(host.dataframe()), wheres(board.dataframe()))
    same = check_same_where(cmp, wheres(board.dataframe()), wheres(board.dataframe()))
    assert same == ["old measured: Arm native", "new measured: Arm native"]


def test_only_a_run_that_can_feed_a_lut_becomes_latest(tmp_path):
    from bench.cli.run import _feeds_a_lut

    assert _feeds_a_lut(table(tmp_path / "host", HOST))
    assert not _feeds_a_lut(table(tmp_path / "qemu", Where("vm", "a53", (0,), 1, True, "emulated", "-mcpu=cortex-a53")))


def test_bench_lut_says_where_each_table_was_measured(tmp_path, capsys):
    from bench.cli.main import main

    table(tmp_path / "host", HOST)
    assert main(["lut", str(tmp_path / "host"), "--out", str(tmp_path / "lut")]) == 0
    out = capsys.readouterr().out
    assert "local/host/t1: measured x86 host, NEON emulated through SIMDe" in out and "note: host figures" in out
