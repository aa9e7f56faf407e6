"""What the command palette may ask of the app, as a Protocol: the palette never imports the app.

``BackpropApp`` satisfies it; a test can hand the palette anything else that does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tui_backprop.app.engine import Overrides
    from tui_backprop.app.session import Session


class Host(Protocol):
    """The app's operations that commands name: open, switch bug or dtype, change check settings."""

    session: Session | None

    async def run_action(self, action: str, default_namespace: Any = None) -> bool: ...

    def catalog_names(self) -> list[tuple[str, str]]: ...

    def open_scenario(
        self, spec: str, bug: str | None = None, dtype: str | None = None, *, keep_position: bool = False
    ) -> None: ...

    def set_bug(self, bug: str | None) -> None: ...

    def set_dtype(self, dtype: str) -> None: ...

    def set_overrides(self, overrides: Overrides | None) -> None: ...

    def set_setting(self, field: str, value: float) -> None: ...

    def set_digits(self, digits: int) -> None: ...

    def action_edit_settings(self) -> None: ...
