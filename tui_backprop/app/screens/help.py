"""The help screen: every key, generated from the bindings themselves so that it cannot drift from them.

The legend of marks is drawn with the same ``badge`` as the views.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from tui_backprop.app import keys
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.badge import badge
from tui_backprop.app.look.styles import styled
from tui_backprop.app.screens.dialog import AnswersOnce

LEGEND = [
    ("ok", "analytic and numeric gradients agree"),
    ("mismatch", "the gradient differs from its numeric estimate"),
    ("blame", "this node's own backward rule fails its local check: the bug is here"),
    ("kink", "the ±eps probe straddles a corner of relu, |x| or max: expected"),
    ("nonfinite", "a NaN or an infinity first appears here (non-finite)"),
    ("pending", "the check has not reached this node yet"),
]
"""The check statuses the help screen explains, in the order a reader meets them."""


class HelpScreen(AnswersOnce, ModalScreen[None]):
    """Every key, generated from the bindings themselves so the help cannot drift from them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close", tooltip="Close the help"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(help_text(), id="help-text")
        yield Footer(compact=True)

    def action_dismiss(self, result: Any = None) -> None:
        self.dismiss(None)


def help_text() -> Group:
    """Sections of (keys, what they do), with wrapped lines hanging under their description."""
    found = keys.by_id()
    parts: list[Any] = [
        Text.assemble(
            ("backprop-tui", "bold"),
            (
                " steps through every forward node, then every backward node, each gradient checked "
                "against central differences.",
                st.PROSE,
            ),
        )
    ]

    def section(title: str, rows: list[tuple[Text, str]]) -> None:
        table = Table.grid(padding=(0, 2))
        table.add_column(width=20, no_wrap=True)
        table.add_column(ratio=1)
        for key, what in rows:
            table.add_row(key, what)
        parts.append(styled(f"\n{title}", st.LABEL))
        parts.append(table)

    def bold(key: str) -> Text:
        return Text(key, style="bold")

    for title, ids in keys.SECTIONS:
        section(
            title, [(bold(keys.keys_of(found[i])), found[i].tooltip or found[i].description) for i in ids]
        )
    section("Node list and inspector", [(bold(key), what) for key, what in keys.NODE_LIST])
    legend = [(badge(status), what) for status, what in LEGEND]
    legend += [
        (Text("▶  ●  ◉", style="bold"), "the current step's node; a breakpoint; both"),
        (styled("·", st.DIM), "not computed yet at this step (values), not reached yet (gradients)"),
        (Text("1.234!  5.678~", style="bold"), "a mismatching element (!) and a kink (~) inside a tensor"),
    ]
    section("Reading the screen", legend)
    return Group(*parts)
