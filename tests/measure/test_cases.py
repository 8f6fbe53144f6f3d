"""bench.measure.cases: layers x operators into cases, and each case's view for the runner."""

from bench.layers import Layer
from bench.measure.cases import expand
from bench.measure.results import case_key


def test_expand_gives_im2row_once_per_bit_width():
    cases = expand([Layer(8, 8, 16, 16)], ["im2row", "f4"], ["static", "learned"], [8, 32])
    assert sorted((c.algo, c.transform, c.bits) for c in cases) == [
        ("f4", "learned", 8), ("f4", "learned", 32), ("f4", "static", 8), ("f4", "static", 32),
        ("im2row", "none", 8), ("im2row", "none", 32)]
    assert len({case_key("b", "a73", 1, c) for c in cases}) == len(cases)
