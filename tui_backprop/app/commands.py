"""The command palette: every key's action by name, plus scenarios, bugs, dtype and check settings.

posting's habit: nothing is reachable only by a key. Typed settings work too: ``eps 1e-4``,
``rtol 1e-3`` or ``atol 1e-7`` offer to set that value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import partial
from typing import cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui_backprop.app import keys
from tui_backprop.app.host import Host

Command = tuple[str, str, Callable[[], object]]
"""(name, help, callback)."""

SETTING = re.compile(r"^\s*(eps|rtol|atol)\s*[= ]\s*([0-9.eE+-]+)\s*$")


class BackpropCommands(Provider):
    """Commands built from the app's state each time the palette opens."""

    @property
    def backprop(self) -> Host:
        return cast(Host, self.app)

    async def startup(self) -> None:
        self._commands = list(self._build())

    def _build(self) -> Iterator[Command]:
        app = self.backprop
        for binding in keys.DEBUGGER + keys.GLOBAL:
            yield (
                binding.description,
                f"{binding.tooltip}  [{keys.keys_of(binding)}]",
                partial(app.run_action, binding.action),
            )
        for slug, title in app.catalog_names():
            yield (f"Switch scenario: {slug}", title, partial(app.open_scenario, slug))
        session = app.session
        if session is not None:
            for name, description in session.scenario.bugs.items():
                verb = "Switch off bug" if session.bug == name else "Toggle bug"
                target = None if session.bug == name else name
                yield (f"{verb}: {name}", description, partial(app.set_bug, target))
            if session.bug:
                yield ("Switch off the bug", session.bug, partial(app.set_bug, None))
            other = "float32" if session.dtype == "float64" else "float64"
            yield (
                f"Change dtype to {other}",
                "rebuild the trace and check it again",
                partial(app.set_dtype, other),
            )
        yield (
            "Change eps / rtol / atol…",
            "type e.g. 'eps 1e-4' here, or open the settings",
            app.action_edit_settings,
        )
        yield ("Reset eps and tolerances to the dtype's defaults", "", partial(app.set_overrides, None))

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands:
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        match = SETTING.match(query)
        if match:
            field, raw = match.groups()
            try:
                value = float(raw)
            except ValueError:
                value = -1.0
            if value > 0:
                yield Hit(1.0, f"Set {field} = {value:g}", partial(self.backprop.set_setting, field, value))
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, text=name, help=help_text)
