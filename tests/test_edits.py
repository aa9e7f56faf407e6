"""Editing, nudging and undoing leaf values: the engine side of the app's Edit value and Nudge."""

from __future__ import annotations

import numpy as np
import pytest

from tui_backprop.core import scenarios
from tui_backprop.teach.edits import EditError, Edits, edited_value, first_nonfinite, nudge, rerun


def traced(slug: str, dtype: str = "float64"):
    return scenarios.trace_scenario(scenarios.load(slug), dtype=dtype)


def test_an_edit_reruns_the_graph_without_changing_it_and_undo_takes_it_back():
    trace = traced("sigmoid-chain")
    edits = Edits()
    edits.set("x", edited_value(trace, "x", None, "-1/2"))
    edited = rerun(trace.graph, trace.output, edits)
    assert float(edited.values["a"]) == -1.5  # a = x · w0 with x = -0.5
    assert float(trace.graph["x"].value) == 2.0  # the graph keeps the file's value
    assert edits.differing(trace.graph) == ["x"]
    assert edits.undo() == "x" and not edits
    assert float(rerun(trace.graph, trace.output, edits).values["a"]) == 6.0


def test_one_element_of_a_tensor_or_the_whole_tensor_as_a_list():
    trace = traced("two-layer-net")
    w = edited_value(trace, "W1", (1, 0), "0.25")
    assert w[1, 0] == 0.25 and w[0, 0] == trace.values["W1"][0, 0]
    np.testing.assert_array_equal(edited_value(trace, "W1", None, "[[1, 2], [3, 4]]"), [[1, 2], [3, 4]])


@pytest.mark.parametrize(
    ("name", "index", "text", "why"),
    [
        ("x", None, "two", "not the name 'two'"),
        ("x", None, "[1, 2]", "shape"),
        ("x", None, "1e999", "finite"),
        ("a", None, "1", "computed by an op"),
        ("nope", None, "1", "no node named"),
    ],
)
def test_refused_edits_say_why(name, index, text, why):
    trace = traced("sigmoid-chain")
    with pytest.raises(EditError, match=why):
        edited_value(trace, name, index, text)


def test_an_edit_that_overflows_says_where_the_first_non_finite_value_is():
    trace = traced("sigmoid-chain")
    edits = Edits()
    edits.set("x", edited_value(trace, "x", None, "-400"))
    where = first_nonfinite(rerun(trace.graph, trace.output, edits))
    assert where is not None and where.startswith("d (d = exp(c)) is inf")


def test_edits_survive_a_rebuild_where_the_leaf_still_exists_with_its_shape():
    edits = Edits()
    edits.set("x", np.array(5.0))
    edits.set("w1", np.array(-4.0))  # what the file says: nothing differs, dropped silently
    edits.set("gone", np.array(1.0))
    rebuilt, _ = scenarios.build(scenarios.load("sigmoid-chain"))
    assert edits.carry_over(rebuilt) == ["gone"]
    assert list(edits.values) == ["x"]


def test_nudge_reads_like_the_lecture_and_undo_returns_the_value():
    trace = traced("sigmoid-chain")
    edits = Edits()
    lesson, after = nudge(trace, edits, "x", ())
    assert lesson.lesson("f") == ("x += 0.001 → f: 0.880797 → 0.881112, Δf/h = 0.3146 ≈ ∂f/∂x = 0.3150 ✓")
    assert set(lesson.changed) == {"x", "w0", "w1", "a", "b", "c", "d", "e", "f"}
    assert float(after.values["x"]) == 2.001
    edits.undo()
    assert not edits


def test_a_nudge_across_a_kink_disagrees_and_says_so():
    trace = traced("l1-mse")
    edits = Edits()
    edits.set("W", np.array([[0.0005, 1.0]]))
    start = rerun(trace.graph, trace.output, edits)
    lesson, _ = nudge(start, edits, "W", (0, 0), -0.001)
    assert not lesson.agrees and lesson.lesson().endswith("✗") and "W[0, 0] -= 0.001" in lesson.lesson()


def test_a_float32_nudge_divides_by_the_step_it_really_took():
    trace = traced("sigmoid-chain", "float32")
    lesson, _ = nudge(trace, Edits(), "x", (), 1e-3)
    assert lesson.moved != 1e-3 and lesson.moved == pytest.approx(1e-3, rel=1e-4)
    assert lesson.agrees


@pytest.mark.parametrize(
    ("index", "why"),
    [
        ((99, 0), r"W1\[99, 0\] is not an element of W1 \[2, 2\]: index 1 must be from 0 to 1"),
        ((0, 2), "index 2 must be from 0 to 1"),
        ((10**30, 0), "index 1 must be from 0 to 1"),
        ((0,), r"W1 has 2 dimension\(s\) \[2, 2\]: write 2 index number\(s\), e.g. W1\[0, 0\]"),
        ((0, 0, 0), "write 2 index number"),
    ],
)
def test_an_element_that_does_not_exist_is_refused_by_edit_and_nudge_alike(index, why):
    trace = traced("two-layer-net")
    with pytest.raises(EditError, match=why):
        edited_value(trace, "W1", index, "1")
    with pytest.raises(EditError, match=why):
        nudge(trace, Edits(), "W1", index)
