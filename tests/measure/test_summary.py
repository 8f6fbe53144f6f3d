"""The summary after a sweep (bench.measure.sweep.summary): per layer and bit width the fastest
operator, its speedup over im2row at the same bit width and over im2row fp32 ("-" where that
baseline was not measured), from a latency table built from constructed records."""

from bench.layers import Layer
from bench.measure.cases import expand
from bench.measure.results import ResultsDir, row_from_case
from bench.measure.sweep import summary
from tests.support import case_record

MS = {("im2row", 8): 2.0, ("f2", 8): 1.0, ("f4", 8): 0.8, ("im2row", 32): 4.0, ("f2", 32): 2.5, ("f4", 32): 1.6}


def table(tmp_path, bits):
    cases = expand([Layer(16, 16, 32, 32)], ["im2row", "f2", "f4"], ["static"], bits)
    with ResultsDir.create(tmp_path / "r", resume=False) as results:
        for c in cases:
            rec = case_record(MS[(c.algo, c.bits)])
            results.add(row_from_case(rec, c, 0), rec)
    return results.dataframe()


def test_int8_alone_gets_its_own_speedup_and_no_fp32_one(tmp_path):
    lines = summary(table(tmp_path, [8])).splitlines()
    assert lines[1].split() == ["layer", "bits", "fastest", "ms", "im2row", "ms", "speedup", "vs", "im2row", "fp32"]
    assert lines[2].split() == ["16x16", "32->32", "int8", "f4", "static", "0.800", "2.000", "2.50x", "-"]


def test_both_bit_widths_against_their_own_im2row_and_fp32(tmp_path):
    rows = [line.split() for line in summary(table(tmp_path, [8, 32])).splitlines()[2:]]
    assert rows == [["16x16", "32->32", "int8", "f4", "static", "0.800", "2.000", "2.50x", "5.00x"],
                    ["16x16", "32->32", "fp32", "f4", "static", "1.600", "4.000", "2.50x", "2.50x"]]
