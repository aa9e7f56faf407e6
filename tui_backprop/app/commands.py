"""The command palette: every key's action by name, plus scenarios, bugs, dtype and check settings.

posting's habit: nothing is reachable only by a key. Typed settings work too: ``eps 1e-4``,
``rtol 1e-3`` or ``atol 1e-7`` offer to set that value, ``digits 8`` the significant digits shown,
``follow W1[1, 0]`` the element every view follows, ``lr 0.05`` or ``momentum 0.9`` the update step,
``train 50`` fifty iterations.
Every name and help line is handed over as ``Content`` (literal text), never as markup: key hints
like ``[v]`` and a scenario author's ``[/]`` show as typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, cast

from textual.command import CommandList, CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from tui_backprop.app import keys
from tui_backprop.app.screens.dialog import AnswersOnce

if TYPE_CHECKING:
    from tui_backprop.app.model.elements import Elements
    from tui_backprop.app.model.loading import Loader
    from tui_backprop.app.model.model import Model
    from tui_backprop.app.train.service import Trainer

Command = tuple[str, str, Callable[[], object]]
"""(name, help, callback)."""

DIGITS = re.compile(r"^\s*digits\s*[= ]\s*(\d{1,2})\s*$")
FOLLOW = re.compile(r"^\s*follow\s+(\S.*)$")
OPTIMIZER = re.compile(r"^\s*(lr|momentum)\s*[= ]\s*([0-9.eE+-]+)\s*$")
TRAIN = re.compile(r"^\s*train\s+(\d{1,5})\s*$")
SETTING = re.compile(r"^\s*(eps|rtol|atol)\s*[= ]\s*([0-9.eE+-]+)\s*$")


class Host(Protocol):
    """What the palette may ask of the app (the palette never imports it): its model, the loader
    that opens scenarios and changes the check's settings, and its actions by name."""

    model: Model
    loader: Loader

    async def run_action(self, action: str, default_namespace: Any = None) -> bool: ...

    def action_edit_settings(self) -> None: ...

    @property
    def trainer(self) -> Trainer: ...

    @property
    def elements(self) -> Elements: ...


class BackpropCommands(Provider):
    """Commands built from the app's state each time the palette opens."""

    @property
    def backprop(self) -> Host:
        return cast(Host, self.app)

    async def startup(self) -> None:
        self._commands = list(self._build())

    def _build(self) -> Iterator[Command]:
        app = self.backprop
        for binding in keys.every():
            yield (
                keys.PALETTE_NAMES.get(binding.id or "", binding.description),
                f"{binding.tooltip}  [{keys.keys_of(binding)}]",
                partial(app.run_action, binding.action),
            )
        loader = app.loader
        for slug, title in loader.catalog_names():
            yield (f"Switch scenario: {slug}", title, partial(loader.open, slug))
        session = app.model.session
        if session is not None:
            for name, label, description in app.model.bugs():  # "bug 2", undescribed, in mystery mode
                verb = "Switch off bug" if session.bug == name else "Toggle bug"
                target = None if session.bug == name else name
                yield (f"{verb}: {label}", description, partial(loader.set_bug, target))
            if session.bug:
                yield ("Switch off the bug", app.model.bug_label() or "", partial(loader.set_bug, None))
            other = "float32" if session.dtype == "float64" else "float64"
            yield (
                f"Change dtype to {other}",
                "rebuild the trace and check it again",
                partial(loader.set_dtype, other),
            )
        if not app.model.secret:
            yield (
                "Mystery-bug mode on",
                'bugs shown as "bug 1", "bug 2", with no name or description, until X reveals them',
                partial(app.model.set_mystery, True),
            )
        yield (
            "Follow the default element",
            "the tensor looked at follows its first flagged element, else its largest gradient  [f NAME]",
            app.elements.forget,
        )
        yield (
            "Change eps / rtol / atol…",
            "type e.g. 'eps 1e-4' here, or open the settings",
            app.action_edit_settings,
        )
        yield ("Reset eps and tolerances to the dtype's defaults", "", partial(loader.set_overrides, None))

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands:
            yield DiscoveryHit(Content(name), callback, text=name, help=Content(help_text))  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        digits = DIGITS.match(query)
        if digits:
            count = int(digits.group(1))
            yield Hit(
                1.0,
                Content(f"Show {count} significant digits"),
                partial(self.backprop.model.set_digits, count),
            )
        follow = FOLLOW.match(query)
        if follow:
            typed = follow.group(1).strip()
            yield Hit(1.0, Content(f"Follow {typed}"), partial(self.backprop.elements.follow_or_say, typed))
        optimizer = OPTIMIZER.match(query)
        if optimizer:
            typed = f"{optimizer.group(1)} {optimizer.group(2)}"
            yield Hit(1.0, Content(f"Set {typed}"), partial(self.backprop.trainer.set_from_text, typed))
        train = TRAIN.match(query)
        if train:
            yield Hit(
                1.0,
                Content(f"Train {train.group(1)} iterations"),
                partial(self.backprop.trainer.train_typed, train.group(1)),
            )
        match = SETTING.match(query)
        if match:
            field, raw = match.groups()
            try:
                value = float(raw)
            except ValueError:
                value = -1.0
            if value > 0:
                yield Hit(
                    1.0,
                    Content(f"Set {field} = {value:g}"),
                    partial(self.backprop.loader.set_setting, field, value),
                )
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands:
            score = matcher.match(name)
            if score > 0:
                shown = Content(name) if "[" in name else matcher.highlight(name)  # highlight parses markup
                yield Hit(score, shown, callback, text=name, help=Content(help_text))  # type: ignore[arg-type]


class Palette(AnswersOnce, CommandPalette):
    """Textual's command palette with two crashes of its own guarded (Textual 8.2; README, Development).

    Keys arrive in bursts. PageUp/PageDown sent before the command list was first laid out
    index the list's line map while it is still empty (``OptionList._move_page``: KeyError 0).
    And a search started by a keystroke that was still queued when Escape closed the palette
    refreshes a list that has been removed (``_refresh_command_list`` → ``_watch__list_visible``:
    NoMatches). The first waits until the list has a size; the second is dropped once the
    palette is no longer on the screen stack.
    """

    def _gone(self) -> bool:
        return not self.is_attached or self not in self.app.screen_stack

    def _action_command_list(self, action: str) -> None:
        if action in ("page_up", "page_down") and not self.query_one(CommandList).scrollable_content_region:
            return  # not laid out yet: there is no page to move by
        super()._action_command_list(action)

    def _refresh_command_list(self, command_list: CommandList, commands: list, clear_current: bool) -> None:
        if not self._gone():
            super()._refresh_command_list(command_list, commands, clear_current)

    def _watch__list_visible(self) -> None:
        if not self._gone():
            super()._watch__list_visible()

    async def _watch__show_busy(self) -> None:
        if not self._gone():
            await super()._watch__show_busy()
