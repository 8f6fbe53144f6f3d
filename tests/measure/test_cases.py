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


def test_each_int8_dense_case_names_its_lane_variant_and_learned_takes_the_trained_one():
    from bench.measure.cases import Case
    from bench.measure.results import row_from_case
    from tests.support import case_record

    layer = Layer(8, 8, 16, 16)
    assert Case(layer, "f4", "learned", 8, "tensor").lanes == "in32/32 out32/32"
    assert Case(layer, "f4", "pso", 8, "tensor").lanes == "in32/32 out32/32"
    assert Case(layer, "f6", "pso", 8, "tensor").lanes == "in16/32 out16/32"
    for case in (Case(layer, "f4", "static", 8, "tensor"), Case(layer, "f4", "learned", 32),
                 Case(layer, "f4", "learned", 8, "tap"), Case(layer, "im2row", "none", 8)):
        assert case.lanes is None, case
    learned = Case(layer, "f4", "learned", 8, "tensor")
    assert learned.spec(0).matrices.name == "learned-stand-in-f4.json"
    assert row_from_case(case_record(), learned, 0)["lanes"] == "in32/32 out32/32"
