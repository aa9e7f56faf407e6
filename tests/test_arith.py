"""The safe evaluator: numbers and arithmetic are read, anything else is refused and never run."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_backprop.teach.typed_numbers import NotANumberError, evaluate, parse_value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.315", 0.315),
        ("-(1/4)**2", -0.0625),
        ("0.105 * 3", 0.315),
        ("1e-3 + 2", 2.001),
        ("  +7 ", 7.0),
        ("2 ** -1", 0.5),
        ("(1 - 0.7311) * -1", -(1 - 0.7311)),
    ],
)
def test_arithmetic_over_numbers_is_evaluated(text, value):
    assert evaluate(text) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("__import__('os').system('touch /tmp/h10-pwned')", "function call"),
        ("x + 1", "the name 'x'"),
        ("(1).real", "attribute"),
        ("'3'", "only numbers"),
        ("True", "only numbers"),
        ("1 // 2", "FloorDiv"),
        ("1/0", "division by zero"),
        ("9**9**9", "too large"),
        ("1e308 * 10", "not a finite"),
        ("(-8) ** 0.5", "not a real"),
        ("", "type a number"),
        ("1 +", "not a number"),
        ("[1, 2]", "a List"),
    ],
)
def test_anything_else_is_refused_with_a_reason(text, why):
    with pytest.raises(NotANumberError, match=why):
        evaluate(text)
    assert not __import__("os").path.exists("/tmp/h10-pwned")


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_float_as_python_writes_it_reads_back_exactly(x):
    assert evaluate(repr(x)) == x


def test_list_literals_must_have_the_leaf_shape_and_be_finite():
    np.testing.assert_array_equal(parse_value("[[1, 2], [3, -0.5]]", (2, 2)), [[1, 2], [3, -0.5]])
    np.testing.assert_array_equal(parse_value("[1/2, 2*3]", (2,)), [0.5, 6])
    with pytest.raises(NotANumberError, match=r"shape \[3\] does not match .* \[2\]"):
        parse_value("[1, 2, 3]", (2,))
    with pytest.raises(NotANumberError, match="different lengths"):
        parse_value("[[1, 2], [3]]", (2, 2))
    with pytest.raises(NotANumberError, match="type a list"):
        parse_value("3", (2,))
    with pytest.raises(NotANumberError, match="the name"):
        parse_value("[1, nan]", (2,))
    assert math.isclose(float(parse_value("2*3", ())), 6.0)
