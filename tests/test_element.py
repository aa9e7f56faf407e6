"""The element to follow: one choice per tensor that every teaching function obeys, and its path."""

from __future__ import annotations

import numpy as np
import pytest

from tui_backprop.check.gradcheck import CheckSettings, check
from tui_backprop.core import scenarios
from tui_backprop.teach.derivation import links, probe
from tui_backprop.teach.edits import Edits, nudge, reached
from tui_backprop.teach.element import Element, Focus, default_index, element_path, parse_index
from tui_backprop.teach.quiz import question_for
from tui_backprop.teach.stepsize import sweep


def traced(slug: str, bug: str | None = None):
    return scenarios.trace_scenario(scenarios.load(slug), bug)


def test_the_default_is_the_largest_gradient_then_what_the_check_flags():
    trace = traced("two-layer-net", "matmul-grad-transposed")
    grad = np.abs(trace.grads["W1"])
    assert default_index(trace, "W1") == np.unravel_index(np.argmax(grad), grad.shape)
    result = check(trace, CheckSettings.for_dtype("float64"))
    wrong = result.nodes["z1"].local[0].differing()  # what the blamed z1 sends W1
    assert default_index(trace, "W1", result.nodes) == wrong[0]
    # no spoilers: a result not yet shown does not steer the choice
    assert default_index(trace, "W1", result.nodes, shown=lambda name: False) == default_index(trace, "W1")


def test_every_teaching_function_follows_the_chosen_element():
    trace = traced("two-layer-net")
    focus = Focus().choose("W1", (1, 0)).choose("x", (1, 0))
    (w1_link,) = [link for link in links(trace, "z1", focus) if link.parent == "W1"]
    assert w1_link.focus == (1, 0)
    assert probe(trace, "W1", 1e-6, focus).index == (1, 0)
    assert sweep({"float64": trace}, "W1", focus=focus).index == (1, 0)
    result, after = nudge(trace, Edits(), "W1", focus=focus)
    assert result.index == (1, 0) and after.values["W1"][1, 0] == pytest.approx(
        trace.values["W1"][1, 0] + 1e-3
    )
    question = question_for(trace, trace.backward_index["z1"], focus)
    assert question.label == "dL/dW1[1, 0] from z1"
    assert question.expected == pytest.approx(float(trace.contributions["z1"][0][1, 0]))


def test_a_choice_that_no_longer_fits_the_tensor_falls_back_to_the_default():
    trace = traced("two-layer-net")
    assert Focus({"W1": (5, 5)}).index(trace, "W1") == default_index(trace, "W1")
    assert parse_index("[1, 0]", (2, 2)) == (1, 0)
    with pytest.raises(ValueError, match="not an element"):
        parse_index("2 0", (2, 2))


def test_the_path_of_a_matrix_element_is_its_row_and_column():
    trace = traced("two-layer-net")
    path = element_path(trace, Element("z1", (1, 0)))
    np.testing.assert_array_equal(path.inputs["W1"], [[False, False], [True, True]])  # row 1 of W1
    np.testing.assert_array_equal(path.inputs["x"], [[True], [True]])
    np.testing.assert_array_equal(path.inputs["b1"], [[False], [True]])
    np.testing.assert_array_equal(
        path.consumers["a1"], [[False], [True]] if trace.values["z1"][1, 0] > 0 else [[False], [False]]
    )
    w = element_path(trace, Element("W1", (1, 0)))
    np.testing.assert_array_equal(w.consumers["z1"], [[False], [True]])  # W1[1,0] feeds z1[1]


def test_a_transposed_gradient_takes_another_path_back_than_forward():
    trace = traced("two-layer-net", "matmul-grad-transposed")
    path = element_path(trace, Element("z1", (1, 0)))
    forward = element_path(trace, Element("W1", (0, 1))).consumers["z1"]  # W1[0,1] feeds z1[0] only
    assert not forward[1, 0]
    assert path.inputs["W1"][0, 1]  # yet the wrong rule sends z1[1]'s gradient to W1[0,1]


def test_the_probe_names_the_element_it_moves_not_a_bare_x():
    trace = traced("sigmoid-chain")
    head, values, result = probe(trace, "a", 1e-6).lines()
    assert head == "numeric dL/da: F = f, a = 6, h = 1e-6"  # the scenario's own x is 2
    assert values == "F(a+h) = 0.8807972   F(a-h) = 0.8807970"
    assert result == "(F₊ - F₋)/2h = 0.105   analytic 0.105"


def test_only_what_the_class_has_seen_may_be_shown_changing():
    trace = traced("sigmoid-chain")
    values, grads = reached(trace, trace.forward_index["b"])
    assert (values, grads) == ({"x", "w0", "w1", "a", "b"}, set())
    values, grads = reached(trace, trace.backward_index["d"])
    assert values == {"x", "w0", "w1", "a", "b", "c", "d", "e", "f"}
    assert grads == {"f", "e", "d", "c"}
