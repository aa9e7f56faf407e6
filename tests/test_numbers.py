"""One number format per digits setting, tensors inline and laid out as matrices."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tui_backprop.teach.numbers import beside, differing, inline, layout, number, sparkline


def test_one_style_for_every_number():
    assert [number(x) for x in (0.105, 1.0, 0.10504, -0.0, 6.0, 1.5e-7)] == [
        "0.105",
        "1",
        "0.105",
        "0",
        "6",
        "1.5e-7",
    ]
    assert number(0.1050472, 6) == "0.105047"
    assert [number(x) for x in (float("nan"), float("inf"), -float("inf"))] == ["NaN", "∞", "-∞"]


def test_tensors_inline_as_a_blackboard_writes_them():
    assert inline(np.array([[-0.013], [-0.197]])) == "[-0.013; -0.197]"
    assert inline(np.array([[0.708, 0.021]])) == "[0.708 0.021]"
    assert inline(np.array([[1.0, 2.0], [3.0, 4.0]])) == "[1 2; 3 4]"


def test_a_matrix_is_laid_out_as_rows_aligned_on_the_decimal_point_with_its_elements_located():
    a = np.array([[-0.013, 10.5], [-0.197, 2.0], [3.0, 4.0]])
    block = layout(a, marks=np.array([[False, True], [False, False], [False, False]]))
    assert block.rows == ("⎡-0.013 10.5!⎤", "⎢-0.197  2   ⎥", "⎣ 3      4   ⎦")
    for index, (row, start, end) in block.cells.items():
        assert block.rows[row][start:end].rstrip("!") == number(a[index])


@given(st.lists(st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=3), min_size=1, max_size=4))
def test_every_element_can_be_found_in_the_layout(rows):
    a = np.array(rows)
    block = layout(a)
    assert len({len(r) for r in block.rows}) == 1
    for index, (row, start, end) in block.cells.items():
        assert block.rows[row][start:end] == number(a[index])


def test_an_equation_puts_blocks_side_by_side_on_one_middle_row():
    laid = beside(["dW1 =", layout(np.array([[-0.013], [-0.197]])), "·", layout(np.array([[0.708, 0.021]]))])
    assert laid.rows == ("dW1 = ⎡-0.013⎤ · [0.708 0.021]", "      ⎣-0.197⎦                ")
    assert laid.offsets == ((0, 0), (0, 6), (0, 15), (0, 17))


def test_two_probed_losses_get_just_enough_digits_to_differ_both_alike():
    assert differing(0.8807972, 0.880797) == ("0.8807972", "0.8807970")
    assert differing(2.0, 2.0) == ("2.000", "2.000")


def test_a_big_tensor_is_a_sparkline_of_its_values_in_order():
    assert sparkline(np.arange(16.0), 8) == "▁▂▃▄▅▆▇█"
    assert sparkline(np.ones((4, 4)), 4) == "▁▁▁▁"
    assert sparkline(np.array([0.0, np.nan, 1.0]), 3) == "▁!█"
    assert len(sparkline(np.zeros(1000), 30)) == 30
