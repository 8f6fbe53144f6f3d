"""bench.operators: the vocabulary, the default-scheme rule, operator keys and list parsers."""

import pytest

from bench.errors import UsageError
from bench.operators import op_key, parse_bits, parse_choices


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
