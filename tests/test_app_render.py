"""What the inspector, the node list and the tensor formatting say, without a terminal."""

from __future__ import annotations

import numpy as np
import pytest
from session_support import session_of

from tui_backprop.app.debugger import rows
from tui_backprop.app.debugger.status_text import status_line
from tui_backprop.app.inspector.text import inspector
from tui_backprop.app.look import numbers as tf
from tui_backprop.app.model.session import Session
from tui_backprop.check.gradcheck import MISMATCH


def inspect(session: Session, step: int, name: str | None = None, width: int = 70) -> str:
    session.go(step)
    return inspector(session, name or session.node_name, width).plain


@pytest.mark.parametrize(
    ("value", "text"),
    [(6.0, "6"), (-0.7758, "-0.7758"), (0.0, "0"), (1e-11, "1e-11"), (0.105, "0.105"), (float("nan"), "NaN")],
)
def test_numbers_keep_four_significant_digits_and_drop_trailing_zeros(value, text):
    assert tf.num(value) == text


def test_a_small_tensor_is_aligned_and_marks_mismatching_and_kinked_elements():
    codes = np.array([[0, MISMATCH], [tf.KINK, 0]])
    lines = tf.grid(np.array([[1.0, -22.5], [0.125, 3.0]]), codes)
    plain = [line.plain for line in lines]
    assert len({len(p) for p in plain}) == 1  # aligned
    assert "-22.5!" in plain[0] and "0.125~" in plain[1]
    styled = [span.style for span in lines[0].spans]
    assert tf.CODE_STYLE[MISMATCH] in styled


def test_a_large_tensor_is_summarised_with_its_statistics():
    lines = tf.tensor_lines(np.arange(300.0).reshape(10, 30), width=60)
    assert len(lines) == 1
    assert lines[0].plain.startswith("10×30")
    assert "min 0" in lines[0].plain and "max 299" in lines[0].plain


def test_forward_step_shows_the_formula_with_numbers_and_hides_the_gradient():
    session = session_of("sigmoid-chain")
    text = inspect(session, 0)
    assert "a = x · w0" in text
    assert "a = 2 · 3 = 6" in text
    assert "not reached yet" in text
    assert "analytic" not in text


def test_a_tensor_step_is_written_with_the_numbers_the_circuit_and_the_card_write():
    """One format in every view (README "Numbers"): a column as ``[a; b]``, a 1×1 as its number."""
    from tui_backprop.app.circuit import labels as cl
    from tui_backprop.app.presenter.card import card

    session = session_of("two-layer-net")
    text = " ".join(inspect(session, session.step_of("z1", "forward"), width=120).split())
    assert "z1 = [0.3745 0.9507; 0.732 0.5987] @ [0.7081; 0.02058] + [0.156; 0.156] = " in text
    text = " ".join(inspect(session, session.step_of("a2", "forward"), width=120).split())
    assert "a2 = σ(1.221) = 0.7723" in text
    assert "σ(1.221) = 0.7723" in cl.forward_callout(session, session.trace.graph["a2"])
    assert "σ(1.221) = 0.7723" in card(session, None, None, None, None, None, [], 100).formula.plain


def test_a_negative_operand_is_parenthesised_only_where_the_formula_does_not_enclose_it():
    session = session_of("sigmoid-chain")
    assert "d = exp(-2) = 0.1353" in inspect(session, session.step_of("d", "forward"))


def test_backward_step_shows_upstream_local_derivative_and_what_it_sends():
    session = session_of("sigmoid-chain")
    text = inspect(session, session.backward_end)
    assert "dL/da = 0.105\n" in text and "numeric 0.105 " in text
    assert "∂a/∂x = w0 = 3  numeric 3" in text
    assert "sends dL/dx = dL/da · ∂a/∂x = 0.105 · 3 = 0.315" in text
    assert "  (F₊ - F₋)/2h = 0.105   analytic 0.105   ✓ ok" in text


def test_a_node_that_fans_out_lists_every_contribution_and_their_sum():
    session = session_of("l1-mse")
    trace = session.trace
    first = min(trace.backward_index["pred"], trace.backward_index["abs_W"])
    last = max(trace.backward_index["pred"], trace.backward_index["abs_W"])
    early = inspect(session, first, "W")
    assert "1 of 2 contributions received" in early and "dL/dW so far" in early
    done = inspect(session, last, "W")
    assert "2 of 2 contributions received" in done
    assert "from pred" in done and "from abs_W" in done and "sum" in done


def test_softmax_shows_its_local_jacobian_beside_the_numeric_estimate():
    session = session_of("softmax")
    text = inspect(session, session.step_of("s", "backward"), width=90)
    assert "local Jacobian ∂s/∂x  2×2" in text
    assert "analytic" in text and "numeric" in text


def test_a_blamed_node_says_so_and_its_contribution_is_flagged():
    session = session_of("sigmoid-chain", "reciprocal-sign")
    text = inspect(session, session.step_of("f", "backward"))
    assert "BLAMED" in text
    assert "✗ mismatch" in text
    downstream = inspect(session, session.step_of("c", "backward"))
    assert "inherited from downstream; blamed: f" in downstream


def test_a_large_gradient_lists_its_mismatching_elements_by_index():
    session = session_of("deep-mlp", "relu-passes-negatives")
    text = inspect(session, session.backward_end)
    assert "mismatch !" in text
    assert "index" in text and "(1, 0)" in text
    assert "press v for every element" in text


def test_a_backward_rule_that_raises_is_reported_with_its_file_and_line():
    session = session_of("tests/scenario_files/backward_raises.py")
    failing = next(iter(session.trace.failures))
    text = inspect(session, session.step_of(failing, "backward"))
    assert "backward failed" in text
    assert "backward_raises.py:" in text


def test_node_rows_hide_what_a_step_has_not_computed():
    session = session_of("sigmoid-chain")
    columns = rows.columns_for(session, 80)
    session.go(0)
    row = {r.name: rows.node_row(session, r, columns).plain for r in session.rows()}
    assert row["f"].split()[-3] == "·"  # value of f not computed yet
    assert "▶" in row["a"]
    session.go(session.backward_end)
    row = {r.name: rows.node_row(session, r, columns).plain for r in session.rows()}
    assert "0.315" in row["x"]  # dL/dx has arrived


def test_the_node_list_drops_columns_to_fit_but_keeps_name_grad_and_check():
    session = session_of("deep-mlp")
    keys = [c.key for c in rows.columns_for(session, 36)]
    assert {"name", "grad", "check"} <= set(keys)
    assert "shape" not in keys


def test_the_status_line_says_scenario_bug_phase_step_output_mismatches_and_eps():
    session = session_of("sigmoid-chain", "reciprocal-sign")
    session.go(0)
    text = status_line(session, "sigmoid-chain", None, bug="reciprocal-sign").plain
    assert "bug reciprocal-sign" in text and "forward 1/12" in text
    mystery = status_line(session, "sigmoid-chain", None, bug="bug 1").plain
    assert "bug 1 │" in mystery and "reciprocal" not in mystery
    assert "f = ?" in text  # the output is not computed at the first step
    assert "mismatch" not in text and "✓ so far" in text  # no spoilers before the backward pass
    assert "float64 eps 1e-6" in text and "4 digits" in text
    session.go(session.step_of("f", "backward"))
    text = status_line(session, "sigmoid-chain", None).plain
    assert "f = 0.8808" in text and "2 mismatches" in text and "blame f" in text  # f and e (now final)
    session.go(session.backward_end)
    assert "9 mismatches" in status_line(session, "sigmoid-chain", None).plain
    session.go(0)
    session.show_all = True  # the setting that shows every result at once
    assert "9 mismatches" in status_line(session, "sigmoid-chain", None).plain
