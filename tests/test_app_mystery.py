"""Mystery-bug mode in the app (README "Teaching with it"): no screen names or describes a bug until it
is revealed on purpose, and no view shows a gradient the step has not reached.

Every built-in scenario with bugs is opened with its last bug on, as ``backprop-tui SCENARIO --bug 2
--mystery`` would, and every screen a lecturer can reach is drawn and searched for every bug's name
and description: the stepping view at every step, the circuit and the presenter card, help, the bug
chooser, the palette, the picker, the tensor view, nudge, the step-size explorer, the quiz, the
settings and the save dialogs. ``BACKPROP_MYSTERY_EVERY_STEP=1`` draws the circuit and the card at
every step too (the suite draws them at every third).
"""

from __future__ import annotations

import os

import pytest
from app_support import screen_text, settle, sync

from tui_backprop.app.app import BackpropApp, make_app
from tui_backprop.core import scenarios

BUGGY = [s for s in scenarios.catalog() if s.bugs and s.kind == "builtin"]
EVERY = 1 if os.environ.get("BACKPROP_MYSTERY_EVERY_STEP") else 3


def secrets(scenario) -> list[str]:
    """What must not be on screen: every bug's name and description (whitespace aside)."""
    return [squeeze(text) for name, description in scenario.bugs.items() for text in (name, description)]


def squeeze(text: str) -> str:
    """Text with every space and line break gone, so a description wrapped over lines is still found."""
    return "".join(text.split())


class Watch:
    """Draws what the app shows and fails on the first secret found, naming the screen."""

    def __init__(self, app: BackpropApp, scenario) -> None:
        self.app = app
        self.secrets = secrets(scenario)
        self.screens = 0

    def look(self, where: str) -> str:
        text = screen_text(self.app)
        flat = squeeze(text)
        for secret in self.secrets:
            assert secret not in flat, f"{where}: the screen shows {secret!r}:\n{text}"
        self.screens += 1
        return text


@pytest.mark.parametrize("scenario", BUGGY, ids=lambda s: s.slug)
@sync
async def test_no_screen_names_or_describes_the_bug_in_mystery_mode(scenario):
    number = len(scenario.bugs)
    app = make_app(scenario.slug, str(number), mystery=True)  # --bug 2: even the command says nothing
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        session = app.model.session
        assert session is not None and session.bug == list(scenario.bugs)[-1]
        watch = Watch(app, scenario)
        assert f"bug {number}" in watch.look("status line")
        for step in range(session.n_steps):
            app.stepper.go(step)
            await pilot.pause()
            watch.look(f"step {step + 1}")
            if step % EVERY == 0 or step == session.n_steps - 1:
                await pilot.press("g")
                watch.look(f"circuit, step {step + 1}")
                await pilot.press("g", "P")
                watch.look(f"presenter, step {step + 1}")
                await pilot.press("escape")
        for k in range(len(session.params)):  # the update phase: n past the backward pass
            await pilot.press("n")
            await settle(app, pilot)
            assert app.model.session.update == k
            watch.look(f"update {k + 1}")
            await pilot.press("P")
            watch.look(f"presenter, update {k + 1}")
            await pilot.press("escape")
        app.stepper.go(session.n_steps - 1)
        await dialogs(app, pilot, watch)


async def dialogs(app: BackpropApp, pilot, watch: Watch) -> None:
    """Every dialog and overlay, at the end of the backward pass (every result shown)."""
    for keys, where in [
        (["question_mark"], "help"),
        (["x"], "bug chooser"),
        (["ctrl+p", *"bug"], "palette"),
        (["v"], "tensor view"),
        (["e"], "settings"),
        (["ctrl+s"], "save lesson"),
        (["M"], "save handout"),
        (["f"], "follow an element"),
        (["h"], "nudge"),
        (["z"], "step-size explorer"),
        (["o"], "picker"),
    ]:
        await pilot.press(*keys)
        await settle(app, pilot)
        await pilot.pause()
        watch.look(where)
        await pilot.press("escape")
        await settle(app, pilot)
        if where == "nudge":
            await pilot.press("u")
            await settle(app, pilot)
    await pilot.press("a")  # the quiz bar, asking and grading
    app.stepper.go(app.model.session.forward_end)
    await pilot.pause()
    watch.look("quiz")
    await pilot.press(*"42", "enter")
    await settle(app, pilot)
    watch.look("quiz, graded")


@sync
async def test_the_bug_is_revealed_on_purpose_only():
    app = make_app("sigmoid-chain", "1", mystery=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        watch = Watch(app, scenarios.load("sigmoid-chain"))
        await pilot.press("X")  # asks first: a stray shift (or caps lock) reveals nothing
        assert "Reveal the bug?" in watch.look("the question")
        await pilot.press("n")
        watch.look("after no")
        await pilot.press("X", "y")
        await pilot.pause()
        assert app.model.revealed
        shown = screen_text(app)
        assert "bug reciprocal-sign" in shown
        await pilot.press("x")
        assert "the backward drops the minus sign" in screen_text(app)
        await pilot.press("escape")
        app.loader.set_bug("exp-uses-input")  # another bug: a mystery again
        await settle(app, pilot)
        assert app.model.secret and "bug 2" in watch.look("another bug")


@sync
async def test_showing_every_check_result_asks_first():
    """``A`` (caps lock turns the quiz's ``a`` into it) shows no answer before it is confirmed."""
    app = make_app("sigmoid-chain", "reciprocal-sign")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("A")
        assert not app.model.show_all and "Show every check result now?" in screen_text(app)
        await pilot.press("n")
        assert not app.model.show_all and "mismatch" not in screen_text(app)
        await pilot.press("A", "y")
        await pilot.pause()
        assert app.model.show_all and "mismatch" in screen_text(app)
        await pilot.press("A")  # hiding them again needs no question
        assert not app.model.show_all


@sync
async def test_a_mystery_lesson_opens_in_mystery_mode(tmp_path):
    lesson = tmp_path / "hunt.toml"
    lesson.write_text('scenario = "two-layer-net"\nbug = "2"\nmystery = true\n', encoding="utf-8")
    app = make_app(str(lesson))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.model.mystery and app.model.session.bug == "matmul-grad-transposed"
        watch = Watch(app, scenarios.load("two-layer-net"))
        assert "bug 2" in watch.look("a mystery lesson")
