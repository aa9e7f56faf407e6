"""Every prompt of the app, typed into as a hostile or clumsy user would, and the dialogs that ask
first: saving never writes over the open scenario, a ``.py`` or (unasked) an existing file, and
never blocks; a served copy delivers what it saves to the browser; ``q`` asks before unsaved edits
or bookmarks are lost; nothing typed into any dialog ends the app or loses the session (README
"Explore it live", "Bookmarks and lessons", "Serve it to a browser")."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from app_support import HOSTILE_PATHS, HOSTILE_PHRASES, settle, sync
from textual.widgets import Input, Static

from tui_backprop.app.app import BackpropApp, make_app
from tui_backprop.app.engine import Engine
from tui_backprop.app.explore.screens import EditScreen, NudgeScreen, SaveLessonScreen
from tui_backprop.app.screens.confirm import ConfirmScreen
from tui_backprop.app.screens.error import ErrorScreen
from tui_backprop.app.screens.picker import PickerScreen

FILES = Path(__file__).parent / "scenario_files"


def shown(app: BackpropApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def submit(app: BackpropApp, pilot, text: str, selector: str = "#prompt-input") -> None:
    """Put ``text`` in the focused dialog's box and press Enter, then let the app settle."""
    field = app.screen.query_one(selector, Input)
    field.focus()
    field.value = text
    await pilot.press("enter")
    await settle(app, pilot)


async def with_a_bookmark_and_an_edit(app: BackpropApp, pilot) -> None:
    """A session worth keeping: a bookmark with a note and an edited value."""
    await settle(app, pilot)
    await pilot.press("end", "m")
    await settle(app, pilot)
    await submit(app, pilot, "keep me")
    await pilot.press("i")
    await settle(app, pilot)
    await submit(app, pilot, "x = 2.5")
    assert app.screen is app.debugger


def kept(app: BackpropApp) -> None:
    """The app runs and the session is as it was: the bookmark, its note and the edit."""
    assert app.is_running and app.return_code is None
    assert [b.note for b in app.model.bookmarks] == ["keep me"]
    assert float(app.model.edits.values["x"]) == 2.5


# ---------------------------------------------------------------- saving: refusals in the dialog
@pytest.mark.parametrize("key", ["ctrl+s", "M"], ids=["lesson", "handout"])
@pytest.mark.parametrize("typed", sorted(HOSTILE_PATHS), ids=lambda t: HOSTILE_PATHS[t][0])
@sync
async def test_a_hostile_path_is_refused_in_the_dialog_and_the_session_kept(
    tmp_path, monkeypatch, key, typed
):
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "pipe.md")
    os.mkfifo(tmp_path / "pipe.toml")
    (tmp_path / "folder").mkdir()
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await with_a_bookmark_and_an_edit(app, pilot)
        await pilot.press(key)
        await settle(app, pilot)
        await submit(app, pilot, typed)
        assert isinstance(app.screen, SaveLessonScreen)
        assert HOSTILE_PATHS[typed][1] in shown(app, "#prompt-error")
        await pilot.press("escape")
        kept(app)
    assert sorted(os.listdir(tmp_path)) == ["folder", "pipe.md", "pipe.toml"]
    assert stat.S_ISFIFO(os.stat(tmp_path / "pipe.md").st_mode)


@pytest.mark.parametrize("key", ["ctrl+s", "M"], ids=["lesson", "handout"])
@sync
async def test_the_open_scenario_and_a_py_are_never_saved_over(tmp_path, monkeypatch, key):
    monkeypatch.chdir(tmp_path)
    scenario = tmp_path / "mine.py"
    scenario.write_text((FILES / "softplus_ok.py").read_text())
    before = scenario.read_text()
    (tmp_path / "other.py").write_text("# someone's code\n")
    (tmp_path / "notes.toml").symlink_to(scenario)
    (tmp_path / "notes.md").symlink_to(scenario)
    app = make_app(str(scenario))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        for typed, why in (
            (str(scenario), "never saved over"),
            ("other.py", "may be someone's code"),
            ("notes.md", "never saved over"),  # a link to the scenario (the lesson's is notes.toml)
        ):
            await pilot.press(key)
            await settle(app, pilot)
            await submit(app, pilot, typed)
            assert why in shown(app, "#prompt-error"), typed
            await pilot.press("escape")
    assert scenario.read_text() == before and (tmp_path / "other.py").read_text() == "# someone's code\n"
    assert sorted(os.listdir(tmp_path)) == ["mine.py", "notes.md", "notes.toml", "other.py"]


# ---------------------------------------------------------------- saving over a file: asked first
@pytest.mark.parametrize(
    ("key", "name"), [("ctrl+s", "class.toml"), ("M", "notes.md")], ids=["lesson", "handout"]
)
@sync
async def test_an_existing_file_is_replaced_only_on_a_yes(tmp_path, monkeypatch, key, name):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / name
    target.write_text("# written by hand\n")
    target.chmod(0o640)
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await with_a_bookmark_and_an_edit(app, pilot)
        await pilot.press(key)
        await settle(app, pilot)
        await submit(app, pilot, name)
        assert isinstance(app.screen, ConfirmScreen)
        assert f"{target} is already there. Replace it" in str(
            app.screen.query_one("#confirm-question").render()
        )
        await pilot.press("enter")  # the focus is on "Keep it": a stray Enter keeps the file
        await settle(app, pilot)
        assert isinstance(app.screen, SaveLessonScreen) and "kept" in shown(app, "#prompt-error")
        assert target.read_text() == "# written by hand\n"
        await pilot.press("enter")  # the same name again
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen is app.debugger
        kept(app)
    text = target.read_text()
    assert ("x = 2.5" in text) if key == "ctrl+s" else ("> keep me" in text)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # replaced whole, its permissions kept
    assert sorted(os.listdir(tmp_path)) == [name]  # no temporary file left beside it


@sync
async def test_a_file_made_between_the_question_and_the_yes_is_not_overwritten_unasked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        answer = app.lessons.save_lesson("late.toml")
        assert answer is None and (tmp_path / "late.toml").exists()
        (tmp_path / "late.toml").write_text("# mine now\n")
        replace = app.lessons.save_lesson("late.toml")
        assert replace.question.startswith(f"{tmp_path / 'late.toml'} is already there")
        assert replace.write() is None and "# mine now" not in (tmp_path / "late.toml").read_text()


# ---------------------------------------------------------------- a failure inside a dialog
class BrokenHandout(Engine):
    def handout(self, *args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")


@sync
async def test_an_exception_inside_a_dialog_is_said_there_and_the_app_goes_on(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app("sigmoid-chain", engine=BrokenHandout())
    async with app.run_test(size=(120, 40)) as pilot:
        await with_a_bookmark_and_an_edit(app, pilot)
        await pilot.press("M")
        await settle(app, pilot)
        await submit(app, pilot, "handout.md")
        assert "could not do that: RecursionError: maximum recursion depth exceeded" in shown(
            app, "#prompt-error"
        )
        await pilot.press("escape")
        kept(app)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- every prompt, hostile input
PROMPTS = {
    "edit": ("i", "#prompt-input"),
    "note": ("m", "#prompt-input"),
    "save lesson": ("ctrl+s", "#prompt-input"),
    "save handout": ("M", "#prompt-input"),
    "nudge": ("h", "#nudge-input"),
    "settings": ("e", "#setting-eps"),
    "quiz": ("a", "#quiz-input"),
    "follow": ("f", "#prompt-input"),
    "train": ("T", "#prompt-input"),
    "learning rate": ("l", "#prompt-input"),
}


@pytest.mark.parametrize("prompt", sorted(PROMPTS))
@sync
async def test_every_prompt_takes_hostile_input_without_ending_the_app(tmp_path, monkeypatch, prompt):
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "pipe.md")
    opener, box = PROMPTS[prompt]
    app = make_app("two-layer-net")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        steps, typed_into = app.model.session.n_steps, 0
        if prompt == "quiz":  # a bar on the stepping screen, open until switched off
            await pilot.press(opener)
            await settle(app, pilot)
        for phrase in HOSTILE_PHRASES:
            if app.screen is app.debugger and prompt != "quiz":
                await pilot.press(opener)
                await settle(app, pilot)
            if app.screen.query(box):
                typed_into += 1
                await submit(app, pilot, phrase, box)
            assert app.is_running and app.return_code is None, phrase[:60]
            while isinstance(app.screen, ConfirmScreen):
                await pilot.press("n")
                await settle(app, pilot)
        assert app.model.session.n_steps == steps
        assert typed_into >= len(HOSTILE_PHRASES) // 2, typed_into  # the prompt did open
    assert all(p.suffix != ".py" for p in tmp_path.iterdir())
    assert stat.S_ISFIFO(os.stat(tmp_path / "pipe.md").st_mode)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("W1[99, 0] = 1", "W1[99, 0] is not an element of W1"),
        ("W1[0] = 1", "write 2 index number(s)"),
        ("x = [" + "-" * 1000 + "1]", "does not match the value's shape [2, 1]"),
        ("x = [" + "+".join(["1"] * 990) + "]", "does not match the value's shape [2, 1]"),
        ("x = " + "[" * 5000 + "]" * 5000, "not a list of numbers"),
        ("W1[0, 0] = 1e400", "the result is not a finite real number"),
        ("W1[0, 0] = " + "(" * 3000 + "1" + ")" * 3000, "too long: at most 200 characters"),
    ],
    ids=["out of range", "too few indices", "1000 minus signs", "990 terms", "5000 deep", "1e400", "parens"],
)
@sync
async def test_an_edit_out_of_range_or_nested_deep_is_refused_in_the_dialog(typed, says):
    app = make_app("two-layer-net")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        before = {name: value.copy() for name, value in app.model.session.trace.values.items()}
        await pilot.press("i")
        await settle(app, pilot)
        await submit(app, pilot, typed)
        assert isinstance(app.screen, EditScreen) and says in shown(app, "#prompt-error")
        await pilot.press("escape")
        values = app.model.session.trace.values
        assert all((values[name] == value).all() for name, value in before.items())
        await pilot.press("h")
        await settle(app, pilot)
        assert isinstance(app.screen, NudgeScreen)
        await submit(app, pilot, typed.replace(" = ", " += ", 1), "#nudge-input")
        assert isinstance(app.screen, NudgeScreen) and app.is_running


@pytest.mark.parametrize("typed", [".", "/", "~nosuchuser/x.py", "a\x00b.py", "pipe.py", "x" * 5000 + ".py"])
@sync
async def test_a_hostile_path_in_the_picker_shows_the_error_screen_and_keeps_the_trace(
    tmp_path, monkeypatch, typed
):
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "pipe.py")
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await with_a_bookmark_and_an_edit(app, pilot)
        await pilot.press("o")
        await settle(app, pilot)
        await pilot.press("slash")
        await settle(app, pilot)
        await submit(app, pilot, typed, "#path")
        assert isinstance(app.screen, ErrorScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is app.debugger and app.model.session.scenario.slug == "sigmoid-chain"
        kept(app)


# ---------------------------------------------------------------- q asks before losing work
@sync
async def test_q_quits_at_once_with_nothing_unsaved():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("n", "q")
        await pilot.pause()
        assert not app.is_running and app.return_code == 0


@sync
async def test_q_asks_first_saying_what_would_be_lost_and_n_stays(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await with_a_bookmark_and_an_edit(app, pilot)
        await pilot.press("q")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        said = shown(app, "#confirm-details")
        assert "Not saved: 1 edited value (x) and 1 bookmark and its note" in said and "ctrl+s" in said
        await pilot.press("q", "enter")  # q again, then a stray Enter on "Stay": still here
        await settle(app, pilot)
        assert app.screen is app.debugger
        kept(app)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await submit(app, pilot, "class.toml")
        await pilot.press("q")  # saved as a lesson: nothing to lose
        await pilot.pause()
        assert not app.is_running


@sync
async def test_an_edit_alone_is_asked_about_too():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("i")
        await settle(app, pilot)
        await submit(app, pilot, "w0 = -1")
        await pilot.press("q")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "Not saved: 1 edited value (w0); they end with the app" in shown(app, "#confirm-details")


@sync
async def test_y_quits_and_a_lesson_just_opened_has_nothing_unsaved(tmp_path):
    lesson = tmp_path / "class.toml"
    lesson.write_text('scenario = "sigmoid-chain"\n[values]\nx = 2.5\n[[bookmarks]]\nstep = 3\nnote = "a"\n')
    app = make_app(str(lesson))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.lessons.unsaved() == []
        await pilot.press("m")  # a second bookmark: now there is something to lose
        await settle(app, pilot)
        await submit(app, pilot, "b")
        assert app.lessons.unsaved() == ["2 bookmarks and their note"]
        await pilot.press("q")
        await settle(app, pilot)
        await pilot.press("y")
        await pilot.pause()
        assert not app.is_running and app.return_code == 0


# ---------------------------------------------------------------- a served copy (guest mode)
class GuestEngine(Engine):
    """What a served copy's engine says (the real guest mode cannot be left once entered: see
    tests/test_serve_guest.py for it in its own process)."""

    def guest(self) -> bool:
        return True

    def refuses(self, spec: str) -> bool:
        return spec.endswith(".py") and Path(spec).name != "served.py"


def guest_app(spec: str | None = "sigmoid-chain") -> tuple[BackpropApp, list[tuple[str, str]]]:
    app = make_app(spec, engine=GuestEngine())
    delivered: list[tuple[str, str]] = []

    def deliver_text(handle, *, save_filename: str, **_) -> str:
        delivered.append((save_filename, handle.read()))
        return "key"

    app.deliver_text = deliver_text  # the headless driver would write it to ~/Downloads
    return app, delivered


@sync
async def test_a_served_copy_delivers_its_saves_to_the_browser(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app, delivered = guest_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await with_a_bookmark_and_an_edit(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "A file name for your browser to save" in shown(app, "#prompt-help")
        await submit(app, pilot, "/etc/passwd")  # a folder is dropped: the browser chooses where
        await pilot.press("M")
        await settle(app, pilot)
        await submit(app, pilot, "a\x00b")
        assert "control characters" in shown(app, "#prompt-error")
        await submit(app, pilot, "")
        assert "type a file name" in shown(app, "#prompt-error")
        await submit(app, pilot, "notes.md")
        await pilot.press("q")  # delivered as a lesson: nothing to lose
        await pilot.pause()
        assert not app.is_running
    (lesson_name, lesson), (handout_name, handout) = delivered
    assert lesson_name == "passwd.toml" and 'scenario = "sigmoid-chain"' in lesson and "x = 2.5" in lesson
    assert handout_name == "notes.md" and "> keep me" in handout
    assert os.listdir(tmp_path) == []


@sync
async def test_a_served_copy_s_picker_has_no_path_box_and_lists_the_served_file(tmp_path):
    served = tmp_path / "served.py"
    served.write_text((FILES / "softplus_ok.py").read_text())
    app, _ = guest_app(str(served))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("o")
        await settle(app, pilot)
        picker = app.screen
        assert isinstance(picker, PickerScreen) and not picker.query("#path")
        await pilot.press("slash")  # nothing to type into
        options = picker.query_one("#scenarios")
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert [i for i in ids if i][:2] == [str(served), "sigmoid-chain"]
        assert "Path" not in str(app.screen.query_one("Footer").render())
        options.highlighted = 0
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is app.debugger and app.model.session.scenario.source == str(served)


@sync
async def test_a_served_copy_words_its_errors_for_a_guest(tmp_path):
    app, _ = guest_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.loader.open(str(tmp_path / "elsewhere.py"))
        await settle(app, pilot)
        text = shown(app, "#error-text")
        assert "A served copy opens only the scenarios in its picker" in text
        assert "Fix the file" not in text


# ---------------------------------------------------------------- loading
@sync
async def test_a_first_build_that_never_returns_is_superseded_by_the_next_save(tmp_path):
    from test_app_reload import GOOD, save

    path = tmp_path / "stuck.py"
    save(path, (FILES / "stuck_in_build.py").read_text())
    app = make_app(str(path))
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(20):
            await pilot.pause()
        assert app.model.loading is not None and app.model.session is None  # stuck in build()
        save(path, GOOD.format(x=1.0, op="tanh"))
        assert app.loader.poll()
        await settle(app, pilot)
        assert app.model.session.scenario.title == "Reload me"


@sync
async def test_a_lesson_whose_scenario_never_returns_at_first_recovers_when_the_scenario_is_saved(tmp_path):
    from test_app_reload import GOOD, save

    path = tmp_path / "stuck.py"
    save(path, (FILES / "stuck_in_build.py").read_text())
    lesson = tmp_path / "class.toml"
    lesson.write_text('scenario = "stuck.py"\n[values]\nx = 2.0\n')
    app = make_app(str(lesson))
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(20):
            await pilot.pause()
        assert app.model.loading is not None and app.model.session is None  # stuck in build()
        save(path, GOOD.format(x=1.0, op="tanh"))  # the fix is saved in the scenario, not the lesson
        assert app.loader.poll()
        await settle(app, pilot)
        assert app.model.session.scenario.title == "Reload me"
        assert float(app.model.session.trace.values["x"]) == 2.0  # the lesson's value


@sync
async def test_the_app_applies_bug_and_dtype_over_a_lesson(tmp_path):
    lesson = tmp_path / "f32.toml"
    lesson.write_text('scenario = "sigmoid-chain"\ndtype = "float32"\nstart = 3\n')
    app = make_app(str(lesson), "reciprocal-sign", "float64")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        session = app.model.session
        assert (session.bug, session.dtype, session.step) == ("reciprocal-sign", "float64", 2)
    app = make_app(str(lesson))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert (app.model.session.bug, app.model.session.dtype) == (None, "float32")
    app = make_app(str(lesson), "nope")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert "--bug: sigmoid-chain has no bug named 'nope'" in shown(app, "#error-text")
