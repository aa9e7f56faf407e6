"""Following one number, the update step, training and mystery-bug mode, as SVG snapshots at 120x40 and
80x24 (README "Teaching with it").

Portable: no check result below the digits setting is on these screens (cards, forward steps, a
dialog), no timing, no paths. Regenerate after a deliberate change with ``pytest
tests/test_follow_snapshots.py --snapshot-update`` and look at every SVG before committing it.
"""

from __future__ import annotations

import pytest
from app_support import settle
from test_app_snapshots import SIZES, keys_then_settle

from tui_backprop.app.app import make_app


@pytest.mark.parametrize("size", SIZES)
def test_the_element_cursor_on_w1_1_0_with_its_derivation(snap_compare, size):
    """two-layer-net's z1 = W1·x + b1 at its backward step on the card: W1[1, 0]'s chain rule, summed
    over the outputs it feeds, and z1[1, 0]'s path."""

    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        await pilot.press("end")
        assert app.elements.follow("W1[1, 0]") is None
        assert app.elements.follow("z1[1, 0]") is None
        await pilot.press("P")
        await settle(app, pilot)

    assert snap_compare(make_app("two-layer-net"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_the_update_step_on_the_card(snap_compare, size):
    """Past the sigmoid chain's backward pass: w0 ← w0 - lr · dL/dw0 with its numbers and the
    first-order prediction of the loss's change."""
    app = make_app("sigmoid-chain")
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(("end", "n"), ("P",)))


@pytest.mark.parametrize("size", SIZES)
def test_the_training_curve_of_the_digits(snap_compare, size):
    """Thirty iterations of the digits MLP, shown where the last one's forward pass reaches the loss:
    the loss curve, the accuracy, and the loss's change beside its prediction."""

    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        await pilot.press("T", "ctrl+u", *"30", "enter")
        await settle(app, pilot)
        session = app.model.session
        app.stepper.go(session.step_of(session.trace.output.name, "forward"))
        await settle(app, pilot)

    assert snap_compare(make_app("digits"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_mystery_bug_mode(snap_compare, size):
    """``two-layer-net --bug 2 --mystery``: the status line and the bug chooser say "bug 2" and
    nothing more."""
    app = make_app("two-layer-net", "2", mystery=True)
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(("x",)))
