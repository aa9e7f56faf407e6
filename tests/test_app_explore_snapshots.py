"""The step-size explorer and quiz mode as SVG snapshots at 120x40 and 80x24.

The explorer is drawn for l1-mse, whose ops downstream of W are exact IEEE arithmetic (no exp or
log whose last bits vary by CPU), with W[0, 0] edited to 0.003 so that the large eps cross the
corner of |W|: the kink marks are part of the picture.
"""

from __future__ import annotations

import pytest
from app_support import settle

from tui_backprop.app.app import make_app

SIZES = [pytest.param((120, 40), id="120x40"), pytest.param((80, 24), id="80x24")]


@pytest.mark.parametrize("size", SIZES)
def test_step_size_explorer(snap_compare, size):
    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        assert app.editor.try_edit("W = [[0.003, 1.0]]") is None
        await settle(app, pilot)
        await pilot.press("end")  # dL/dW has arrived: the sweep may show how right it is
        app.stepper.peek("W")
        app.elements.choose("W", (0, 0))  # the element edited to 0.003
        await pilot.press("z")
        await settle(app, pilot)
        await pilot.pause()

    assert snap_compare(make_app("l1-mse"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_quiz_after_a_slip(snap_compare, size):
    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        # Forward steps only: the check's round-off-level digits stay off the screen.
        field = app.screen.query_one("#quiz-input")
        field.value = "-2"  # b = 6 + (-4): the sign slip
        await pilot.press("enter")
        await settle(app, pilot)

    assert snap_compare(make_app("sigmoid-chain", quiz=True), terminal_size=size, run_before=run_before)
