"""The screens around the stepping view: picker, error, help, bug chooser, check settings.

Each is small, is handed what it shows, and talks to the app only through the value it dismisses
with (or an ``app.`` action), so the app stays the one place that opens scenarios and runs
checks and no screen imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_backprop.app import keys
from tui_backprop.app.dialog import AnswersOnce
from tui_backprop.app.engine import Failure, Overrides

if TYPE_CHECKING:
    from tui_backprop.core.scenarios import Scenario


class PickerScreen(AnswersOnce, Screen[str]):
    """Every scenario with its title and one-line description; Enter opens one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="picker.back", tooltip="Back to the stepping view"),
        Binding("slash", "focus_path", "Path", id="picker.path", tooltip="Type a path to a scenario .py"),
    ]
    AUTO_FOCUS = "#scenarios"

    def __init__(
        self, catalog: Callable[[], Sequence[Scenario]], current: str | None = None, *, can_go_back: bool
    ) -> None:
        """``catalog`` lists the scenarios (called in a worker); ``current`` is highlighted first."""
        super().__init__()
        self.catalog = catalog
        self.current = current
        self.can_go_back = can_go_back

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Label("Choose a scenario", id="picker-title")
            yield OptionList(Option("loading the scenarios…", disabled=True), id="scenarios")
            yield Input(
                placeholder="…or a path to a scenario .py file, then Enter  (/ to type here)", id="path"
            )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._load_catalog()

    @work(thread=True, exclusive=True, group="catalog", exit_on_error=False)
    def _load_catalog(self) -> None:
        try:
            catalog = self.catalog()
        except Exception as exc:  # a plugin that fails to import must not take the picker down
            from tui_backprop.app.engine import failure_of

            failure = failure_of(exc)
            self.app.call_from_thread(self._show_failure, failure)
            return
        rows = [(s.slug, s.title, s.description, list(s.bugs)) for s in catalog]
        problems = [str(problem) for problem in getattr(catalog, "problems", ())]  # plugins that failed
        self.app.call_from_thread(self._fill, rows, problems)

    def _fill(self, rows: list[tuple[str, str, str, list[str]]], problems: list[str] | None = None) -> None:
        if not self.is_mounted:  # dismissed before the catalog arrived
            return
        self._rows = rows
        self._problems = problems = getattr(self, "_problems", []) if problems is None else problems
        options = self.query_one("#scenarios", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        limit = max(20, options.scrollable_content_region.width - 4)
        for slug, title, description, bugs in rows:
            prompt = Text()
            prompt.append(f"{title}", style="bold")
            prompt.append(f"   {slug}", style="#80cbc4")
            prompt.append("\n")
            prompt.append(_one_line(description, limit), style="#b0b0b0")
            if bugs:
                prompt.append("\nbugs: ", style="#8a8a8a")
                prompt.append(", ".join(bugs), style="#ff8a80")
            if options.option_count:
                options.add_option(None)  # a separator line between scenarios
            options.add_option(Option(prompt, id=slug))
        for problem in problems:
            if options.option_count:
                options.add_option(None)
            options.add_option(Option(Text(f"not loaded: {problem}", style="#ff5252"), disabled=True))
        slugs = [r[0] for r in rows]
        if highlighted is not None and highlighted < options.option_count:
            options.highlighted = highlighted
        elif self.current in slugs:
            options.highlighted = options.get_option_index(self.current)
        else:
            options.highlighted = 0 if rows else None

    def on_resize(self) -> None:
        rows = getattr(self, "_rows", None)
        if rows:
            self.call_after_refresh(self._fill, rows)

    def _show_failure(self, failure: Failure) -> None:
        if not self.is_mounted:
            return
        options = self.query_one("#scenarios", OptionList)
        options.clear_options()
        options.add_option(
            Option(Text(f"could not list the scenarios: {failure}", style="bold #ff5252"), disabled=True)
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
        self.query_one("#path", Input).focus()


def _one_line(description: str, limit: int = 110) -> str:
    line = " ".join(description.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


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

    def __init__(self, spec: str, failure: Failure, has_trace: bool) -> None:
        super().__init__()
        self.spec = spec
        self.failure = failure
        self.has_trace = has_trace

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box"):
            yield Static(self._text(), id="error-text")
        yield Footer(compact=True)

    def _text(self) -> Text:
        f = self.failure
        text = Text()
        text.append(" ✗ could not open ", style="bold #ffffff on #b3261e")
        text.append(f" {self.spec}\n\n", style="bold")
        text.append(f.message + "\n", style="bold #ff8a80")
        if f.where:
            text.append("\nat ", style="#8a8a8a")
            text.append(f.where, style="bold underline")
            text.append("\n")
            text.append_text(_source_excerpt(f.filename, f.lineno))
        text.append("\n")
        if self.spec.endswith(".py"):
            text.append("Fix the file and save it: it reloads by itself.\n", style="#b0b0b0")
        text.append("o", style="bold")
        text.append(" or Enter: pick a scenario   ", style="#b0b0b0")
        text.append("r", style="bold")
        text.append(": retry   ", style="#b0b0b0")
        if self.has_trace:
            text.append("Esc", style="bold")
            text.append(": back to the last good trace   ", style="#b0b0b0")
        text.append("q", style="bold")
        text.append(": quit", style="#b0b0b0")
        return text

    def show(self, spec: str, failure: Failure, has_trace: bool) -> None:
        """Replace the shown error (a second failure while this one is up)."""
        self.spec, self.failure, self.has_trace = spec, failure, has_trace
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
        text.append(f"{'→' if here else ' '} {k:>4} │ ", style="bold #ff5252" if here else "#6b6b6b")
        text.append(lines[k - 1].rstrip()[:200] + "\n", style="bold" if here else "#b0b0b0")
    return text


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
                "#b0b0b0",
            ),
        )
    ]

    def section(title: str, rows: list[tuple[str, str, str]]) -> None:
        table = Table.grid(padding=(0, 2))
        table.add_column(width=20, no_wrap=True)
        table.add_column(ratio=1)
        for key, what, style in rows:
            table.add_row(Text(key, style=style), what)
        parts.append(Text(f"\n{title}", style="bold #9cc3e6"))
        parts.append(table)

    for title, ids in keys.SECTIONS:
        section(
            title, [(keys.keys_of(found[i]), found[i].tooltip or found[i].description, "bold") for i in ids]
        )
    section("Node list and inspector", [(key, what, "bold") for key, what in keys.NODE_LIST])
    legend = [
        ("✓ ok", "#4caf50", "analytic and numeric gradients agree"),
        ("✗ mismatch", "#ff5252", "the gradient differs from its numeric estimate"),
        ("✗ BLAME", "#ff5252", "this node's own backward rule fails its local check: the bug is here"),
        ("~ kink", "#e0a526", "the ±eps probe straddles a corner of relu, |x| or max: expected"),
        ("! nan/inf", "#c77dff", "a NaN or an infinity first appears here (non-finite)"),
        ("… pending", "#8a8a8a", "the check has not reached this node yet"),
        ("▶  ●  ◉", "bold", "the current step's node; a breakpoint; both"),
        ("·", "#8a8a8a", "not computed yet at this step (values), not reached yet (gradients)"),
        ("1.234!  5.678~", "bold", "a mismatching element (!) and a kink (~) inside a tensor"),
    ]
    section("Reading the screen", [(mark, what, style) for mark, style, what in legend])
    return Group(*parts)


class BugScreen(AnswersOnce, ModalScreen[str | None]):
    """Choose one of the scenario's named bugs, or none."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="bug.cancel", tooltip="Keep the current bug")
    ]
    AUTO_FOCUS = "#bugs"

    def __init__(self, bugs: dict[str, str], current: str | None) -> None:
        super().__init__()
        self.bugs = bugs
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="bug-box"):
            yield Label("Switch a bug on (Enter) or off", id="bug-title")
            options = [Option(Text("no bug: the textbook backward rules", style="bold"), id="")]
            for name, description in self.bugs.items():
                prompt = Text()
                prompt.append(name, style="bold #ff8a80")
                prompt.append(f"\n{description}", style="#b0b0b0")
                options.append(Option(prompt, id=name))
            if not self.bugs:
                options.append(Option(Text("this scenario declares no bugs", style="#8a8a8a"), disabled=True))
            yield OptionList(*options, id="bugs")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        names = ["", *self.bugs]
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
                    Text(f"{field} must be a positive number, not {raw!r}", style="bold #ff5252")
                )
                return
            values[field] = number
        self.dismiss(Overrides(**values))

    def action_cancel(self) -> None:
        self.dismiss(None)
