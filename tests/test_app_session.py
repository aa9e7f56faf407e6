"""The debugger's stepping rules, without a terminal: continue, breakpoints, reload, what a step reveals."""

from __future__ import annotations

import pytest
from session_support import session_of

from tui_backprop.check.gradcheck import iter_check


def test_continue_stops_at_the_first_backward_step_whose_gradient_mismatches():
    session = session_of("sigmoid-chain", "exp-uses-input")
    target = session.continue_target()
    assert target is not None
    step = session.trace.steps[target]
    # d = exp(c) has the wrong backward rule: going backwards, d is the first node that fails.
    assert (step.phase, step.node) == ("backward", "d")
    assert session.checks["d"].blamed
    assert all(
        session.checks[session.trace.steps[k].node].status == "ok"
        for k in range(session.trace.n_forward, target)
    )


def test_continue_without_a_mismatch_or_breakpoint_finds_nothing():
    session = session_of("sigmoid-chain")
    assert session.continue_target() is None
    assert session.continue_target(-1) is None


def test_breakpoints_stop_forward_and_backward_and_reverse_continue_finds_them():
    session = session_of("sigmoid-chain")
    assert session.toggle_breakpoint("c")
    assert session.continue_target() == session.step_of("c", "forward")
    session.go(session.step_of("c", "forward"))
    assert session.continue_target() == session.step_of("c", "backward")
    session.go(session.backward_end)
    assert session.continue_target(-1) == session.step_of("c", "backward")
    assert not session.toggle_breakpoint("c")
    assert session.continue_target(-1) is None


def test_selecting_a_node_jumps_to_its_step_in_this_phase_then_the_other():
    session = session_of("sigmoid-chain")
    forward, backward = session.step_of("b", "forward"), session.step_of("b", "backward")
    assert session.select_target("b") == forward
    session.go(forward)
    assert session.select_target("b") == backward
    assert session.select_target("x") is None  # a leaf has no step


def test_a_step_reveals_values_forward_and_gradients_backward_and_going_back_hides_them():
    session = session_of("l1-mse")
    trace = session.trace
    first = session.trace.steps[0].node
    session.go(0)
    assert session.value_known(first)
    assert not session.value_known("loss")
    assert session.received("W") == 0
    # W fans out to pred and abs_W: its gradient is final only after both have sent theirs.
    assert session.expected("W") == 2
    abs_w, pred = trace.backward_index["abs_W"], trace.backward_index["pred"]
    session.go(min(abs_w, pred))
    assert session.received("W") == 1
    session.go(max(abs_w, pred))
    assert session.received("W") == 2
    session.go(0)
    assert session.received("W") == 0 and not session.value_known("loss")


def test_rows_change_only_where_a_step_changes_something():
    session = session_of("sigmoid-chain")
    before = session.rows()
    session.go(1)
    after = session.rows()
    changed = {a.name for a, b in zip(before, after, strict=True) if a != b}
    assert changed == {session.trace.steps[0].node, session.trace.steps[1].node}


def test_in_the_update_phase_the_row_marked_current_is_the_parameter_updated():
    """The node list's ▶ follows each parameter's update (its rows were once kept by step alone,
    so it stayed on the last backward step's node)."""
    session = session_of("two-layer-net")
    session.params = ("W1", "b1", "W2", "b2")
    session.go(session.n_steps - 1)
    assert [r.name for r in session.rows() if r.current] == [session.trace.steps[-1].node]
    for k, name in enumerate(session.params):
        session.update = k
        assert [r.name for r in session.rows() if r.current] == [name]
        assert {r.phase for r in session.rows()} == {"update"}


def test_status_is_pending_until_the_check_reports_and_blame_outranks_mismatch():
    session = session_of("softmax", "eps-denominator", checked=False)
    assert {session.status_of(n) for n in session.node_names} == {"pending"}
    for node_check in iter_check(session.trace, session.settings):
        session.record(node_check)
    session.check_complete = True
    assert session.status_of("s") == "hidden"  # no spoilers: the result waits for its step
    session.go(session.step_of("s", "backward"))
    assert session.status_of("s") == "blame"
    assert session.status_of("x") == "mismatch"
    assert session.blamed == ["s"]


@pytest.mark.parametrize("phase", ["forward", "backward"])
def test_a_reloaded_trace_keeps_the_node_phase_and_breakpoints(phase):
    old = session_of("sigmoid-chain", checked=False)
    old.go(old.step_of("d", phase))
    old.toggle_breakpoint("c")
    new = session_of("sigmoid-chain", "reciprocal-sign", checked=False)
    old.place_in(new)
    assert new.current is not None
    assert (new.current.node, new.current.phase) == ("d", phase)
    assert new.breakpoints == {"c"}


def test_a_reloaded_trace_without_the_node_keeps_the_step_number_clamped():
    old = session_of("deep-mlp", checked=False)
    old.go(old.backward_end)
    old.toggle_breakpoint("z3")
    new = session_of("sigmoid-chain", checked=False)
    old.place_in(new)
    assert new.step == new.backward_end
    assert new.breakpoints == set()
