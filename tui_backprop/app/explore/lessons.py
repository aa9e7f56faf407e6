"""Bookmarks, lesson files and the handout (README "Explore it live" and "Lesson files"), as a service.

Bookmarks are steps with a one-line note, kept in the model; ``'`` and ``"`` jump between them
and the note shows on the status line and the presenter card. A lesson that was opened brings
its values, bookmarks, quiz mode and view (``apply``); what is open can be saved as a lesson or
as a Markdown handout of the bookmarked steps. Attempts answer with why they failed, or None.
No Textual here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tui_backprop.app import engine as door
from tui_backprop.app.look.badge import bug_words
from tui_backprop.app.model.model import Aspect, Model

if TYPE_CHECKING:
    from tui_backprop.app.engine import Engine, Lesson
    from tui_backprop.app.model.stepping import Stepper

VIEWS = ("debugger", "circuit", "presenter")
"""The views a lesson may start in."""


class Lessons:
    """Bookmarks with notes, opening and saving lessons, writing the handout."""

    def __init__(self, model: Model, engine: Engine, stepper: Stepper) -> None:
        self.model = model
        self.engine = engine
        self.stepper = stepper

    # ------------------------------------------------------------ bookmarks
    def toggle_bookmark(self) -> str | None:
        """Remove this step's bookmark; or, when it has none, the title of the note to ask for."""
        model = self.model
        session = model.session
        if session is None or not session.n_steps:
            return None
        step = session.step
        if any(b.step == step for b in model.bookmarks):
            model.bookmarks = [b for b in model.bookmarks if b.step != step]
            model.notify(f"bookmark removed from step {step + 1}", timeout=2)
            model.changed(Aspect.MARKS)
            return None
        current = session.current
        return f"step {step + 1} ({current.phase} {current.node})" if current else f"step {step + 1}"

    def add_bookmark(self, step: int, note: str) -> str | None:
        """Bookmark ``step`` with a one-line note; why not, or None."""
        if "\n" in note:
            return "one line, please"
        model = self.model
        model.bookmarks = sorted([*model.bookmarks, door.Bookmark(step, note.strip())], key=lambda b: b.step)
        model.changed(Aspect.MARKS)
        return None

    def next_bookmark(self, direction: int) -> None:
        """To the next (or previous) bookmark, wrapping around; its note is shown (``Model.note``)."""
        model = self.model
        session = model.session
        if session is None:
            return
        marks = model.bookmarks
        if not marks:
            model.notify("no bookmarks: m bookmarks this step", timeout=3)
            return
        later = [b for b in marks if (b.step - session.step) * direction > 0]
        if later:
            mark = later[0] if direction > 0 else later[-1]
        else:  # wrap around
            mark = marks[0] if direction > 0 else marks[-1]
        with model.batch():
            self.stepper.go(mark.step)
            model.changed(Aspect.MARKS)

    # ------------------------------------------------------------ lessons
    def apply(self, lesson: Lesson) -> None:
        """A lesson was opened: its values, bookmarks, quiz mode and view (its start step follows)."""
        model = self.model
        model.edits = door.Edits(dict(lesson.values))
        model.bookmarks = sorted(lesson.bookmarks, key=lambda b: b.step)
        if lesson.mystery and not model.mystery:
            model.set_mystery(True)
        if lesson.quiz != model.quiz.on:
            model.quiz.on = lesson.quiz
            if lesson.quiz and model.quiz.score is None:
                model.quiz.score = door.Score()
            model.changed(Aspect.QUIZ)
        if lesson.view not in VIEWS:  # a lesson written for a version of the app with that view
            model.notify(
                f"this lesson starts in the {lesson.view} view, which this app does not have", timeout=5
            )
        elif lesson.view == "presenter":
            model.presenting = True
            model.changed(Aspect.VIEW)
        elif lesson.view == "circuit":
            model.set_view("circuit")

    def lesson_summary(self) -> str:
        session = self.model.session
        if session is None:
            return ""
        values = len(self.model.edits.values) if self.model.edits else 0
        label = self.model.bug_label()
        bug = bug_words(label).plain if label else "no bug"
        return (
            f"{session.scenario.slug}, {bug}, {session.dtype}, "
            f"{values} edited value(s), {len(self.model.bookmarks)} bookmark(s), "
            f"step {session.step + 1}. A path for the .toml (Enter saves):"
        )

    def save_lesson(self, path: str) -> str | None:
        """Write what is open as a lesson file; why not, or None."""
        model = self.model
        session = model.session
        if session is None:
            return "no scenario open"
        if not path.strip():
            return "type a path"
        lesson = door.Lesson(
            session.scenario.spec,
            bug=session.bug,
            dtype=session.dtype,
            start=session.step,
            quiz=model.quiz.on,
            mystery=model.mystery,
            values=dict(model.edits.values) if model.edits else {},
            bookmarks=list(model.bookmarks),
        )
        try:
            written = self.engine.save_lesson(lesson, Path(path.strip()))
        except OSError as exc:
            return f"cannot write {path}: {exc.strerror or exc}"
        model.notify(f"saved {written}", timeout=3)
        return None

    # ------------------------------------------------------------ the handout
    def handout_summary(self) -> str:
        session = self.model.session
        if session is None:
            return ""
        marks = len(self.model.bookmarks)
        what = f"the {marks} bookmarked step(s) with their notes" if marks else "every step"
        pending = "" if session.check_complete else " (the check is still running: its verdicts so far)"
        return f"A Markdown handout of {what}{pending}. A path for the .md (Enter saves):"

    def save_handout(self, path: str) -> str | None:
        """Write the Markdown handout of the bookmarked steps (every step when none); why not, or None."""
        model = self.model
        session = model.session
        if session is None:
            return "no scenario open"
        if not path.strip():
            return "type a path"
        notes: dict[int, str] = {}
        for mark in model.bookmarks:
            notes[mark.step] = f"{notes[mark.step]} · {mark.note}" if mark.step in notes else mark.note
        values = dict(model.edits.values) if model.edits else {}
        text = self.engine.handout(
            session.scenario,
            session.bug,
            session.trace,
            session.settings,
            session.checks,
            notes,
            values,
            model.secret,
        )
        target = Path(path.strip()).expanduser()
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            return f"cannot write {path}: {exc.strerror or exc}"
        model.notify(f"saved {target}", timeout=3)
        return None
