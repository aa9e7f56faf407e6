"""Crash classes found by fuzzing, each pinned by the keys (or the timing) that found it.

Keys are posted in bursts, with no pause between them, as a paste or a fast typist delivers them:
that is when a dialog gets a second Enter while it is closing, or the palette a PageUp before
its list was laid out.
"""

from __future__ import annotations

import pytest
from app_support import settle, sync
from textual import events
from textual.command import CommandList, CommandPalette
from textual.keys import _character_to_key

from tui_backprop.app.app import make_app
from tui_backprop.app.inspector.text import inspector
from tui_backprop.app.model.session import Session
from tui_backprop.check.gradcheck import CheckSettings, check
from tui_backprop.core import scenarios


def key(name: str) -> events.Key:
    if len(name) == 1:
        return events.Key(_character_to_key(name), name)
    return events.Key(name, None)


async def burst(app, pilot, *names: str) -> None:
    """Every key queued at once, then the app left to catch up."""
    for name in names:
        app.post_message(key(name))
    await settle(app, pilot)
    await pilot.pause()


def test_the_inspector_lays_out_every_node_at_every_width_down_to_nothing():
    scenario = scenarios.load("deep-mlp")
    trace = scenarios.trace_scenario(scenario)
    settings = CheckSettings.for_dtype("float64")
    session = Session(scenario, None, "float64", trace, settings, checks=dict(check(trace, settings).nodes))
    session.check_complete = True
    session.go(session.n_steps - 1)  # deepest nesting: every backward section is shown
    for node in trace.graph.nodes:
        for width in (0, 1, 10, 21, 30, 40):
            text = inspector(session, node.name, width)
            assert node.name in text.plain


@pytest.mark.parametrize("size", [(40, 12), (30, 8), (20, 5)])
@sync
async def test_a_narrow_terminal_steps_through_a_deep_graph(size):
    app = make_app("deep-mlp")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await burst(app, pilot, "end", *["p"] * 6, "tab", "down", "pagedown")
        assert app.is_running and app.model.session.step == app.model.session.n_steps - 7


@pytest.mark.parametrize(
    ("opener", "keys"),
    [
        ("x", ("enter", "enter")),
        ("x", ("enter", "escape")),
        ("x", ("escape", "escape", "escape")),
        ("e", ("enter", "enter")),
        ("e", ("enter", "escape")),
        ("o", ("enter", "enter", "enter")),
        ("o", ("enter", "escape")),
        ("v", ("escape", "v", "escape", "escape")),
        ("question_mark", ("escape", "question_mark", "escape", "escape")),
    ],
)
@sync
async def test_a_dialog_answers_once_however_fast_the_keys_come(opener, keys):
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press(opener)
        await settle(app, pilot)
        await burst(app, pilot, *keys)
        assert app.is_running
        assert app.screen is app.debugger or app.screen.id != "_default"


@sync
async def test_a_dialog_dismissed_twice_answers_its_caller_once():
    from tui_backprop.app.screens.choices import BugScreen

    app = make_app("sigmoid-chain")
    answers = []
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        dialog = BugScreen([("b", "b", "a bug")], None)
        app.push_screen(dialog, callback=answers.append)
        await pilot.pause()
        dialog.dismiss("b")
        dialog.dismiss(None)  # a second key's answer, arriving while the first closes it
        await pilot.pause()
        assert answers == ["b"] and app.screen is app.debugger


@sync
async def test_answers_that_arrive_after_the_app_began_to_exit_are_dropped():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        node_check = next(iter(app.model.session.checks.values()))
        checker = app.loader.checker
        app.exit()
        checker.record(checker.generation, node_check)
        checker.finish(checker.generation, "late")
        app.loader.fail(RuntimeError("late"))
    # The app has closed and its screen stack is empty: late answers still do nothing.
    assert not app.screen_stack
    checker.finish(checker.generation, "late")
    app.loader.fail(RuntimeError("late"))
    assert app.model.session.check_error is None and app.model.failure is None


@sync
async def test_the_palette_shows_each_command_s_keys():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        commands = palette.query_one(CommandList)
        while not commands.option_count:
            await pilot.pause()
        shown = "\n".join(str(commands.get_option_at_index(i).prompt) for i in range(commands.option_count))
        for keys in ("[v]", "[x]", "[Space]", "[n  s  →  F10  F11]"):
            assert keys in shown


@pytest.mark.parametrize(
    "keys",
    [("ctrl+p", "pageup"), ("ctrl+p", "pagedown"), ("escape", "ctrl+p", "ctrl+p", "n")],
    ids=["pageup", "pagedown", "escape-reopen-type"],
)
@sync
async def test_textual_s_palette_survives_bursts_that_crash_it_upstream(keys):
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await burst(app, pilot, *keys)
        for _ in range(3):
            await pilot.pause()
        assert app.is_running


@sync
async def test_bookmarks_past_the_end_of_a_new_trace_are_dropped_before_a_handout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app("deep-mlp")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("end", "m")
        await settle(app, pilot)
        await burst(app, pilot, "enter")  # the bookmark's note: none
        assert [b.step for b in app.model.bookmarks] == [app.model.session.n_steps - 1]
        app.loader.open("sigmoid-chain")  # far fewer steps
        await settle(app, pilot)
        assert all(b.step < app.model.session.n_steps for b in app.model.bookmarks)
        assert app.lessons.save_handout("handout.md") is None
        assert (tmp_path / "handout.md").exists()


@pytest.mark.parametrize("opener", ["x", "e", "o", "question_mark", "ctrl+s", "i"])
@sync
async def test_keys_after_quit_open_nothing_on_the_closing_app(opener):
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        for name in ("q", opener, "enter"):  # nothing unsaved: q quits, and the burst goes on
            app.post_message(key(name))
        await pilot.pause()
    assert app.return_code == 0
