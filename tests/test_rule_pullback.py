"""The global check carried back through an author's rule (check/pullback.py, README "How the check
works"): upstream of the author's own dense op, whose rule its local check verified by projection,
the numeric gradient is pulled back through that rule. What it still catches, and what it claims.
"""

from __future__ import annotations

import numpy as np
import pytest

from tui_backprop import Graph, custom_op, ops
from tui_backprop.check.gradcheck import MISMATCH, CheckSettings, check
from tui_backprop.core.trace import run

SETTINGS = CheckSettings.for_dtype("float64")


def dense(name: str, wrong_dw: float = 0.0, calls: list[str] | None = None):
    """The author's ``W @ h`` (dW[3, 5] off by ``wrong_dw`` of its own value); ``calls`` counts
    forwards."""

    def forward(w, h):
        if calls is not None:
            calls.append(name)
        return w @ h

    def backward(u, out, w, h):
        dw = u @ h.T
        dw[3, 5] *= 1 + wrong_dw
        return dw, w.T @ u

    return custom_op(name, forward, backward)


def two_layers(wrong_dw: float = 0.0, tanh_bug: bool = False, calls: list[str] | None = None):
    """h → dense → tanh → dense → sum of squares: both dense ops the author's, large enough that
    their rules are verified by projection, so every tensor upstream is pulled back through them."""
    rng = np.random.default_rng(0)
    g = Graph()
    h = g.input("h", rng.standard_normal((400, 16)))
    w1 = g.param("W1", rng.standard_normal((200, 400)) / 20)
    w2 = g.param("W2", rng.standard_normal((10, 200)) / 14)
    tanh = ops.tanh
    if tanh_bug:  # a built-in between the two rules sends a wrong gradient: 1.01x at every element
        tanh = ops.tanh.with_backward(lambda u, out, x: 1.01 * u * (1 - np.tanh(x) ** 2))
    a1 = tanh(dense("dense1", wrong_dw, calls)(w1, h, name="z1"), name="a1")
    z2 = dense("dense2", calls=calls)(w2, a1, name="z2")
    return g, ops.sum(ops.square(z2, name="q"), name="L")


def checked(**kw):
    g, out = two_layers(**kw)
    return check(run(g, out), SETTINGS)


def test_upstream_of_a_verified_rule_is_covered_with_the_rules_bound():
    result = checked()
    assert result.verdict == "pass"
    assert result.nodes["z1"].grad.n_probed == result.nodes["z1"].grad.analytic.size  # through tanh
    for name in ("W1", "h"):  # pulled back through dense1's rule
        grad = result.nodes[name].grad
        assert grad.method == "pull-back", name
        assert grad.n_probed == 0 and grad.n_covered == grad.analytic.size, name  # never "compared"
        assert grad.bound is not None and 0 < grad.bound < np.max(np.abs(grad.analytic)), name
    local = result.nodes["z1"].local[0]
    assert local.method == "projection" and result.nodes["W1"].grad.bound >= local.bound


def test_a_wrong_gradient_arriving_at_a_verified_rule_is_still_seen():
    """tanh's backward is 1 % off: tanh is blamed, and what it sends on is a mismatch upstream of
    dense1's rule too: the pull-back carries the numeric gradient, not the analytic one."""
    result = checked(tanh_bug=True)
    assert result.verdict == "fail" and result.blame == ["a1"]
    assert result.nodes["z1"].grad.status == "mismatch"
    assert result.nodes["W1"].grad.method == "pull-back"
    assert result.nodes["W1"].grad.status == "mismatch"
    assert result.nodes["h"].grad.status == "mismatch"


@pytest.mark.parametrize("wrong", [1e-2, -1.0])
def test_a_wrong_rule_is_blamed_and_never_pulled_back_through(wrong):
    result = checked(wrong_dw=wrong)
    assert result.verdict == "fail" and result.blame == ["z1"]
    sent = result.nodes["z1"].local[0]
    assert sent.codes[3, 5] == MISMATCH and int(np.count_nonzero(sent.codes == MISMATCH)) == 1
    for name in ("W1", "h"):  # dense1's rule failed: its inputs are projected, not pulled through it
        assert result.nodes[name].grad.method == "projection", name


def test_exhaustive_never_pulls_back_through_a_rule():
    g, out = two_layers()
    trace = run(g, out)
    result = check(trace, CheckSettings.for_dtype("float64", exhaustive=True))
    assert {c.method for nc in result.nodes.values() for _, c in nc.comparisons()} <= {
        "direct",
        "pull-back",
        "coloured",
    }
    assert all(c.n_covered == 0 for nc in result.nodes.values() for _, c in nc.comparisons())


def test_a_sampled_check_runs_the_authors_op_no_more_than_the_full_one():
    """``--sample`` is there to save time: where K probes, each a run of the author's op, would
    cost more runs than projecting the whole tensor, the tensor is projected as without it."""
    full: list[str] = []
    g, out = two_layers(calls=full)
    check(run(g, out), SETTINGS)
    sampled: list[str] = []
    g, out = two_layers(calls=sampled)
    result = check(run(g, out), CheckSettings.for_dtype("float64", sample=64))
    assert len(sampled) <= len(full)
    assert result.verdict == "incomplete"  # the tensors that are sampled leave the rest unchecked
    assert result.nodes["z1"].local[0].method == "projection"


def test_the_text_report_names_what_came_through_a_rule_and_never_calls_it_compared():
    from types import SimpleNamespace

    from tui_backprop.cli.report import check_text

    g, out = two_layers()
    trace = run(g, out)
    text = check_text(
        SimpleNamespace(slug="two-layers", title=""), None, trace, check(trace, SETTINGS), width=400
    )
    line = next(line for line in text.splitlines() if line.startswith("≈ through a rule"))
    assert "dL/dW1" in line and "dL/dh" in line and "covered" in line
    assert "dL/dz1" not in line  # through tanh, a built-in: compared element by element


def test_the_apps_tally_shows_no_relative_error_for_what_came_through_a_rule():
    """The rule applied to the numeric upstream agrees with itself applied to the analytic one to
    round-off: that figure measures nothing of the rule, so the tally does not show it."""
    from tui_backprop.app.inspector.verdict import counts_line

    result = checked()
    through = str(counts_line(result.nodes["W1"].grad))
    assert "covered: carried back through a rule" in through and "rel err" not in through
    assert "max rel err" in str(counts_line(result.nodes["a1"].grad))  # through tanh: compared


def test_the_app_says_covered_not_ok_on_a_node_verified_only_through_a_rule():
    """The node list and the inspector's badge: ✓ covered for W1 and h (pulled back through the
    author's rule), ✓ ok for the nodes compared element by element (README: three states)."""
    from pathlib import Path

    from app_support import settle, sync

    from tui_backprop.app.app import make_app

    @sync
    async def run_app() -> None:
        app = make_app(str(Path(__file__).parent / "scenario_files" / "author_dense.py"))
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            app.model.session.show_all = True
            statuses = {n: app.model.session.status_of(n) for n in ("W1", "h", "a1", "q")}
        assert statuses == {"W1": "covered", "h": "covered", "a1": "ok", "q": "ok"}

    run_app()
