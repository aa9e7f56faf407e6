"""The circuit view: its layout (pure), what each step writes on the wires, and the widget in the app."""

from __future__ import annotations

import pytest
from app_support import settle, sync
from session_support import session_of as checked_session

from tui_backprop.app.app import make_app
from tui_backprop.app.circuit import labels as cl
from tui_backprop.app.circuit.layout import NodeSpec, layout
from tui_backprop.app.circuit.view import CircuitView, overlays
from tui_backprop.app.look import styles as st
from tui_backprop.app.model.session import Session

BUILT_INS = ["sigmoid-chain", "l1-mse", "two-layer-net", "softmax", "deep-mlp"]


def session_of(slug: str, bug: str | None = None, checked: bool = False) -> Session:
    """Unchecked unless asked: most circuit tests are about what a step reveals before any check."""
    return checked_session(slug, bug, checked)


def circuit_of(session: Session):
    return layout(cl.specs(session), cl.label_widths(session))


@pytest.mark.parametrize("slug", BUILT_INS)
def test_every_input_wire_ends_at_its_gate_and_no_two_gates_overlap(slug):
    session = session_of(slug)
    drawn = circuit_of(session)
    gates = list(drawn.gates.values())
    for a in gates:
        for b in gates:
            if a is not b:
                apart = a.x1 <= b.x0 or b.x1 <= a.x0 or a.bottom < b.top or b.bottom < a.top
                assert apart, (a.name, b.name)
    for name, wires in drawn.inputs.items():
        gate = drawn.gates[name]
        for cells in wires:
            assert (gate.x0, gate.y) in cells  # the wire enters the gate's left border on its row
            assert drawn.rows[gate.y][gate.x0] == "┤"


@pytest.mark.parametrize("slug", ["sigmoid-chain", "l1-mse", "two-layer-net", "softmax"])
def test_the_lecture_scenarios_fit_120_columns(slug):
    drawn = circuit_of(session_of(slug))
    assert drawn.width <= 120 and drawn.height <= 24


def test_a_wire_that_skips_a_layer_passes_through_it():
    specs = [
        NodeSpec("x", (), False),
        NodeSpec("a", ("x",), True, "exp"),
        NodeSpec("b", ("a",), True, "log"),
        NodeSpec("c", ("b", "x"), True, "+"),
    ]
    drawn = layout(specs, {"x": 3, "a": 3, "b": 3, "c": 3})
    cells = drawn.inputs["c"][1]  # x → c crosses the layers of a and b
    xs = sorted({x for x, _ in cells})
    assert xs[0] < drawn.gates["a"].x0 and xs[-1] >= drawn.gates["c"].x0 - 1
    assert len(xs) == xs[-1] - xs[0] + 1  # one unbroken run of wire


def test_two_wires_that_cross_are_drawn_crossing_and_one_that_turns_is_not():
    from tui_backprop.app.circuit.layout import _Canvas

    canvas = _Canvas()
    canvas.line("a", 0, 1, 4, 1)  # straight through (2, 1)
    canvas.line("b", 2, 0, 2, 2)
    canvas.line("c", 0, 3, 2, 3)  # turns down at (2, 3), over another net's vertical wire
    canvas.line("c", 2, 3, 2, 4)
    canvas.line("d", 2, 2, 2, 5)
    rows = canvas.render(5, 6)
    assert rows[1] == "──┼──"
    assert rows[3][2] == "─" and rows[0][2] == rows[5][2] == "│"


def labels_at(session: Session, step: int, name: str) -> cl.WireLabels:
    session.go(step)
    return cl.wire_labels(session, name)


def test_values_and_gradients_appear_at_their_steps_and_hide_again_going_back():
    session = session_of("sigmoid-chain")
    forward_d = session.step_of("d", "forward")
    backward_d = session.step_of("d", "backward")  # d sends dL/dc = -0.105 to c
    assert labels_at(session, forward_d - 1, "d").above == ("·", cl.PENDING)
    assert labels_at(session, forward_d, "d").above == ("0.1353", cl.VALUE)
    assert labels_at(session, backward_d - 1, "c").below == ("·", cl.PENDING)
    assert labels_at(session, backward_d, "c").below == ("-0.105", cl.GRAD)
    assert labels_at(session, backward_d - 1, "c").below == ("·", cl.PENDING)  # stepping back hides it
    assert labels_at(session, forward_d - 1, "d").above == ("·", cl.PENDING)


def test_the_wire_being_computed_shows_the_chain_rule_product():
    session = session_of("sigmoid-chain")
    session.go(session.step_of("c", "backward"))  # c = -1 · b sends -0.105 · -1 to b
    state = cl.state(session, session.node_names)
    assert state.labels["b"].callout == ("-0.105 × (-1) = 0.105", cl.CALLOUT)
    session.go(session.step_of("a", "backward"))
    state = cl.state(session, session.node_names)
    assert state.labels["x"].callout[0] == "0.105 × 3 = 0.315"
    assert state.labels["w0"].callout[0] == "0.105 × 2 = 0.21"


def test_a_value_that_fans_out_shows_each_contribution_and_their_sum():
    session = session_of("l1-mse")
    trace = session.trace
    first = min(trace.backward_index["pred"], trace.backward_index["abs_W"])
    session.go(first)
    assert cl.wire_labels(session, "W").total == ("Σ [1 1] + …", cl.SUM)
    session.go(session.backward_end)
    dpred = trace.contributions["pred"][1].reshape(-1)
    total = trace.grads["W"].reshape(-1)
    expected = f"Σ [{dpred[0]:g} {dpred[1]:g}] + [1 1] = [{total[0]:g} {total[1]:g}]"
    assert cl.wire_labels(session, "W").total == (expected, cl.SUM)


def test_check_marks_wait_for_their_step_unless_every_result_is_asked_for():
    session = session_of("sigmoid-chain", "reciprocal-sign", checked=True)
    session.go(session.forward_end)
    assert "f" not in cl.state(session, session.node_names).marks
    assert session.status_of("x") == "hidden"
    session.go(session.step_of("f", "backward"))
    state = cl.state(session, session.node_names)
    assert state.marks["f"] == ("✗", st.BLAME) and "f" in state.blamed
    assert session.status_of("x") == "hidden"  # x's gradient is not final yet
    session.show_all = True
    assert session.status_of("x") == "mismatch"


def test_a_blamed_gate_is_drawn_with_a_double_frame():
    session = session_of("sigmoid-chain", "reciprocal-sign", checked=True)
    session.go(session.step_of("f", "backward"))
    drawn = circuit_of(session)
    rows = overlays(drawn, cl.state(session, list(drawn.gates)))
    gate = drawn.gates["f"]
    framed = [text for x, text, style in rows[gate.top] if style == st.BLAME and x == gate.x0]
    assert framed and framed[0].startswith("╔") and framed[0].endswith("╗")


@sync
async def test_the_circuit_view_follows_the_step_and_going_back_hides_again():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("g")
        circuit = app.debugger.query_one(CircuitView)
        assert circuit.display and (app.model.view == "circuit")
        await pilot.press("]", "n")  # the first backward step: f sends dL/de
        slot = circuit.layout_.slots["e"]
        below = "".join(text for x, text, _ in circuit.rows.get(slot.y + 1, ()) if x == slot.x0)
        assert below == "-0.7758"
        await pilot.press("p")
        below = "".join(text for x, text, _ in circuit.rows.get(slot.y + 1, ()) if x == slot.x0)
        assert below == "·"
        await pilot.press("end")
        region = circuit.scrollable_content_region
        assert circuit.scroll_x <= circuit.layout_.gates["a"].x0 < circuit.scroll_x + region.width
        await pilot.press("g")
        assert not circuit.display


@sync
async def test_digits_and_spoilers_change_every_view_and_the_palette_sets_digits():
    from tui_backprop.app.commands import BackpropCommands
    from tui_backprop.app.look import digits as display

    app = make_app("sigmoid-chain", "reciprocal-sign")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("end")
        assert "dL/da = 0.1050" not in inspector_text(app)  # the bug changes dL/da
        await pilot.press("greater_than_sign", "greater_than_sign")
        assert display.digits() == 6 and "6dig" in str(app.debugger.query_one("#status").render())
        assert "f=0.880797" in str(app.debugger.query_one("#status").render())
        provider = BackpropCommands(app.screen)
        await provider.startup()
        hits = [hit async for hit in provider.search("digits 12")]
        hits[0].command()
        await pilot.pause()
        assert display.digits() == 12
        await pilot.press("home")
        rows = {state.name: state.status for state in app.model.session.rows()}
        assert rows["x"] == "hidden" and rows["f"] == "hidden"
        await pilot.press("A")
        rows = {state.name: state.status for state in app.model.session.rows()}
        assert rows["x"] == "mismatch" and rows["f"] == "blame"
    assert display.digits() == display.DIGITS  # the next app starts from the default


def inspector_text(app) -> str:
    from tui_backprop.app.inspector.text_view import TextView

    return app.debugger.query_one("#inspector", TextView).plain


@sync
async def test_presenter_mode_steps_and_returns():
    from tui_backprop.app.presenter.screen import PresenterCard, PresenterScreen

    app = make_app("sigmoid-chain")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("end", "P")
        assert isinstance(app.screen, PresenterScreen)
        card = app.screen.query_one(PresenterCard)
        local = card.plain
        assert "dL/dx = dL/da · ∂a/∂x = 0.105 · 3 = 0.3150" in local
        assert [number.digits for number in card.card.sent] == ["0.3150", "0.2100"]
        await pilot.press("p")
        await pilot.pause()
        assert "∂b/∂w1 = 1" in card.plain
        await pilot.press("escape")
        assert not isinstance(app.screen, PresenterScreen)


def test_h_nudges_even_when_the_circuit_has_the_focus():
    """`h` is Nudge everywhere: the circuit scrolls sideways with shift+arrows, never with `h`."""
    from tui_backprop.app.circuit.view import CircuitView

    assert not any("h" in b.key.split(",") for b in CircuitView.BINDINGS)


@sync
async def test_presenter_mode_in_quiz_mode_asks_before_it_shows_and_n_never_skips_the_question():
    from tui_backprop.app.presenter.screen import PresenterCard

    app = make_app("sigmoid-chain", quiz=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.stepper.go(app.model.session.backward_end)  # a = x · w0 sends dL/dx = 0.105 · 3
        app.model.set_presenting(True)
        await pilot.pause()
        card = app.screen.query_one(PresenterCard)
        assert "f sends e" not in card.plain  # not the debugger's next question: this step's own
        assert "a sends x: ?" in card.plain and "0.315" not in card.plain
        assert [number.digits for number in card.card.sent] == ["?", "?"]
        step = app.model.session.step
        await pilot.press("n")  # shows the answer; the step stays
        await pilot.pause()
        assert app.model.session.step == step and "0.105 · 3 = 0.315" in card.plain
        await pilot.press("p", "n")  # back, then forward again: already answered, shown at once
        await pilot.pause()
        assert app.model.session.step == step and "0.105 · 3 = 0.315" in card.plain
        app.stepper.go(0)
        await pilot.pause()
        assert "a = 2 · 3 = ?" in card.plain and card.card.main[0].digits == "?"
