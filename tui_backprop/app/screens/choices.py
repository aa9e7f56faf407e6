"""Two small choices: which named bug to switch on, and the check's eps, rtol and atol.

Each answers with the value it dismisses with (None: keep what is there); the App applies it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_backprop.app.engine import Overrides
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.styles import styled
from tui_backprop.app.screens.dialog import AnswersOnce


class BugScreen(AnswersOnce, ModalScreen[str | None]):
    """Choose one of the scenario's named bugs, or none."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="bug.cancel", tooltip="Keep the current bug")
    ]
    AUTO_FOCUS = "#bugs"

    def __init__(self, bugs: list[tuple[str, str, str]], current: str | None) -> None:
        """``bugs``: (name, label, description) as they may be shown (``Model.bugs``: in mystery-bug
        mode ``bug 2`` with no description); the name is only the answer, never shown."""
        super().__init__()
        self.bugs = bugs
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="bug-box"):
            yield Label("Switch a bug on (Enter) or off", id="bug-title")
            options = [Option(Text("no bug: the textbook backward rules", style="bold"), id="")]
            for name, label, description in self.bugs:
                prompt = Text()
                prompt.append(label, style=st.BUG)
                if description:
                    prompt.append(f"\n{description}", style=st.PROSE)
                options.append(Option(prompt, id=name))
            if not self.bugs:
                options.append(Option(styled("this scenario declares no bugs", st.DIM), disabled=True))
            yield OptionList(*options, id="bugs")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        names = ["", *(name for name, _, _ in self.bugs)]
        self.query_one("#bugs", OptionList).highlighted = names.index(self.current or "")

    @on(OptionList.OptionSelected, "#bugs")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id or "")

    def action_cancel(self) -> None:
        self.dismiss(None)


class SettingsScreen(AnswersOnce, ModalScreen[Overrides | None]):
    """eps, rtol and atol for the check; empty means the dtype's default."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="settings.cancel", tooltip="Keep the settings")
    ]

    def __init__(self, dtype: str, overrides: Overrides, defaults: dict[str, float]) -> None:
        super().__init__()
        self.dtype = dtype
        self.overrides = overrides
        self.defaults = defaults

    def compose(self) -> ComposeResult:
        with Vertical(id="settings-box"):
            yield Label(f"Check settings ({self.dtype}); empty = default, Enter applies", id="settings-title")
            for field in ("eps", "rtol", "atol"):
                value = getattr(self.overrides, field)
                with Horizontal(classes="setting"):
                    yield Label(f"{field:>5}", classes="setting-name")
                    yield Input(
                        value="" if value is None else f"{value:g}",
                        placeholder=f"default {self.defaults[field]:g}",
                        id=f"setting-{field}",
                    )
            yield Static("", id="settings-error")
        yield Footer(compact=True)

    @on(Input.Submitted)
    def _apply(self) -> None:
        values: dict[str, float | None] = {}
        for field in ("eps", "rtol", "atol"):
            raw = self.query_one(f"#setting-{field}", Input).value.strip()
            if not raw:
                values[field] = None
                continue
            try:
                number = float(raw)
            except ValueError:
                number = -1.0
            if not number > 0 or number != number or number == float("inf"):
                self.query_one("#settings-error", Static).update(
                    styled(f"{field} must be a positive number, not {raw!r}", st.MISMATCH)
                )
                return
            values[field] = number
        self.dismiss(Overrides(**values))

    def action_cancel(self) -> None:
        self.dismiss(None)
