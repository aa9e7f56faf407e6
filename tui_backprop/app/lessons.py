"""Bookmarks, lesson files and the handout, from the app (README "Explore it live" and "Lesson files").

``LessonMixin`` is part of ``BackpropApp``: it bookmarks steps with a note and jumps between them,
applies a lesson that was opened (its values, bookmarks and quiz mode), and saves what is open as a
lesson file or as a Markdown handout of the bookmarked steps.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

if TYPE_CHECKING:
    from tui_backprop.app.engine import Engine
    from tui_backprop.app.session import Session
    from tui_backprop.teach.edits import Edits
    from tui_backprop.teach.lesson import Bookmark, Lesson


class LessonMixin:
    """Bookmarks with notes, opening and saving lessons, writing the handout."""

    engine: Engine
    session: Session | None
    edits: Edits
    _edits: Edits | None
    quiz_on: bool
    bookmarks: list[Bookmark]
    note: str | None
    _edits_applied: bool

    # ------------------------------------------------------------ bookmarks and lessons
    def action_toggle_bookmark(self) -> None:
        session = self.session
        if session is None or not session.n_steps:
            return
        step = session.step
        if any(b.step == step for b in self.bookmarks):
            self.bookmarks = [b for b in self.bookmarks if b.step != step]
            self.note = None
            self.notify(f"bookmark removed from step {step + 1}", timeout=2)
            self.refresh_view()
            return
        from tui_backprop.app.explore_screens import NoteScreen

        current = session.current
        title = f"step {step + 1} ({current.phase} {current.node})" if current else f"step {step + 1}"
        self.push_screen(NoteScreen(title, "", partial(self._add_bookmark, step)))

    def _add_bookmark(self, step: int, note: str) -> str | None:
        from tui_backprop.teach.lesson import Bookmark

        if "\n" in note:
            return "one line, please"
        self.bookmarks = sorted([*self.bookmarks, Bookmark(step, note.strip())], key=lambda b: b.step)
        self.note = note.strip() or None
        self.refresh_view()
        return None

    def action_next_bookmark(self, direction: int) -> None:
        session = self.session
        if session is None:
            return
        if not self.bookmarks:
            self.notify("no bookmarks: m bookmarks this step", timeout=3)
            return
        steps = [b.step for b in self.bookmarks]
        later = [b for b in self.bookmarks if (b.step - session.step) * direction > 0]
        if later:
            mark = later[0] if direction > 0 else later[-1]
        else:  # wrap around
            mark = self.bookmarks[0] if direction > 0 else self.bookmarks[-1]
        self.go(mark.step)
        self.note = f"{steps.index(mark.step) + 1}/{len(steps)} {mark.note}".strip()
        self.refresh_view()

    def apply_lesson(self, lesson: Lesson) -> None:
        """A lesson was opened: its values, bookmarks and quiz mode (its start step follows the load)."""
        from tui_backprop.teach.edits import Edits

        self.edits = Edits(dict(lesson.values))
        self.bookmarks = sorted(lesson.bookmarks, key=lambda b: b.step)
        self.note = None
        self._edits_applied = True
        if lesson.quiz != self.quiz_on:
            self.call_after_refresh(self.set_quiz, lesson.quiz)
        if lesson.view != "debugger":
            self.call_after_refresh(self.start_view, lesson.view)

    def start_view(self, view: str) -> None:
        """The view a lesson starts in: the circuit (``g``) or presenter mode (``P``)."""
        action = {"circuit": "toggle_circuit", "presenter": "presenter"}.get(view)
        handler = getattr(self, f"action_{action}", None) if action else None
        if handler is None:  # a lesson written for a version of the app with that view
            self.notify(f"this lesson starts in the {view} view, which this app does not have", timeout=5)
            return
        handler()

    def action_save_lesson(self) -> None:
        session = self.session
        if session is None:
            return
        from tui_backprop.app.explore_screens import SaveLessonScreen

        summary = Text(
            f"{session.scenario.slug}, bug {session.bug or 'none'}, {session.dtype}, "
            f"{len(self.edits.values)} edited value(s), {len(self.bookmarks)} bookmark(s), "
            f"step {session.step + 1}. "
            "A path for the .toml (Enter saves):",
            style="#8a8a8a",
        )
        default = f"{session.scenario.slug}.lesson.toml"
        self.push_screen(SaveLessonScreen(default, summary, self.save_lesson))

    def action_save_handout(self) -> None:
        session = self.session
        if session is None:
            return
        from tui_backprop.app.explore_screens import SaveLessonScreen

        marks = len(self.bookmarks)
        what = f"the {marks} bookmarked step(s) with their notes" if marks else "every step"
        pending = "" if session.check_complete else " (the check is still running: its verdicts so far)"
        summary = Text(
            f"A Markdown handout of {what}{pending}. A path for the .md (Enter saves):", style="#8a8a8a"
        )
        default = f"{session.scenario.slug}-handout.md"
        self.push_screen(SaveLessonScreen(default, summary, self.save_handout, title="Save handout"))

    def save_handout(self, path: str) -> str | None:
        session = self.session
        if session is None:
            return "no scenario open"
        if not path.strip():
            return "type a path"
        notes: dict[int, str] = {}
        for mark in self.bookmarks:
            notes[mark.step] = f"{notes[mark.step]} · {mark.note}" if mark.step in notes else mark.note
        text = self.engine.handout(session, notes, dict(self.edits.values) if self._edits else {})
        target = Path(path.strip()).expanduser()
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            return f"cannot write {path}: {exc.strerror or exc}"
        self.notify(f"saved {target}", timeout=3)
        return None

    def save_lesson(self, path: str) -> str | None:
        from tui_backprop.teach.lesson import Lesson, save

        session = self.session
        if session is None:
            return "no scenario open"
        if not path.strip():
            return "type a path"
        lesson = Lesson(
            session.scenario.spec,
            bug=session.bug,
            dtype=session.dtype,
            start=session.step,
            quiz=self.quiz_on,
            values=dict(self.edits.values),
            bookmarks=list(self.bookmarks),
        )
        try:
            written = save(lesson, Path(path.strip()))
        except OSError as exc:
            return f"cannot write {path}: {exc.strerror or exc}"
        self.notify(f"saved {written}", timeout=3)
        return None
