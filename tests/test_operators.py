"""bench.operators: the vocabulary, the default-scheme rule, operator keys and list parsers."""

import tomllib

import pytest

from bench.errors import UsageError
from bench.files import kernels_dir
from bench.operators import (ALGOS, BITS, BUILTIN_TRANSFORMS, NO_TRANSFORM, REQUANTS, SCHEMES, accepted_schemes,
                             default_requant, default_scheme, op_key, parse_bits, parse_choices, parse_requants,
                             product_precision, resolve_requant, resolve_scheme, sweep_requant, sweep_scheme)


@pytest.mark.parametrize("call,message", [
    (lambda: parse_bits("16"), "unknown bit width '16'; accepted: 8, 32"),
    (lambda: parse_choices("f3", "algo", ["im2row", "f2"]), "unknown algo 'f3'; accepted: im2row, f2"),
])
def test_bad_lists_name_value_and_accepted(call, message):
    with pytest.raises(UsageError, match=message):
        call()


def test_op_keys():
    assert op_key("im2row", "none", 32) == "im2row-fp32"
    assert op_key("f6", "learned", 8) == "f6-learned-int8"
    assert op_key("f4", "/x/flex_f4.json", 8) == "f4-flex_f4-int8"


def test_the_c_side_names_the_same_operators():
    """kernels_c/kernels.toml, the table the C registry and kernel files are generated from, names
    the algorithms, bit widths, transforms and schemes bench.operators names, and its registry has
    one kernel for every operator and the default scheme where none is asked for."""
    table = tomllib.loads((kernels_dir() / "kernels.toml").read_text())
    voc = table["vocabulary"]
    assert tuple(voc["algorithms"]) == ALGOS and set(voc["bits"]) == set(BITS)
    assert tuple(voc["transforms"]) == BUILTIN_TRANSFORMS and tuple(voc["schemes"]) == SCHEMES
    assert tuple(voc["requants"]) == REQUANTS
    got = sorted((c["bits"], c["algo"], c["transform"], c["scheme"]) for c in table["convs"])
    want = sorted((bits, algo, NO_TRANSFORM if algo == "im2row" else transform, scheme)
                  for bits in BITS for algo in ALGOS for transform in ({"static"} if algo == "im2row" else BUILTIN_TRANSFORMS)
                  for scheme in accepted_schemes(algo, bits))
    assert got == want
    assert {(c["bits"], c["algo"], c["scheme"]) for c in table["convs"] if "_tap_" not in c["name"] and "_wide_" not in c["name"]} \
        == {(b, a, default_scheme(a, b)) for b in BITS for a in ALGOS}


@pytest.mark.parametrize("algo,bits,scheme,resolved", [
    ("f4", 8, None, "tensor"), ("f4", 32, None, "none"), ("im2row", 8, None, "none"), ("f6", 8, "wide", "wide"),
])
def test_the_default_scheme_rule(algo, bits, scheme, resolved):
    assert resolve_scheme(algo, bits, scheme) == resolved
    assert sweep_scheme(algo, bits, "tap") == ("tap" if resolved not in ("none",) else "none")


def test_a_scheme_that_does_not_apply_is_refused_naming_the_accepted_ones():
    with pytest.raises(ValueError, match="scheme 'tap' does not apply to f4 at 32 bits; accepted: none"):
        resolve_scheme("f4", 32, "tap")
    assert op_key("f4", "static", 8, "tensor") == "f4-static-int8" and op_key("f4", "static", 8, "tap") == "f4-static-int8-tap"


def test_the_requantization_forms_and_their_keys():
    """int (the default, left out of keys) and fp32 for int8; none for fp32 operators."""
    assert REQUANTS[0] == default_requant(8) == "int" and default_requant(32) == "none"
    assert resolve_requant(8) == "int" and resolve_requant(8, "fp32") == "fp32" and resolve_requant(32) == "none"
    assert sweep_requant(32, "fp32") == "none" and sweep_requant(8, "fp32") == "fp32"
    with pytest.raises(ValueError, match="requant 'int' does not apply at 32 bits; accepted: none"):
        resolve_requant(32, "int")
    with pytest.raises(UsageError, match="unknown requant 'rndnu'; accepted: int, fp32"):
        parse_requants("rndnu")
    assert op_key("f4", "static", 8, "tap", requant="int") == op_key("f4", "static", 8, "tap") == "f4-static-int8-tap"
    assert op_key("f4", "static", 8, "tap", requant="fp32") == "f4-static-int8-tap-rq-fp32"
    assert op_key("f4", "static", 8, "tensor", requant="fp32") == "f4-static-int8-rq-fp32"
    assert op_key("im2row", "none", 8, "none", requant="fp32") == "im2row-int8-rq-fp32"
    assert op_key("im2row", "none", 32, "none", requant="none") == "im2row-fp32"


def test_wide_is_named_an_int16_gemm():
    """wide keeps its name and key; its products are int16 (the precision tables name)."""
    assert product_precision(8, "wide") == "int16" and op_key("f4", "static", 8, "wide") == "f4-static-int8-wide"
    assert product_precision(8, "tap") == product_precision(8, "none") == "int8" and product_precision(32) == "fp32"
