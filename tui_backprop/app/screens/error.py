"""The error screen: a scenario that failed to load or build, with the author's file, line and code.

The App shows it when the model has a failure and closes it when a trace is shown again; it
answers with what the user chose (``picker``, ``retry`` or ``back``).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from tui_backprop.app.engine import Failure
from tui_backprop.app.look import styles as st
from tui_backprop.app.screens.dialog import AnswersOnce


class ErrorScreen(AnswersOnce, ModalScreen[str]):
    """A scenario that failed to load or build: the message, the author's file and line, the code there."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "o,enter",
            "choose('picker')",
            "Pick a scenario",
            id="error.picker",
            tooltip="Open the scenario picker",
        ),
        Binding("r", "choose('retry')", "Retry", id="error.retry", tooltip="Try to open it again"),
        Binding("escape", "choose('back')", "Back", id="error.back", tooltip="Back to the last good trace"),
    ]

    def __init__(
        self, spec: str, failure: Failure, has_trace: bool, *, guest: bool = False, refused: bool = False
    ) -> None:
        """``guest``: a served copy (the file is the server's, not the user's to fix); ``refused``:
        a path a served copy may not open."""
        super().__init__()
        self.spec = spec
        self.failure = failure
        self.has_trace = has_trace
        self.guest = guest
        self.refused = refused

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box"):
            yield Static(self._text(), id="error-text")
        yield Footer(compact=True)

    def _text(self) -> Text:
        f = self.failure
        text = Text()
        text.append(" ✗ could not open ", style=st.BLAME)
        text.append(f" {self.spec}\n\n", style="bold")
        text.append(f.message + "\n", style=st.BUG)
        if f.where:
            text.append("\nat ", style=st.DIM)
            text.append(f.where, style="bold underline")
            text.append("\n")
            text.append_text(_source_excerpt(f.filename, f.lineno))
        text.append("\n")
        advice = self._advice()
        if advice:
            text.append(advice + "\n", style=st.PROSE)
        text.append("o", style="bold")
        text.append(" or Enter: pick a scenario   ", style=st.PROSE)
        text.append("r", style="bold")
        text.append(": retry   ", style=st.PROSE)
        if self.has_trace:
            text.append("Esc", style="bold")
            text.append(": back to the last good trace   ", style=st.PROSE)
        text.append("q", style="bold")
        text.append(": quit", style=st.PROSE)
        return text

    def _advice(self) -> str | None:
        if self.refused:
            return "A served copy opens only the scenarios in its picker: o or Enter shows them."
        if self.guest and self.spec.endswith((".py", ".toml")):
            return "The file is on the server: once it is fixed there, it reloads here by itself."
        if self.spec.endswith(".py"):
            return "Fix the file and save it: it reloads by itself."
        return None

    def show(self, spec: str, failure: Failure, has_trace: bool, *, refused: bool = False) -> None:
        """Replace the shown error (a second failure while this one is up)."""
        self.spec, self.failure, self.has_trace, self.refused = spec, failure, has_trace, refused
        self.query_one("#error-text", Static).update(self._text())

    def action_choose(self, choice: str) -> None:
        if choice == "back" and not self.has_trace:
            choice = "picker"
        self.dismiss(choice)


def _source_excerpt(filename: str | None, lineno: int | None, context: int = 2) -> Text:
    """The author's lines around ``lineno``, the failing one marked."""
    text = Text()
    if not filename or not lineno:
        return text
    try:
        lines = Path(filename).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return text
    start, stop = max(1, lineno - context), min(len(lines), lineno + context)
    for k in range(start, stop + 1):
        here = k == lineno
        text.append(f"{'→' if here else ' '} {k:>4} │ ", style=st.MISMATCH if here else st.FAINT)
        text.append(lines[k - 1].rstrip()[:200] + "\n", style="bold" if here else st.PROSE)
    return text
