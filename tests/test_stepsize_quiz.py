"""The step-size sweep (truncation, round-off, kinks) and the quiz's grading and slips."""

from __future__ import annotations

import numpy as np
import pytest

from tui_backprop.core import scenarios
from tui_backprop.teach.edits import Edits, rerun
from tui_backprop.teach.quiz import Score, grade, question_for
from tui_backprop.teach.stepsize import EPS_VALUES, sweep


def both_dtypes(slug: str, edits: Edits | None = None):
    scenario = scenarios.load(slug)
    traces = {}
    for dtype in ("float64", "float32"):
        graph, output = scenarios.build(scenario, None, dtype)
        traces[dtype] = rerun(graph, output, edits or Edits())
    return traces


def test_the_sweep_falls_then_rises_and_float32_bottoms_out_at_a_larger_eps():
    result = sweep(both_dtypes("sigmoid-chain"), "x")
    f64, f32 = result.curves
    assert result.eps[0] == pytest.approx(1e-1) and result.eps[-1] == pytest.approx(1e-12)
    best64, best32 = f64.best, f32.best
    assert best64 is not None and best32 is not None
    assert result.eps[best32] > 100 * result.eps[best64]
    # truncation on the right (large eps), round-off on the left (small eps)
    assert f64.rel_err[0] > 1e3 * f64.rel_err[best64] and f64.rel_err[-1] > 1e3 * f64.rel_err[best64]
    assert f32.rel_err[best32] < 1e-3 < f32.rel_err[len(EPS_VALUES) // 2]
    # float32 loses the step altogether once eps is below its resolution at x = 2
    assert np.isnan(f32.rel_err[-1])
    assert not result.any_kink


def test_a_probe_that_crosses_a_kink_is_flagged_only_for_the_eps_that_cross_it():
    edits = Edits()
    edits.set("W", np.array([[0.003, 1.0]]))  # |W| has its corner 0.003 away
    result = sweep(both_dtypes("l1-mse", edits), "W", (0, 0))
    f64 = result.curves[0]
    crossing = [eps for eps, kink in zip(result.eps, f64.kinks, strict=True) if kink]
    assert crossing and min(crossing) > 0.003 and all(eps > 0.003 for eps in crossing)
    assert f64.rel_err[0] > 1e-2  # there the difference measures the corner


def sigmoid_question(step: int):
    return question_for(scenarios.trace_scenario(scenarios.load("sigmoid-chain")), step)


@pytest.mark.parametrize(
    ("answer", "slip"),
    [
        (-0.315, "sign"),
        (0.63, "factor 2"),
        (3.0, "forgot the upstream gradient"),
        (0.105, "forgot the local derivative"),
        (0.21, "swapped inputs"),
        (0.2, None),
    ],
)
def test_a_wrong_gradient_names_the_likely_slip_and_the_rule(answer, slip):
    question = sigmoid_question(11)  # a = x · w0 sends x: 0.105 · 3
    result = grade(question, answer)
    assert not result.correct
    assert (result.slip or "").startswith(slip or "")
    assert result.slip is None or slip is not None
    assert "Rule: dL/dx += dL/da · ∂a/∂x = 0.105 · 3 = 0.315" in result.message()


def test_right_answers_within_rounding_and_the_score_counts_each_step_once():
    question = sigmoid_question(0)
    assert question.prompt == "a = 2 · 3 = ?"
    score = Score()
    score.record(grade(question, 6.0))
    score.record(grade(question, 5.0))  # the same step again: not counted twice
    score.record(grade(sigmoid_question(3), 0.1353))  # exp(-2) to 4 digits
    score.record(grade(sigmoid_question(5), 0.87))  # f = 0.8808: off by 1 %
    assert (score.right, score.wrong) == (2, 1)
    assert score.line() == "quiz 2/3 right"


def test_the_explorer_draws_both_curves_with_decade_ticks_regions_and_the_kink_at_80_columns():
    from tui_backprop.app.explore.stepsize_words import explorer_lines

    edits = Edits()
    edits.set("W", np.array([[0.003, 1.0]]))
    lines = [t.plain for t in explorer_lines(sweep(both_dtypes("l1-mse", edits), "W", (0, 0)), 1e-6, 78, 20)]
    assert len(lines) <= 20 and all(len(line) <= 78 for line in lines)
    text = "\n".join(lines)
    assert "◀ round-off" in text and "truncation" in text
    assert "1e-12" in text and "1e-6" in text and "1e-2" in text
    assert any(0x2800 < ord(ch) <= 0x28FF for ch in text)  # Braille dots
    assert "float64" in text and "float32" in text and "~ kink" in text and "┊" in text
