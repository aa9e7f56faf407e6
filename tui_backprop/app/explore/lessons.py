"""Bookmarks, lesson files and the handout (README "Explore it live" and "Lesson files"), as a service.

Bookmarks are steps with a one-line note, kept in the model; ``'`` and ``"`` jump between them
and the note shows on the status line and the presenter card. A lesson that was opened brings
its values, bookmarks, quiz mode and view (``apply``); what is open can be saved as a lesson or
as a Markdown handout of the bookmarked steps.

A save answers with why it failed (one line), None when it is done, or ``Replace`` when a file
is already there: the dialog asks, and writes only on a yes. Nothing is ever written over the open
scenario or a ``.py``, and a file is written whole (``teach.saving``). A served copy (guest mode)
writes nothing on the server: it hands the text to ``deliver``, which sends it to the browser.
``unsaved`` says what quitting would lose. No Textual here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui_backprop.app import engine as door
from tui_backprop.app.look.badge import bug_words
from tui_backprop.app.model.model import Aspect, Model

if TYPE_CHECKING:
    from tui_backprop.app.engine import Engine, Lesson, SaveTarget
    from tui_backprop.app.model.stepping import Stepper

VIEWS = ("debugger", "circuit", "presenter")
"""The views a lesson may start in."""
LESSON_SUFFIX = ".toml"
_WHERE_GUEST = "A file name for your browser to save (Enter sends it):"

Deliver = Callable[[str, str], None]
"""(text, file name): send a file to the browser of a served copy (``App.deliver_text``)."""


@dataclass(frozen=True)
class Replace:
    """A file is already where the user asked to save: the question, and the write a yes makes."""

    question: str
    write: Callable[[], str | None]
    """Write over it: None when done, else why not (one line)."""


class Lessons:
    """Bookmarks with notes, opening and saving lessons, writing the handout."""

    def __init__(
        self, model: Model, engine: Engine, stepper: Stepper, deliver: Deliver | None = None
    ) -> None:
        self.model = model
        self.engine = engine
        self.stepper = stepper
        self.deliver = deliver
        self._kept: tuple[tuple, tuple] = ((), ())
        """Edits and bookmarks as a lesson file holds them (the one opened or saved last; none yet)."""

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
        self._kept = self._state()

    def lesson_summary(self) -> str:
        session = self.model.session
        if session is None:
            return ""
        values = len(self.model.edits.values) if self.model.edits else 0
        label = self.model.bug_label()
        bug = bug_words(label).plain if label else "no bug"
        what = (
            f"{session.scenario.slug}, {bug}, {session.dtype}, "
            f"{values} edited value(s), {len(self.model.bookmarks)} bookmark(s), step {session.step + 1}."
        )
        return f"{what} {_WHERE_GUEST if self.engine.guest() else 'A path for the .toml (Enter saves):'}"

    def save_lesson(self, path: str) -> str | Replace | None:
        """Write what is open as a lesson file (a served copy: deliver it); why not, a file to ask
        about, or None."""
        model = self.model
        session = model.session
        if session is None:
            return "no scenario open"
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
        state = self._state()
        if self.engine.guest():
            answer = self._deliver(path, LESSON_SUFFIX, lambda: self.engine.lesson_text(lesson))
            if answer is None:
                self._kept = state
            return answer
        protected = self.engine.source_files(session.scenario)
        try:
            target = self.engine.save_target(path, suffix=LESSON_SUFFIX, protected=protected)
        except OSError as exc:
            return _refusal(path, exc)

        def write(replace: bool) -> str | None:
            try:
                written = self.engine.save_lesson(lesson, target.path, replace=replace, protected=protected)
            except OSError as exc:
                return _refusal(path, exc)
            self._kept = state
            model.notify(f"saved {written}", timeout=3)
            return None

        if target.exists:
            question = _replace_question(target, "a lesson written by hand loses its comments")
            return Replace(question, lambda: write(True))
        return write(False)

    # ------------------------------------------------------------ the handout
    def handout_summary(self) -> str:
        session = self.model.session
        if session is None:
            return ""
        marks = len(self.model.bookmarks)
        what = f"the {marks} bookmarked step(s) with their notes" if marks else "every step"
        pending = "" if session.check_complete else " (the check is still running: its verdicts so far)"
        where = _WHERE_GUEST if self.engine.guest() else "A path for the .md (Enter saves):"
        return f"A Markdown handout of {what}{pending}. {where}"

    def save_handout(self, path: str) -> str | Replace | None:
        """Write the Markdown handout of the bookmarked steps (every step when none); a served copy
        delivers it. Why not, a file to ask about, or None."""
        model = self.model
        session = model.session
        if session is None:
            return "no scenario open"

        def text() -> str:
            notes: dict[int, str] = {}
            for mark in model.bookmarks:
                notes[mark.step] = f"{notes[mark.step]} · {mark.note}" if mark.step in notes else mark.note
            values = dict(model.edits.values) if model.edits else {}
            return self.engine.handout(
                session.scenario,
                session.bug,
                session.trace,
                session.settings,
                session.checks,
                notes,
                values,
                model.secret,
            )

        if self.engine.guest():
            return self._deliver(path, None, text)

        def write(target: SaveTarget) -> str | None:
            try:
                written = self.engine.write_text(target, text())
            except OSError as exc:
                return _refusal(path, exc)
            model.notify(f"saved {written}", timeout=3)
            return None

        try:
            target = self.engine.save_target(path, protected=self.engine.source_files(session.scenario))
        except OSError as exc:
            return _refusal(path, exc)
        if target.exists:
            return Replace(_replace_question(target, "what it holds now is lost"), lambda: write(target))
        return write(target)

    # ------------------------------------------------------------ what a save keeps, and delivering
    def unsaved(self) -> list[str]:
        """What quitting now would lose: the edits and bookmarks no lesson file holds (none after
        the lesson that brought them was opened, or once they were saved as a lesson)."""
        edits, marks = self._state()
        kept_edits, kept_marks = self._kept
        lost = []
        if edits and edits != kept_edits:
            names = ", ".join(name for name, *_ in edits)
            lost.append(f"{len(edits)} edited value{'s' if len(edits) > 1 else ''} ({names})")
        if marks and marks != kept_marks:
            count = len(marks)
            lost.append(
                f"{count} bookmark{'s' if count > 1 else ''} and {'their' if count > 1 else 'its'} note"
            )
        return lost

    def quit_warning(self) -> str | None:
        """What to say before quitting would lose work; None when nothing would be lost."""
        lost = self.unsaved()
        if not lost:
            return None
        save = "download" if self.engine.guest() else "save"
        return (
            f"Not saved: {' and '.join(lost)}; they end with the app. "
            f"Stay, then ctrl+s to {save} them as a lesson."
        )

    def _state(self) -> tuple[tuple, tuple]:
        """Edits and bookmarks, comparable: what a lesson file would hold of them."""
        model = self.model
        values = model.edits.values if model.edits else {}
        edits = tuple(sorted((name, value.shape, value.tobytes()) for name, value in values.items()))
        return edits, tuple((mark.step, mark.note) for mark in model.bookmarks)

    def _deliver(self, typed: str, suffix: str | None, text: Callable[[], str]) -> str | None:
        """A served copy's save: the text goes to the browser, under the name typed."""
        if self.deliver is None:
            return "this copy of the app cannot send files to a browser"
        try:
            name = door.download_name(typed, suffix=suffix)
        except OSError as exc:
            return str(exc)
        self.deliver(text(), name)
        self.model.notify(f"sent {name} to your browser", timeout=4)
        return None


def _replace_question(target: SaveTarget, loss: str) -> str:
    return f"{target.path} is already there. Replace it ({loss})?"


def _refusal(typed: str, exc: OSError) -> str:
    """One line saying why a save failed (``SaveRefusedError`` already says it with the path)."""
    if isinstance(exc, door.SaveRefusedError):
        return str(exc)
    return f"cannot write {typed.strip()}: {exc.strerror or exc}"
