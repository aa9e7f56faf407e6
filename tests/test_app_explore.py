"""Explore it live, driven by keys: edit, undo, nudge, the step-size explorer, quiz mode, bookmarks
and lessons (README "Explore it live" and "Lesson files")."""

from __future__ import annotations

from pathlib import Path

from app_support import settle, sync
from textual.widgets import Input, Static

from tui_backprop.app.app import BackpropApp, make_app
from tui_backprop.app.explore.quiz_bar import QuizBar
from tui_backprop.app.explore.screens import EditScreen, NudgeScreen, StepSizeScreen
from tui_backprop.app.inspector.text_view import TextView
from tui_backprop.app.screens.error import ErrorScreen


def status(app: BackpropApp) -> str:
    return str(app.debugger.query_one("#status").render())


def inspector(app: BackpropApp) -> str:
    return app.debugger.query_one(TextView).plain


async def type_into(pilot, app: BackpropApp, selector: str, text: str) -> None:
    """Type into an input (its value set at once: pressing key by key is slow) and press Enter."""
    field = app.screen.query_one(selector, Input)
    field.focus()
    field.value = text
    await pilot.press("enter")
    await settle(app, pilot)


def shown(app: BackpropApp, selector: str) -> str:
    widget = app.screen.query_one(selector, Static)
    return str(widget.render())


@sync
async def test_edit_a_value_reruns_on_the_same_step_and_undo_returns_it():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("n", "n")  # forward step 3: c = -1 · b
        await pilot.press("i")
        assert isinstance(app.screen, EditScreen)
        assert app.screen.query_one("#prompt-input", Input).value == "x = 2.0"
        await type_into(pilot, app, "#prompt-input", "x = 1/2")
        assert not isinstance(app.screen, EditScreen)
        assert app.model.session.step == 2 and float(app.model.session.trace.values["a"]) == 1.5
        assert "values differ from the file: x" in status(app)
        assert "c = -1 · (-2.5) = 2.5" in inspector(app)
        await pilot.press("u")
        await settle(app, pilot)
        assert float(app.model.session.trace.values["x"]) == 2.0 and app.model.session.step == 2
        assert "values differ" not in status(app)


@sync
async def test_refused_edits_say_why_and_change_nothing():
    app = make_app("two-layer-net")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        before = app.model.session.trace
        await pilot.press("i")
        for text, why in [
            ("W1[0, 0] = two", "not the name 'two'"),
            ("W1 = [1, 2]", "shape [2] does not match the value's shape [2, 2]"),
            ("W1[0, 0] = 1e999", "finite"),
            ("W1[0, 0] = __import__('os')", "function call"),
            ("z1 = 1", "computed by an op"),
        ]:
            await type_into(pilot, app, "#prompt-input", text)
            assert isinstance(app.screen, EditScreen) and why in shown(app, "#prompt-error")
        assert app.model.session.trace is before
        await type_into(pilot, app, "#prompt-input", "W1 = [[1, 2], [3, 4]]")
        assert app.model.session.trace.values["W1"].tolist() == [[1, 2], [3, 4]]


@sync
async def test_an_edit_that_overflows_says_where_the_first_non_finite_value_is():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("i")
        await type_into(pilot, app, "#prompt-input", "x = -400")
        assert "! d (d = exp(c)) is inf" in status(app)
        await pilot.press("u")
        await settle(app, pilot)
        assert "is inf" not in status(app)


@sync
async def test_nudge_shows_the_lecture_line_and_marks_every_changed_value():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("end")  # every gradient reached: the nudge may show them all
        app.stepper.peek("x")  # as the list cursor does
        await pilot.press("h")
        await settle(app, pilot)
        assert isinstance(app.screen, NudgeScreen)
        lesson = shown(app, "#nudge-lesson")
        assert lesson == "x += 0.001 → f: 0.880797 → 0.881112, Δf/h = 0.3146 ≈ ∂f/∂x = 0.3150 ✓"
        table = shown(app, "#nudge-table")
        assert "● f     0.880797 → 0.881112" in table and "● x     2.000000 → 2.001000" in table
        await type_into(pilot, app, "#nudge-input", "w0 -= 0.01")
        assert shown(app, "#nudge-lesson").startswith("w0 -= 0.01 → f: 0.881112 → 0.879")
        await pilot.press("escape", "u", "u")
        await settle(app, pilot)
        assert (
            float(app.model.session.trace.values["x"]) == 2.0
            and float(app.model.session.trace.values["w0"]) == 3.0
        )


@sync
async def test_a_nudge_before_the_backward_pass_shows_no_gradient_not_reached_yet():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.stepper.peek("x")
        await pilot.press("h")
        await settle(app, pilot)
        lesson = shown(app, "#nudge-lesson")
        assert lesson.startswith("x += 0.001 → f: 0.880797 → 0.881112, Δf/h = 0.3146\n")
        assert "0.315" not in lesson and "not reached yet" in lesson
        table = shown(app, "#nudge-table").splitlines()
        x_row = next(row for row in table if row.lstrip("● ").startswith("x "))
        assert "2.000000 → 2.001000" in x_row and x_row.rstrip().endswith("·")  # no dL/dx yet
        assert not any("0.3149" in row or "0.3150" in row for row in table)


@sync
async def test_the_step_size_explorer_opens_for_the_current_node():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("z")  # forward: dL/da not reached yet, the sweep would spoil it
        await settle(app, pilot)
        assert not isinstance(app.screen, StepSizeScreen)
        await pilot.press("end")
        await pilot.press("z")
        await settle(app, pilot)
        await pilot.pause()
        assert isinstance(app.screen, StepSizeScreen)
        plot = shown(app, "#eps-plot")
        assert "relative error of dL/da" in plot and "1e-6" in plot and "float32" in plot
        await pilot.press("escape")
        assert not isinstance(app.screen, StepSizeScreen)


@sync
async def test_quiz_grades_right_wrong_slips_and_refuses_non_numbers():
    app = make_app("sigmoid-chain", quiz=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        bar = app.debugger.query_one(QuizBar)
        assert bar.display and "step 2 (forward): b = 6 + (-4) = ?" in shown(app, "#quiz-question")
        await type_into(pilot, app, "#quiz-input", "6 + -4")
        assert app.model.session.step == 1 and "✓ b = 2" in shown(app, "#quiz-question")
        await type_into(pilot, app, "#quiz-input", "b")
        assert "not graded: only numbers" in shown(app, "#quiz-question") and app.model.session.step == 1
        await type_into(pilot, app, "#quiz-input", "2")  # c = -1 · 2: the sign slip
        assert "✗ 2: expected c = -2; looks like: sign" in shown(app, "#quiz-question")
        assert "quiz 1/2 right" in status(app)
        app.stepper.go(10)  # a = x · w0 sends x: 0.105 · 3
        await settle(app, pilot)
        await type_into(pilot, app, "#quiz-input", "3")
        text = shown(app, "#quiz-question")
        assert "looks like: forgot the upstream gradient" in text
        assert "Rule: dL/dx += dL/da · ∂a/∂x = 0.105 · 3 = 0.315" in text
        await pilot.press("escape")
        await pilot.press("a")
        assert not bar.display


@sync
async def test_bookmarks_jump_with_their_notes_and_a_lesson_saves_and_reopens(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app("sigmoid-chain", "reciprocal-sign")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("{", "m")
        await type_into(pilot, app, "#prompt-input", "the sign of d(1/e)/de")
        await pilot.press("end", "m")
        await type_into(pilot, app, "#prompt-input", "x gets w0 times the upstream")
        await pilot.press("home", "apostrophe")
        assert app.model.session.step == 6 and "🔖 1/2 the sign of d(1/e)/de" in status(app)
        await pilot.press("apostrophe")
        assert app.model.session.step == 11 and "2/2 x gets w0" in status(app)
        await pilot.press("quotation_mark")
        assert app.model.session.step == 6
        await pilot.press("i")
        await type_into(pilot, app, "#prompt-input", "x = 2.5")
        await pilot.press("ctrl+s")
        await type_into(pilot, app, "#prompt-input", "class.toml")
        await pilot.press("M")
        await type_into(pilot, app, "#prompt-input", "handout.md")
    handout = (tmp_path / "handout.md").read_text()
    assert "## Bookmarked steps" in handout and "> the sign of d(1/e)/de" in handout
    headings = [line.split(" · ")[0] for line in handout.splitlines() if line.startswith("### ")]
    assert headings == ["### Step 7", "### Step 12"]
    text = (tmp_path / "class.toml").read_text()
    assert 'bug = "reciprocal-sign"' in text and "x = 2.5" in text and "start = 7" in text
    again = make_app(str(tmp_path / "class.toml"))
    async with again.run_test(size=(120, 40)) as pilot:
        await settle(again, pilot)
        session = again.model.session
        assert session.bug == "reciprocal-sign" and session.step == 6
        assert float(session.trace.values["x"]) == 2.5 and "values differ from the file: x" in status(again)
        await pilot.press("apostrophe")
        assert session.step == 11 and "x gets w0" in status(again)


@sync
async def test_a_broken_lesson_shows_the_error_screen_with_its_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('scenario = "sigmoid-chain"\n\n[[bookmarks]]\nstep = 40\nnote = "too far"\n')
    app = make_app(str(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorScreen)
        text = str(app.screen.query_one("#error-text").render())
        assert "bookmark 1: there is no step 40" in text and "broken.toml:4" in text


@sync
async def test_edits_survive_a_live_reload_where_the_leaf_still_exists(tmp_path):
    source = Path(__file__).parent / "scenario_files" / "softplus_ok.py"
    path = tmp_path / "softplus_ok.py"
    path.write_text(source.read_text())
    app = make_app(str(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("i")
        await type_into(pilot, app, "#prompt-input", "w[0, 1] = 0.5")
        path.write_text(source.read_text().replace("[[0.5, -1.0, 2.0]]", "[[0.5, -1.0, 3.0]]") + "\n")
        assert app.loader.poll()
        await settle(app, pilot)
        values = app.model.session.trace.values
        assert values["w"][0, 1] == 0.5 and values["x"][0, 2] == 3.0
        assert "values differ from the file: w" in status(app)


@sync
async def test_in_the_circuit_view_the_quiz_hides_the_asked_number_as_a_question_mark(tmp_path):
    from tui_backprop.app.circuit import labels as cl
    from tui_backprop.app.circuit.view import CircuitView

    path = tmp_path / "lesson.toml"
    path.write_text('scenario = "sigmoid-chain"\nview = "circuit"\nquiz = true\nstart = 9\n')
    app = make_app(str(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.pause()
        assert (app.model.view == "circuit") and app.model.quiz.on and app.model.session.step == 8
        circuit = app.debugger.query_one(CircuitView)
        assert "?" in str(circuit.rows)
        app.quiz.set(False)
        await pilot.pause()
        assert "?" not in str(circuit.rows)
        app.quiz.set(True)
        # step 10 asks what c = -1 · b sends back to b: its wire carries the ?
        assert app.quiz.hidden_wire() == ("b", "callout")
        session = app.model.session
        state = cl.state(session, cl.plan(session), [n.name for n in session.trace.graph.nodes])
        assert cl.hide(state, session, *app.quiz.hidden_wire()).callouts[("b", "back:c")] == ("?", cl.CALLOUT)


@sync
async def test_a_lesson_in_presenter_mode_shows_the_bookmark_note_on_the_card(tmp_path):
    from tui_backprop.app.presenter.screen import PresenterCard, PresenterScreen

    path = tmp_path / "lesson.toml"
    path.write_text('scenario = "sigmoid-chain"\nview = "presenter"\n[[bookmarks]]\nstep = 7\nnote = "1/e"\n')
    app = make_app(str(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.pause()
        assert isinstance(app.screen, PresenterScreen)
        await pilot.press("apostrophe")
        await pilot.pause()
        assert app.model.session.step == 6 and "🔖 1/1 1/e" in app.screen.query_one(PresenterCard).plain
