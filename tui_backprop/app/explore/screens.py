"""The screens of "Explore it live": edit a value, nudge one, the step-size explorer, a bookmark's
note, saving a lesson or a handout.

Each gets what it needs as arguments: the text to show and a callback that tries what the user
typed and answers with an error message (or None when it worked; a save may answer ``Replace``,
and the dialog asks before writing over the file). Whatever the callback raises is shown in the
dialog as a message: a dialog never ends the app, and the session keeps its state. None imports
the App.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Static

from tui_backprop.app import engine as door
from tui_backprop.app.explore.lessons import Replace
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.styles import styled
from tui_backprop.app.screens.confirm import ConfirmScreen
from tui_backprop.app.screens.dialog import AnswersOnce

Attempt = Callable[[str], "str | Replace | None"]
"""Try what was typed: None when it worked, else the message to show (nothing changed), or
``Replace``: a file is there, ask before writing over it."""
T = TypeVar("T")
ANOTHER_NUDGE = "Another nudge (NAME += h, NAME[i, j] -= h): Enter nudges; Esc closes, then u undoes"
ERROR = st.MISMATCH
DIM = st.DIM


class _Prompt(AnswersOnce, ModalScreen[bool]):
    """A title, some help, one input line and its error; Enter tries it, Esc leaves."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel", tooltip="Leave without changing anything")
    ]
    AUTO_FOCUS = "#prompt-input"

    def __init__(self, title: str, help_text: Text, value: str, attempt: Attempt) -> None:
        super().__init__()
        self.title_text = title
        self.help_text = help_text
        self.value = value
        self.attempt = attempt

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box", classes="explore-box"):
            yield Label(self.title_text, id="prompt-title", classes="explore-title")
            yield Static(self.help_text, id="prompt-help")
            yield Input(value=self.value, id="prompt-input", select_on_focus=False)
            yield Static("", id="prompt-error")
        yield Footer(compact=True)

    @on(Input.Submitted, "#prompt-input")
    def _submit(self, event: Input.Submitted) -> None:
        if self._answered or self.app.screen is not self:  # a second Enter: the first one did it
            return
        answer = guarded(self.attempt, event.value)
        if isinstance(answer, Replace):
            self.app.push_screen(
                ConfirmScreen(answer.question, "", "Replace", "Keep it"),
                callback=lambda yes: self._replace(answer) if yes else self._say("kept: type another name"),
            )
        else:
            self._answer(answer)

    def _replace(self, replace: Replace) -> None:
        self._answer(guarded(lambda _: replace.write(), ""))

    def _answer(self, error: str | Replace | None) -> None:
        if error is None:
            self.dismiss(True)
        else:
            self._say(str(error))

    def _say(self, error: str) -> None:
        self.query_one("#prompt-error", Static).update(styled(error, ERROR))

    def action_cancel(self) -> None:
        self.dismiss(False)


def guarded(attempt: Callable[[str], T], typed: str) -> T | str:
    """``attempt(typed)``, or the message of whatever it raised: a bug behind a dialog is said in
    the dialog, and the app and its session go on."""
    try:
        return attempt(typed)
    except Exception as exc:  # any failure is the dialog's to show, not the app's end
        return f"could not do that: {door.describe_exception(exc)}"


class EditScreen(_Prompt):
    """``x = 2.5``, ``W1[0, 1] = 0.1 * 3`` or ``W1 = [[1, 2], [3, 4]]``: one leaf's new value."""

    def __init__(self, value: str, leaves: Text, attempt: Attempt) -> None:
        help_text = Text()
        help_text.append("NAME = number", style="bold")
        help_text.append(" (arithmetic allowed: 0.105 * 3), ", style=DIM)
        help_text.append("NAME[i, j] = number", style="bold")
        help_text.append(" for one element, or ", style=DIM)
        help_text.append("NAME = [[…], …]", style="bold")
        help_text.append(
            " for a whole small tensor. Enter applies, Esc cancels; u undoes later.\n", style=DIM
        )
        help_text.append_text(leaves)
        super().__init__("Edit a value", help_text, value, attempt)


class FollowScreen(_Prompt):
    """The element to follow, typed: ``W1[1, 0]`` (README "Teaching with it": the element cursor)."""

    def __init__(self, value: str, attempt: Attempt) -> None:
        help_text = Text()
        help_text.append("NAME[i, j]", style="bold")
        help_text.append(" follows that element of any tensor, ", style=DIM)
        help_text.append("[i, j]", style="bold")
        help_text.append(" one of the tensor looked at, ", style=DIM)
        help_text.append("NAME", style="bold")
        help_text.append(
            " alone its default again (the first flagged element, else the largest gradient). "
            "The chain rule, the probe, nudge, the step-size explorer and the quiz follow it.",
            style=DIM,
        )
        super().__init__("Follow an element", help_text, value, attempt)


class TrainScreen(_Prompt):
    """How many iterations to train (README "The update step, and training")."""

    def __init__(self, value: str, summary: str, attempt: Attempt) -> None:
        help_text = styled(summary, DIM)
        super().__init__("Train", help_text, value, attempt)


class LearningRateScreen(_Prompt):
    """The update step's learning rate and momentum."""

    def __init__(self, value: str, attempt: Attempt) -> None:
        help_text = Text()
        help_text.append("lr 0.05", style="bold")
        help_text.append(" (or just 0.05) sets the learning rate, ", style=DIM)
        help_text.append("momentum 0.9", style="bold")
        help_text.append(
            " SGD with momentum (0 is plain SGD). Iterations after the one shown are dropped: "
            "they were taken with the old setting.",
            style=DIM,
        )
        super().__init__("Learning rate", help_text, value, attempt)


class NoteScreen(_Prompt):
    """The one-line note of a bookmark."""

    def __init__(self, step_title: str, note: str, attempt: Attempt) -> None:
        help_text = styled(f"Bookmark {step_title}: a one-line note (Enter saves, Esc cancels).", DIM)
        super().__init__("Bookmark", help_text, note, attempt)


class SaveLessonScreen(_Prompt):
    """Where to write the lesson file."""

    def __init__(self, path: str, summary: Text, attempt: Attempt, title: str = "Save as lesson") -> None:
        super().__init__(title, summary, path, attempt)


class NudgeScreen(AnswersOnce, ModalScreen[None]):
    """The lesson of one nudge and every value it changed; type another nudge to go on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="nudge.close", tooltip="Back to the stepping view")
    ]
    AUTO_FOCUS = "#nudge-input"

    def __init__(
        self, lesson: Text, table: Text, again: str, attempt: Callable[[str], tuple[Text, Text] | str]
    ):
        super().__init__()
        self.lesson, self.table, self.again, self.attempt = lesson, table, again, attempt

    def compose(self) -> ComposeResult:
        with Vertical(id="nudge-box", classes="explore-box"):
            yield Label("Nudge: does the loss move by h times the gradient?", classes="explore-title")
            yield Static(self.lesson, id="nudge-lesson")
            with VerticalScroll(id="nudge-scroll"):
                yield Static(self.table, id="nudge-table")
            yield Static(styled(ANOTHER_NUDGE, DIM))
            yield Input(value=self.again, id="nudge-input", select_on_focus=False)
            yield Static("", id="nudge-error")
        yield Footer(compact=True)

    @on(Input.Submitted, "#nudge-input")
    def _submit(self, event: Input.Submitted) -> None:
        answer = guarded(self.attempt, event.value)
        if isinstance(answer, str):
            self.query_one("#nudge-error", Static).update(styled(answer, ERROR))
            return
        self.lesson, self.table = answer
        self.query_one("#nudge-lesson", Static).update(self.lesson)
        self.query_one("#nudge-table", Static).update(self.table)
        self.query_one("#nudge-error", Static).update("")

    def action_close(self) -> None:
        self.dismiss(None)


class StepSizeScreen(AnswersOnce, ModalScreen[None]):
    """The error-vs-eps plot, laid out again for every size."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,z,q", "close", "Close", id="eps.close", tooltip="Back to the stepping view")
    ]

    def __init__(self, render: Callable[[int, int], list[Text]]) -> None:
        super().__init__()
        self.draw_plot = render

    def compose(self) -> ComposeResult:
        with Vertical(id="eps-box", classes="explore-box"):
            yield Static("", id="eps-plot")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.call_after_refresh(self._draw)

    def on_resize(self) -> None:
        self.call_after_refresh(self._draw)

    def _draw(self) -> None:
        plot = self.query_one("#eps-plot", Static)
        width, height = plot.size.width or 76, plot.size.height or 20
        plot.update(Text("\n").join(self.draw_plot(width, height)))

    def action_close(self) -> None:
        self.dismiss(None)
