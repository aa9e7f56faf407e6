"""The circuit view: its layout (pure), what each step writes on the wires, and the widget in the app."""

from __future__ import annotations

import pytest
from app_support import settle, sync
from session_support import session_of as checked_session

from tui_backprop.app import engine as door
from tui_backprop.app.app import make_app
from tui_backprop.app.circuit import labels as cl
from tui_backprop.app.circuit.layering import NodeSpec
from tui_backprop.app.circuit.layout import layout
from tui_backprop.app.circuit.paint import overlays
from tui_backprop.app.circuit.view import CircuitView
from tui_backprop.app.look import styles as st
from tui_backprop.app.model.session import Session

BUILT_INS = ["sigmoid-chain", "l1-mse", "two-layer-net", "softmax", "deep-mlp", "digits"]


def session_of(slug: str, bug: str | None = None, checked: bool = False) -> Session:
    """Unchecked unless asked: most circuit tests are about what a step reveals before any check."""
    return checked_session(slug, bug, checked)


def circuit_of(session: Session):
    return layout(cl.plan(session).specs)


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
        for port, cells in zip(gate.ports, wires, strict=True):
            assert (gate.x0, port) in cells  # each wire enters the gate's left border on its own row
            assert drawn.rows[port][gate.x0] == "┤"


@pytest.mark.parametrize("slug", ["sigmoid-chain", "softmax"])
def test_the_scalar_lectures_fit_120_columns_whole(slug):
    drawn = circuit_of(session_of(slug))
    assert drawn.width < 120 and drawn.height <= 12  # a column for the scrollbar


def test_each_input_enters_its_gate_in_the_order_of_the_formula_on_its_own_wire():
    drawn = circuit_of(session_of("two-layer-net"))
    gate = drawn.gates["z1"]  # z1 = W1 @ x + b1
    assert list(gate.ports) == sorted(gate.ports) and len(set(gate.ports)) == 3
    for port, cells in zip(gate.ports, drawn.inputs["z1"], strict=True):
        x, y = cells[-1]
        assert (x, y) == (gate.x0, port) and drawn.rows[port][gate.x0 - 1] == "─"  # straight in
    others = [set(c) for c in drawn.inputs["z1"]]
    assert not (others[0] & others[1]) and not (others[1] & others[2])  # no wire merges into another


def test_a_wire_that_skips_a_layer_passes_through_it():
    specs = [
        NodeSpec("x", (), False, width=3),
        NodeSpec("a", ("x",), True, "exp", width=3),
        NodeSpec("b", ("a",), True, "log", width=3),
        NodeSpec("c", ("b", "x"), True, "+", width=3),
    ]
    drawn = layout(specs)
    cells = drawn.inputs["c"][1]  # x → c crosses the layers of a and b
    xs = sorted({x for x, _ in cells})
    assert xs[0] < drawn.gates["a"].x0 and xs[-1] >= drawn.gates["c"].x0 - 1
    assert len(xs) == xs[-1] - xs[0] + 1  # one unbroken run of wire


def test_two_wires_that_cross_are_drawn_crossing_and_one_that_turns_is_not():
    from tui_backprop.app.circuit.canvas import Canvas

    canvas = Canvas()
    canvas.line("a", 0, 1, 4, 1)  # straight through (2, 1)
    canvas.line("b", 2, 0, 2, 2)
    canvas.line("c", 0, 3, 2, 3)  # turns down at (2, 3), over another net's vertical wire
    canvas.line("c", 2, 3, 2, 4)
    canvas.line("d", 2, 2, 2, 5)
    rows = canvas.render(5, 6)
    assert rows[1] == "──┼──"
    assert rows[3][2] == "─" and rows[0][2] == rows[5][2] == "│"


def labels_at(session: Session, step: int, name: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """(value text, style), (gradient text, style) of a wire of one row each."""
    session.go(step)
    labels = cl.wire_labels(session, cl.plan(session), name)
    return ("\n".join(labels.above.rows), labels.above.style), (
        "\n".join(labels.below.rows),
        labels.below.style,
    )


def state_at(session: Session, step: int) -> cl.CircuitState:
    session.go(step)
    return cl.state(session, cl.plan(session), session.node_names)


def test_values_and_gradients_appear_at_their_steps_and_hide_again_going_back():
    session = session_of("sigmoid-chain")
    forward_d = session.step_of("d", "forward")
    backward_d = session.step_of("d", "backward")  # d sends dL/dc = -0.105 to c
    assert labels_at(session, forward_d - 1, "d")[0] == ("·", cl.PENDING)
    assert labels_at(session, forward_d, "d")[0] == ("0.1353", cl.VALUE)
    assert labels_at(session, backward_d - 1, "c")[1] == ("·", cl.PENDING)
    assert labels_at(session, backward_d, "c")[1] == ("-0.105", cl.GRAD)
    assert labels_at(session, backward_d - 1, "c")[1] == ("·", cl.PENDING)  # stepping back hides it
    assert labels_at(session, forward_d - 1, "d")[0] == ("·", cl.PENDING)


def test_the_wire_being_computed_shows_the_chain_rule_product():
    session = session_of("sigmoid-chain")
    state = state_at(session, session.step_of("c", "backward"))  # c = -1 · b sends -0.105 · -1 to b
    assert state.callouts == {("b", "back:c"): ("-0.105 × (-1) = 0.105", cl.CALLOUT)}
    state = state_at(session, session.step_of("a", "backward"))
    assert state.callouts[("x", "back:a")][0] == "0.105 × 3 = 0.315"
    assert state.callouts[("w0", "back:a")][0] == "0.105 × 2 = 0.21"
    state = state_at(session, session.step_of("a", "forward"))
    assert state.callouts == {("a", "forward"): ("2 · 3 = 6", cl.CALLOUT)}


def test_a_value_that_fans_out_shows_each_contribution_and_their_sum():
    session = session_of("l1-mse")
    trace = session.trace
    first = min(trace.backward_index["pred"], trace.backward_index["abs_W"])
    assert state_at(session, first).callouts[("W", "sum")] == ("Σ [1 1] + …", cl.SUM)
    assert labels_at(session, first, "W")[1] == ("[1 1]…", cl.PENDING)  # a partial sum so far
    dpred = trace.contributions["pred"][1].reshape(-1)
    total = trace.grads["W"].reshape(-1)
    expected = f"Σ [{dpred[0]:g} {dpred[1]:g}] + [1 1] = [{total[0]:g} {total[1]:g}]"
    assert state_at(session, session.backward_end).callouts[("W", "sum")] == (expected, cl.SUM)


def test_tensors_are_written_as_numbers_and_a_wrong_gradient_marks_its_wrong_elements():
    session = session_of("two-layer-net", "matmul-grad-transposed", checked=True)
    plan = cl.plan(session)
    session.go(session.backward_end)
    labels = cl.wire_labels(session, plan, "W1")
    assert len(labels.above.rows) == 2 and labels.above.rows[0].startswith("⎡")  # a 2×2 block
    assert [row.count("!") for row in labels.below.rows] == [1, 1]  # the transposed rule's off-diagonal
    wrong = {labels.below.rows[r][a:b] for r, a, b, style in labels.below.elements if style == cl.WRONG}
    assert wrong == {"-0.1396!", "-0.0002722!"}
    right = cl.wire_labels(session_of("two-layer-net", checked=True), plan, "W1")
    assert "!" not in "".join(right.below.rows) and right.below.rows != labels.below.rows
    assert cl.wire_labels(session, plan, "x").above.rows == ("[0.7081; 0.02058]",)  # a column, inline


def test_the_followed_element_s_path_is_picked_out_in_its_neighbours_labels():
    """z1[1, 0] of z1 = W1·x + b1 is computed from row 1 of W1, all of x and b1[1], and feeds
    a1[1]: those elements, value and gradient, and no others are drawn in the path's style (README
    "The element to follow"); the transposed rule sends along column 1 of W1 instead."""

    def on_path(state: cl.CircuitState, name: str) -> list[str]:
        labels = state.labels[name]
        return [
            label.rows[r][a:b]
            for label in (labels.above, labels.below)
            for r, a, b, style in label.elements
            if cl.PATH in style.split("+")
        ]

    for bug, w1 in [
        (None, ["0.732", "0.5987", "-0.1396", "-0.00406"]),
        ("matmul-grad-transposed", ["0.9507", "0.5987", "-0.1396!", "-0.00406"]),
    ]:
        session = checked_session("two-layer-net", bug)
        plan = cl.plan(session)
        session.go(session.step_of("z1", "backward"))
        path = door.element_path(session.trace, door.Element("z1", (1, 0)))
        state = cl.state(session, plan, [spec.name for spec in plan.specs], path=path)
        assert on_path(state, "W1") == w1, bug
        assert on_path(state, "x") == ["0.7081", "0.02058", "-0.1493", "-0.1306"]
        assert on_path(state, "b1") == ["0.156", "-0.1972"]
        assert on_path(state, "a1") == ["0.6866", "-0.1972"]
        assert on_path(state, "W2") == on_path(state, "z1") == []
        assert on_path(cl.state(session, plan, ["W1"]), "W1") == []  # no path, nothing picked out


def test_a_tensor_too_big_to_write_is_a_sparkline_and_the_followed_element():
    session = session_of("deep-mlp")
    plan = cl.plan(session)
    session.go(session.forward_end)
    trace = session.trace
    focus = door.Focus({"W1": (3, 7)})
    (text,) = cl.wire_labels(session, plan, "W1", focus).above.rows
    assert text.endswith(f"[3,7] {door.number(trace.values['W1'][3, 7], 4)}")
    assert set(text.split(" ")[0]) <= set("▁▂▃▄▅▆▇█")


def test_check_marks_wait_for_their_step_unless_every_result_is_asked_for():
    session = session_of("sigmoid-chain", "reciprocal-sign", checked=True)
    assert "f" not in state_at(session, session.forward_end).marks
    assert session.status_of("x") == "hidden"
    state = state_at(session, session.step_of("f", "backward"))
    assert state.marks["f"] == ("✗", st.BLAME) and "f" in state.blamed
    assert session.status_of("x") == "hidden"  # x's gradient is not final yet
    session.show_all = True
    assert session.status_of("x") == "mismatch"


def test_a_blamed_gate_is_drawn_with_a_double_frame():
    session = session_of("sigmoid-chain", "reciprocal-sign", checked=True)
    session.go(session.step_of("f", "backward"))
    drawn = circuit_of(session)
    rows = overlays(drawn, cl.state(session, cl.plan(session), list(drawn.gates)))
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
        assert "dL/da = 0.105\n" not in inspector_text(app)  # the bug changes dL/da
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
        await pilot.press("A", "y")  # asked first: a caps-locked a must not show the answers
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
        assert "dL/dx = dL/da · ∂a/∂x = 0.105 · 3 = 0.315" in local
        assert [number.digits for number in card.card.sent] == ["0.315", "0.21"]
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


def test_the_element_followed_is_underlined_in_its_tensors_picture():
    session = session_of("two-layer-net", "matmul-grad-transposed", checked=True)
    plan = cl.plan(session)
    session.go(session.backward_end)
    labels = cl.wire_labels(session, plan, "W1", door.Focus({"W1": (1, 0)}))
    below = labels.below
    underlined = [below.rows[r][a:b] for r, a, b, style in below.elements if cl.FOLLOWED in style.split("+")]
    assert underlined == ["-0.0002722!"]  # W1[1, 0]: wrong as well, so white on red and underlined
    assert [labels.above.rows[r][a:b] for r, a, b, _ in labels.above.elements] == ["0.732"]
