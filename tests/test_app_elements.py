"""The element cursor (README "Teaching with it"): one element of a tensor, chosen by keys, a click or
typed, followed by every view: the chain rule, the numeric probe, nudge, the step-size explorer and
the quiz; kept per tensor while stepping and across re-runs."""

from __future__ import annotations

import math

import numpy as np
from app_support import settle, sync
from test_app_explore import inspector, shown, type_into
from test_app_model import Services
from textual.widgets import Input

from tui_backprop.app.app import make_app
from tui_backprop.app.explore.screens import FollowScreen, NudgeScreen, StepSizeScreen
from tui_backprop.app.inspector.tensor_screen import GridView, TensorScreen, to_cell, to_index
from tui_backprop.app.model.elements import Elements
from tui_backprop.app.model.model import Aspect


def test_grid_cells_and_tensor_elements_map_both_ways():
    for shape in [(), (5,), (3, 1), (2, 4), (2, 3, 4)]:
        size = math.prod(shape)
        cells = set()
        for flat in range(size):
            index = tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()
            cell = to_cell(index, shape)
            assert to_index(*cell, shape) == index
            cells.add(cell)
        assert len(cells) == size


@sync
async def test_the_followed_element_is_chosen_moved_typed_and_forgotten():
    s = Services()
    await s.open("two-layer-net")
    elements = Elements(s.model)
    s.stepper.peek("W1")
    assert s.model.element("W1") == (1, 0)  # by default: the largest final gradient
    s.changes.clear()
    elements.move(-1, 1)
    assert s.model.chosen == {"W1": (0, 1)} and s.changes == [Aspect.ELEMENT]
    elements.move(-5, 9)  # stops at the edges
    assert s.model.element("W1") == (0, 1)
    assert elements.follow("x[1, 0]") is None and s.model.element("x") == (1, 0)
    assert elements.follow("[1, 1]") is None and s.model.element("W1") == (1, 1)  # the tensor looked at
    assert "not an element" in (elements.follow("W1[2, 0]") or "")
    assert "no tensor named 'V9'" in (elements.follow("V9[0, 0]") or "")
    assert s.model.chosen == {"W1": (1, 1), "x": (1, 0)}  # a refusal changed nothing
    elements.move(0, 0)
    s.stepper.peek("b1")  # a column: left and right move along it too
    elements.move(0, 1)
    assert s.model.element("b1") == (1, 0)
    s.stepper.peek("y")
    elements.move(1, 0)
    assert s.notices[-1] == "y is one number: there is no other element to follow"
    assert elements.follow("W1") is None and s.model.element("W1") == (1, 0)  # the default again


@sync
async def test_the_choice_stays_while_stepping_and_across_a_rerun_and_a_bug_switch():
    s = Services()
    await s.open("two-layer-net")
    elements = Elements(s.model)
    assert elements.follow("W1[0, 1]") is None
    s.stepper.step(5)
    s.stepper.jump("backward_end")
    assert s.model.element("W1") == (0, 1)
    assert s.editor.try_edit("x[0, 0] = 0.5") is None
    assert s.model.element("W1") == (0, 1)
    s.loader.set_bug("matmul-grad-transposed")
    await s.settle()
    assert s.model.session.bug == "matmul-grad-transposed" and s.model.element("W1") == (0, 1)
    assert s.model.session.step == s.model.session.backward_end


@sync
async def test_the_cursor_follows_through_the_views():
    """Chosen in the tensor view (arrows, then a click), the element is the one the chain rule,
    the probe, nudge, the step-size explorer and the quiz all write out."""
    app = make_app("two-layer-net")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("end")  # the last backward step: z1 = W1·x + b1 sends dW1
        app.stepper.peek("W1")
        await pilot.press("v")
        assert isinstance(app.screen, TensorScreen)
        grid = app.screen.query_one(GridView)
        assert grid.cursor == (1, 0)  # the default, the largest gradient
        await pilot.press("up", "right")
        assert app.model.chosen == {"W1": (0, 1)} and grid.cursor == (0, 1)
        await pilot.click(GridView, offset=(7 + 12 * 0 + 5, 2))  # row [1], column [:, 0]
        assert app.model.chosen == {"W1": (1, 0)}
        assert "◆ W1[1, 0]" in str(app.screen.query_one("#tensor-title").render())
        await pilot.press("escape")

        text = inspector(app)  # peeking at W1: its own line and the probe of dL/dW1[1, 0]
        assert "◆ W1[1, 0] = 0.732" in text
        assert "numeric dL/dW1[1, 0]: F = loss, W1[1, 0] = 0.732" in text
        app.stepper.peek("z1")
        await pilot.pause()
        words = " ".join(inspector(app).split())  # a long line wraps in the panel
        assert "dL/dW1[1,0] = dL/dz1[1,0] · ∂z1[1,0]/∂W1[1,0] = -0.1972 · 0.7081 = -0.1396" in words

        app.stepper.peek("W1")
        await pilot.press("h")
        await settle(app, pilot)
        assert isinstance(app.screen, NudgeScreen)
        assert shown(app, "#nudge-lesson").startswith("W1[1, 0] += 0.001 → loss:")
        await pilot.press("escape", "u")
        await settle(app, pilot)

        app.stepper.peek("W1")
        await pilot.press("z")
        await settle(app, pilot)
        await pilot.pause()
        assert isinstance(app.screen, StepSizeScreen)
        assert "relative error of dL/dW1[1, 0]" in shown(app, "#eps-plot")
        await pilot.press("escape")

        await pilot.press("f")  # typed: W1[0, 1] in every view
        assert isinstance(app.screen, FollowScreen)
        assert app.screen.query_one("#prompt-input", Input).value == "W1[1, 0]"
        await type_into(pilot, app, "#prompt-input", "W1[0, 1]")
        assert app.model.chosen == {"W1": (0, 1)}
        app.stepper.go(app.model.session.backward_end - 1)  # the quiz asks about the element followed
        asked = app.quiz.question()
        assert asked is not None and asked.label == "dL/dW1[0, 1] from z1"


@sync
async def test_the_inspector_underlines_the_followed_element_in_its_grids():
    from rich.text import Text

    from tui_backprop.app.inspector.text import inspector as inspector_text
    from tui_backprop.app.look.numbers import FOLLOWED

    s = Services()
    await s.open("two-layer-net")
    Elements(s.model).follow("W1[0, 1]")
    session = s.model.session
    session.go(session.backward_end)
    text: Text = inspector_text(session, "W1", 100, s.model.focus())
    underlined = {text.plain[span.start : span.end].strip() for span in text.spans if span.style == FOLLOWED}
    value = f"{session.trace.values['W1'][0, 1]:.4f}"
    assert value in underlined
