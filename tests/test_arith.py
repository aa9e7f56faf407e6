"""The safe evaluator: numbers and arithmetic are read, anything else is refused and never run."""

from __future__ import annotations

import contextlib
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


# ---------------------------------------------------------------- hostile depth and length
@given(st.integers(0, 9_990))
def test_any_run_of_unary_minuses_is_read_or_refused_never_a_crash(n):
    try:
        value = parse_value("[" + "-" * n + "1]", (1,))
    except NotANumberError as exc:
        assert "nested" in str(exc)
    else:
        assert value[0] == (-1) ** n


@given(st.integers(1, 4_999))
def test_a_long_sum_is_added_up_or_refused_never_a_crash(terms):
    try:
        value = parse_value("[" + "+".join(["1"] * terms) + "]", (1,))
    except NotANumberError as exc:
        assert "nested" in str(exc)
    else:
        assert value[0] == terms


def test_the_issues_inputs_are_read_without_recursion():
    assert parse_value("[" + "-" * 1000 + "1]", (1,))[0] == 1.0
    assert parse_value("[" + "+".join(["1"] * 990) + "]", (1,))[0] == 990.0
    assert evaluate("-" * 199 + "1") == -1.0


@pytest.mark.parametrize("depth", [2, 50, 199, 3000])
def test_lists_nested_deeper_than_the_value_are_refused_at_once(depth):
    with pytest.raises(NotANumberError, match=r"nested|not a list"):
        parse_value("[" * depth + "1" + "]" * depth, (1,))


@given(st.text(max_size=300))
def test_any_text_is_a_value_or_a_refusal(text):
    with contextlib.suppress(NotANumberError):  # anything else (IndexError, RecursionError) fails
        parse_value(text, (2,))


def _expressions():
    numbers = st.one_of(st.integers(-1000, 1000).map(str), st.floats(-1e3, 1e3, allow_nan=False).map(repr))
    return st.recursive(
        numbers,
        lambda inner: st.one_of(
            st.tuples(st.sampled_from(["-", "+"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
                lambda t: f"({t[0]}){t[1]}({t[2]})"
            ),
        ),
        max_leaves=30,
    )


@given(_expressions())
def test_the_reader_agrees_with_python_on_arithmetic(text):
    try:
        expected = float(eval(text, {"__builtins__": {}}))  # our own generated arithmetic, no names
    except (ZeroDivisionError, OverflowError):
        with pytest.raises(NotANumberError):
            evaluate(text)
        return
    if len(text) > 200 or not math.isfinite(expected):
        with pytest.raises(NotANumberError):
            evaluate(text)
        return
    assert evaluate(text) == expected
