"""Keeping the session's work: the dialogs that ask for a bookmark's note, where to save a lesson or
a handout (a served copy: a file name, and the file is delivered to the browser), and whether to
quit when edits or bookmarks would be lost (README "Bookmarks and lessons").

``Keeping`` pushes the screen and hands what the user types to the ``Lessons`` service; it sees
the App only through ``Host`` (no module of the app imports the App).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from tui_backprop.app.look import styles as st
from tui_backprop.app.look.styles import styled

if TYPE_CHECKING:
    from textual.screen import Screen

    from tui_backprop.app.explore.lessons import Lessons
    from tui_backprop.app.explore.screens import Attempt
    from tui_backprop.app.model.model import Model


class Host(Protocol):
    """What the dialogs need of the app: the model, the lessons service, the screen on top, and
    pushing a screen or quitting."""

    model: Model

    @property
    def lessons(self) -> Lessons: ...

    @property
    def screen(self) -> Screen[Any]: ...

    def push_screen(self, screen: Any, callback: Callable[[Any], None] | None = None) -> Any: ...

    def exit(self) -> None: ...

    def deliver_text(self, path_or_file: Any, *, save_filename: str | None = None) -> str | None: ...


class Keeping:
    """Bookmark notes, the two save dialogs and the question before quitting."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def bookmark(self) -> None:
        """Remove this step's bookmark, or ask for the note of a new one."""
        from tui_backprop.app.explore.screens import NoteScreen

        host = self.host
        title = host.lessons.toggle_bookmark()
        session = host.model.session
        if title is not None and session is not None:
            host.push_screen(NoteScreen(title, "", partial(host.lessons.add_bookmark, session.step)))

    def save_lesson(self) -> None:
        lessons = self.host.lessons
        self._ask_where("Save as lesson", ".lesson.toml", lessons.lesson_summary(), lessons.save_lesson)

    def save_handout(self) -> None:
        lessons = self.host.lessons
        self._ask_where("Save handout", "-handout.md", lessons.handout_summary(), lessons.save_handout)

    def _ask_where(self, title: str, ending: str, summary: str, save: Attempt) -> None:
        """The save dialog, SLUG + ``ending`` typed in for a start."""
        from tui_backprop.app.explore.screens import SaveLessonScreen

        session = self.host.model.session
        if session is not None:
            default = f"{session.scenario.slug}{ending}"
            self.host.push_screen(SaveLessonScreen(default, styled(summary, st.DIM), save, title=title))

    def deliver(self, text: str, name: str) -> None:
        """A served copy's save: the browser downloads it (textual-serve); nothing is written here."""
        self.host.deliver_text(io.StringIO(text), save_filename=name)

    def quit(self) -> None:
        """Quit; with edits or bookmarks that no lesson file holds, ask first, saying what would be
        lost (the focus on "Stay")."""
        from tui_backprop.app.screens.confirm import ConfirmScreen

        host = self.host
        warning = host.lessons.quit_warning()
        if warning is None:
            host.exit()
        elif not isinstance(host.screen, ConfirmScreen):  # not already asking
            question = ConfirmScreen("Quit backprop-tui?", warning, "Quit", "Stay")
            host.push_screen(question, callback=lambda yes: host.exit() if yes else None)
