"""The circuit never draws over itself: every built-in scenario, every step, in the drawing and on screen.

What a step writes (labels, callouts, marks, the lit wires) goes into label slots, callout places
and gates only: never onto a wire, never over another label or callout (README: "Teaching with
it"). Checked on the drawing itself for every step (with every check result shown, so every mark
and every wrong element is drawn), then on the screen at 120x40 and 80x24, where the current gate,
the wires it moves numbers along and its callouts must be in view.
"""

from __future__ import annotations

import pytest
from app_support import settle, sync
from session_support import session_of

from tui_backprop.app import engine as door
from tui_backprop.app.app import make_app
from tui_backprop.app.circuit import labels as cl
from tui_backprop.app.circuit.layout import Layout, layout
from tui_backprop.app.circuit.paint import overlays
from tui_backprop.app.circuit.view import CircuitView, neighbourhood

BUILT_INS = ["sigmoid-chain", "l1-mse", "two-layer-net", "softmax", "deep-mlp", "digits"]
WHOLE = ("sigmoid-chain", "softmax")
"""The scalar lectures: a gate, its inputs and its callouts are in view at 80x24 as at 120x40."""
BUGGED = [("two-layer-net", "matmul-grad-transposed"), ("sigmoid-chain", "reciprocal-sign")]


def painted(drawn: Layout, state: cl.CircuitState) -> tuple[dict[tuple[int, int], str], list[str]]:
    """Every cell a step writes and its last character, and where two different characters went
    into one cell (allowed in a gate only: its mark goes over its restyled border)."""
    cells: dict[tuple[int, int], str] = {}
    clashes = []
    for y, items in overlays(drawn, state).items():
        for x, text, _ in items:
            for k, ch in enumerate(text):
                seen = cells.setdefault((x + k, y), ch)
                if seen != ch:
                    if not in_a_gate(drawn, x + k, y):
                        clashes.append(f"({x + k}, {y}) written twice: {seen!r} and {ch!r}")
                    cells[(x + k, y)] = ch
    return cells, clashes


def in_a_gate(drawn: Layout, x: int, y: int) -> bool:
    return any(g.x0 <= x < g.x1 and g.top <= y <= g.bottom for g in drawn.gates.values())


def problems(drawn: Layout, state: cl.CircuitState) -> list[str]:
    """Characters a step writes over a wire, outside the drawing, or cut short."""
    cells, found = painted(drawn, state)
    for (x, y), ch in cells.items():
        if not (0 <= y < drawn.height and 0 <= x < drawn.width):
            found.append(f"{ch!r} at ({x}, {y}) outside the drawing")
            continue
        under = drawn.rows[y][x]
        if ch == under:
            continue  # a wire or gate restyled (lit, current, framed)
        if (x, y) in drawn.wires:
            found.append(f"{ch!r} over the wire {under!r} at ({x}, {y})")
        elif under != " " and not in_a_gate(drawn, x, y):
            found.append(f"{ch!r} over {under!r} at ({x}, {y})")
    for name, labels in state.labels.items():
        slot = drawn.slots.get(name)
        if slot is not None:
            for row in labels.above.rows + labels.below.rows:
                if len(row) > slot.width:
                    found.append(f"{name}'s label {row!r} cut to {slot.width}")
    missing = [key for key in state.callouts if key not in drawn.callouts]
    return found + [f"callout {key} has no place" for key in missing]


@pytest.mark.parametrize("flat", [False, True], ids=["120x40", "80x24"])
@pytest.mark.parametrize(("slug", "bug"), [(s, None) for s in BUILT_INS] + BUGGED)
def test_nothing_a_step_writes_lands_on_a_wire_or_on_anything_else(slug, bug, flat):
    """Every step (forward, backward, each parameter's update), with the followed element's path
    picked out, in the drawing of a tall terminal and of a short one (every label on one row)."""
    session = session_of(slug, bug, True)
    session.show_all = True  # every mark, every wrong element drawn
    trace = session.trace
    session.params = tuple(n.name for n in door.parameters(trace.graph, trace.output))  # as the app's
    plan = cl.plan(session, flat)
    drawn = layout(plan.specs)
    steps = [(step, None) for step in range(session.n_steps)]
    steps += [(session.n_steps - 1, k) for k in range(len(session.params))]
    for step, update in steps:
        session.go(step)
        session.update = update
        name = session.node_name
        path = door.element_path(
            session.trace, door.Element(name, tuple(0 for _ in session.trace.values[name].shape))
        )
        state = cl.state(session, plan, list(drawn.gates), path=path)
        assert not problems(drawn, state), (step, update, problems(drawn, state)[:5])
        if update is None and step + 1 < session.n_steps:  # the quiz's ? as well
            node = session.trace.graph[session.trace.steps[step + 1].node]
            if node.inputs:
                hidden = cl.hide(state, session, node.inputs[0].name, "callout")
                assert not problems(drawn, hidden), (step, "quiz")
    assert session.params or slug == "softmax"  # its x is an input: nothing to update


def test_the_check_catches_a_label_written_over_a_wire():
    """The test above fails on a planted overlap (a test that cannot fail proves nothing)."""
    session = session_of("sigmoid-chain", None, True)
    plan = cl.plan(session)
    drawn = layout(plan.specs)
    session.go(session.step_of("a", "backward"))
    state = cl.state(session, plan, list(drawn.gates))
    x, y = next(iter(sorted(drawn.inputs["a"][0])))
    drawn.callouts[("x", "back:a")] = (x - 2, y)
    assert any("over the wire" in p or "written twice" in p for p in problems(drawn, state))


def on_screen(circuit: CircuitView) -> tuple[list[str], int, int]:
    """The circuit's visible rows as text, and where the view is scrolled to."""
    region = circuit.scrollable_content_region
    lines = [circuit.render_line(y).text for y in range(region.height)]
    return lines, int(circuit.scroll_x), int(circuit.scroll_y)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
@pytest.mark.parametrize("slug", BUILT_INS)
@sync
async def test_on_screen_every_step_keeps_its_gate_inputs_and_callouts_in_view_and_off_the_wires(slug, size):
    app = make_app(slug)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press("g")
        circuit = app.debugger.query_one(CircuitView)
        session = app.model.session
        for step in range(session.n_steps):
            if step:
                await pilot.press("n")
            await pilot.pause()
            assert session.step == step
            drawn = circuit.layout_
            lines, sx, sy = on_screen(circuit)
            width = circuit.scrollable_content_region.width
            for row, line in enumerate(lines):
                y = sy + row
                if y >= drawn.height:
                    break
                for col, ch in enumerate(line[:width]):
                    x = sx + col
                    if (x, y) in drawn.wires and x < drawn.width:
                        assert ch == drawn.rows[y][x], (step, x, y, ch, line)
            window = circuit.scrollable_content_region.at_offset(circuit.scroll_offset)
            state = cl.state(session, circuit.plan, list(drawn.gates), app.model.focus())
            regions = neighbourhood(drawn, state)
            fits = [r.width <= window.width and r.height <= window.height for r in regions]
            wanted = regions[fits.index(True)]
            assert wanted in window, (step, wanted, window)
            assert any(fits[:4]), (step, "the gate's callouts out of view")
            if slug in WHOLE or (size == (120, 40) and slug in ("l1-mse", "two-layer-net")):
                assert any(fits[:2]), (step, "its inputs' wires out of view")
