"""Matrix rules with the numbers in, and the softmax Jacobian: a wrong rule is a different matrix."""

from __future__ import annotations

import numpy as np

from tui_backprop.core import scenarios
from tui_backprop.teach.matrix_rules import jacobian_rule, matrix_rule


def traced(slug: str, bug: str | None = None):
    return scenarios.trace_scenario(scenarios.load(slug), bug)


def test_dW1_is_dz1_times_x_transposed_with_the_numbers():
    trace = traced("two-layer-net")
    rule = matrix_rule(trace, "z1", 0)
    dz1, x = trace.grads["z1"], trace.values["x"]
    np.testing.assert_allclose(rule.textbook, dz1 @ x.T)
    assert rule.agrees and rule.names == "dz1 · xᵀ"
    assert rule.text().startswith("dW1 = dz1 · xᵀ = [-0.01322; -0.1972] · [0.7081 0.02058] = [")
    assert "backward rule" not in rule.text()


def test_the_transposed_bug_is_a_different_matrix_marked_element_by_element():
    rule = matrix_rule(traced("two-layer-net", "matmul-grad-transposed"), "z1", 0)
    assert not rule.agrees and "the backward rule sends" in rule.text()
    np.testing.assert_array_equal(rule.wrong, [[False, True], [True, False]])  # off the diagonal
    rows = rule.laid_out().rows
    assert sum(row.count("!") for row in rows) == 2


def test_a_bias_over_a_batch_is_the_upstream_summed_and_a_non_product_has_no_rule():
    trace = traced("digits")
    rule = matrix_rule(trace, "z1", 2)
    assert rule.summed and rule.agrees
    np.testing.assert_allclose(rule.textbook, trace.grads["z1"].sum(axis=1, keepdims=True))
    assert matrix_rule(trace, "a1", 0) is None  # relu states no matrix product
    assert matrix_rule(traced("sigmoid-chain"), "a", 0) is None


def test_the_softmax_card_has_its_jacobian_and_what_it_sends():
    trace = traced("softmax")
    rule = jacobian_rule(trace, "s")
    s = trace.values["s"]
    np.testing.assert_allclose(rule.textbook, np.diag(s) - np.outer(s, s))
    np.testing.assert_allclose(rule.sends, trace.contributions["s"][0])
    first, sends = rule.lines()
    assert first.startswith("J = diag(s) - s sᵀ = diag([0.2689 0.7311]) - [0.2689; 0.7311] · [0.2689 0.7311]")
    assert sends.startswith("dx = Jᵀ · ds = ") and "backward rule" not in sends


def test_the_elementwise_softmax_bug_shows_a_diagonal_jacobian_and_sends_otherwise():
    rule = jacobian_rule(traced("softmax", "elementwise-derivative"), "s")
    assert not rule.agrees
    lines = rule.lines()
    assert lines[1] == "the backward rule's J = [0.1966 0; 0 0.1966]"
    assert "the backward rule sends" in lines[2]
    assert jacobian_rule(traced("digits"), "logp") is None  # 10 x 200: too large to write out


def test_the_handout_writes_the_matrix_rules_and_a_wrong_one_beside_the_textbook(capsys):
    from tui_backprop.cli.main import main

    assert main(["trace", "two-layer-net", "--bug", "matmul-grad-transposed", "--format", "markdown"]) == 1
    out = capsys.readouterr().out
    assert "- `dW1 = dz1 · xᵀ = [-0.01322; -0.1972] · [0.7081 0.02058] = [" in out
    assert "the backward rule sends [-0.009364 -0.1396; -0.0002722 -0.00406]" in out
    assert main(["trace", "softmax", "--format", "markdown"]) == 0
    assert "- `J = diag(s) - s sᵀ = " in capsys.readouterr().out
