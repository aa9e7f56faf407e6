"""The scenario picker: every scenario with its title, description and bugs, or a path to type.

Every scenario stays in view on a short terminal: each then takes two lines (title, description)
or one, and its bugs are counted rather than named.

It is handed the function that lists the scenarios (called in a worker: a plugin may be slow or
broken) and answers with the spec to open, or ``""`` to go back. A served copy (guest mode) has no
path box: it lists the file it was served with (a scenario or a lesson) above the built-ins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, OptionList
from textual.widgets.option_list import Option

from tui_backprop.app import engine as door
from tui_backprop.app.engine import Failure, failure_of
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.styles import styled
from tui_backprop.app.screens.dialog import AnswersOnce

if TYPE_CHECKING:
    from tui_backprop.app.engine import Catalog


class PickerScreen(AnswersOnce, Screen[str]):
    """Every scenario with its title and one-line description; Enter opens one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="picker.back", tooltip="Back to the stepping view"),
        Binding("slash", "focus_path", "Path", id="picker.path", tooltip="Type a path to a scenario .py"),
    ]
    AUTO_FOCUS = "#scenarios"

    def __init__(
        self,
        catalog: Callable[[], Catalog],
        current: str | None = None,
        *,
        can_go_back: bool,
        mystery: bool = False,
        guest: bool = False,
        served: str | None = None,
    ) -> None:
        """``catalog`` lists the scenarios (called in a worker); ``current`` is highlighted first;
        ``mystery``: bugs listed as "bug 1", "bug 2" (mystery-bug mode, README "Teaching with it");
        ``guest``: a served copy, with no box to type a path in, that lists ``served`` (the file it
        was started with) first."""
        super().__init__()
        self.catalog = catalog
        self.current = current
        self.can_go_back = can_go_back
        self.rows: list[tuple[str, str, str, list[str]]] = []
        """(slug, title, description, bugs) of every scenario listed."""
        self.problems: list[str] = []
        """The plugins that could not be listed, each in one line."""
        self.mystery = mystery
        self.paths = not guest
        self.served = served if guest else None

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Label("Choose a scenario", id="picker-title")
            yield OptionList(Option("loading the scenarios…", disabled=True), id="scenarios")
            if self.paths:
                yield Input(
                    placeholder="…or a path to a scenario .py file, then Enter  (/ to type here)", id="path"
                )
        yield Footer(compact=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.paths or action != "focus_path"

    def on_mount(self) -> None:
        self._load_catalog()

    @work(thread=True, exclusive=True, group="catalog", exit_on_error=False)
    def _load_catalog(self) -> None:
        try:
            catalog = self.catalog()
        except Exception as exc:  # a plugin that fails to import must not take the picker down
            failure = failure_of(exc)
            self.app.call_from_thread(self._show_failure, failure)
            return
        rows = _served_rows(self.served) + [
            (s.slug, s.title, s.description, [label for label, _ in door.public_bugs(s, self.mystery)])
            for s in catalog
        ]
        problems = [str(problem) for problem in catalog.problems]  # plugins that failed (a Catalog)
        self.app.call_from_thread(self._fill, rows, problems)

    def _fill(self, rows: list[tuple[str, str, str, list[str]]], problems: list[str] | None = None) -> None:
        if not self.is_mounted:  # dismissed before the catalog arrived
            return
        self.rows = rows
        if problems is not None:
            self.problems = problems
        options = self.query_one("#scenarios", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        limit = max(20, options.scrollable_content_region.width - 4)
        lines = _lines_each(len(rows), options.scrollable_content_region.height)
        for slug, title, description, bugs in rows:
            prompt = Text()
            prompt.append(f"{title}", style="bold")
            prompt.append(f"   {slug}", style=st.ACCENT)
            if lines < FULL and bugs:
                prompt.append(f"   {len(bugs)} bug{'s' if len(bugs) > 1 else ''}", style=st.DIM)
            if lines > 1:
                prompt.append("\n")
                prompt.append(_one_line(description, limit), style=st.PROSE)
            if lines == FULL and bugs:
                prompt.append("\nbugs: ", style=st.DIM)
                prompt.append(", ".join(bugs), style=st.BUG_PLAIN)
            if options.option_count and lines == FULL:
                options.add_option(None)  # a separator line between scenarios
            options.add_option(Option(prompt, id=slug))
        for problem in self.problems:
            if options.option_count:
                options.add_option(None)
            options.add_option(Option(styled(f"not loaded: {problem}", st.MISMATCH_PLAIN), disabled=True))
        slugs = [r[0] for r in rows]
        if highlighted is not None and highlighted < options.option_count:
            options.highlighted = highlighted
        elif self.current in slugs:
            options.highlighted = options.get_option_index(self.current)
        else:
            options.highlighted = 0 if rows else None

    def on_resize(self) -> None:
        if self.rows:
            self.call_after_refresh(self._fill, self.rows)

    def _show_failure(self, failure: Failure) -> None:
        if not self.is_mounted:
            return
        options = self.query_one("#scenarios", OptionList)
        options.clear_options()
        options.add_option(
            Option(styled(f"could not list the scenarios: {failure}", st.MISMATCH), disabled=True)
        )

    @on(OptionList.OptionSelected, "#scenarios")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss(event.option.id)

    @on(Input.Submitted, "#path")
    def _path(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if path:
            self.dismiss(path)

    def action_back(self) -> None:
        if self.can_go_back:
            self.dismiss("")
        else:
            self.query_one("#scenarios").focus()

    def action_focus_path(self) -> None:
        if self.paths:
            self.query_one("#path", Input).focus()


def _served_rows(served: str | None) -> list[tuple[str, str, str, list[str]]]:
    """The row of the file a served copy was started with (a built-in is listed anyway)."""
    if not served or not served.endswith((".py", ".toml")):
        return []
    name = served.replace("\\", "/").rsplit("/", 1)[-1]
    what = "lesson" if served.endswith(".toml") else "scenario"
    return [(served, name, f"The {what} this server was started with (served by the lecturer).", [])]


FULL = 3
"""Lines of a scenario when there is room: title, description, bugs (and a separator)."""


def _lines_each(count: int, height: int) -> int:
    """Lines per scenario so that all ``count`` fit ``height`` rows (the list scrolls past one)."""
    if height <= 0 or count * (FULL + 1) - 1 <= height:
        return FULL
    return 2 if count * 2 <= height else 1


def _one_line(description: str, limit: int = 110) -> str:
    line = " ".join(description.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
