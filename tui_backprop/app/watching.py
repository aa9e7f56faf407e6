"""A widget that watches the model: subscribed while it is mounted, drawn from it on mount.

Mix ``Watching`` in before the Textual widget class, set ``WATCHES`` to the aspects the widget
draws and implement ``model_changed``; the widget then owns its rendering (toolong's habit) and
nothing pushes text into it. A screen that is popped unsubscribes with its widgets.

A widget on a screen hidden under an opaque one (presenter mode, the full tensor view) is not
drawn: Textual would still repaint the top screen wherever it changes. It keeps what it missed
and catches up when its screen shows again, so a step there costs only what is on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from tui_backprop.app.model.model import EVERYTHING, Aspect, Model

NOTHING = Aspect(0)


class Watching:
    """``model_changed(touched)`` after every change to the aspects in ``WATCHES`` while mounted
    and on screen (seen through the screens above it, if any)."""

    WATCHES: ClassVar[Aspect] = EVERYTHING
    model: Model
    _stop_watching: Callable[[], None] | None = None
    _missed: Aspect = NOTHING
    """What changed while the widget's screen was hidden."""

    def model_changed(self, touched: Aspect) -> None:
        """Redraw what ``touched`` changed (on mount: everything in ``WATCHES``)."""
        raise NotImplementedError

    def on_mount(self) -> None:
        self._stop_watching = self.model.subscribe(self._told, self.WATCHES)
        self.app.screen_change_signal.subscribe(self, self._screen_changed, immediate=True)  # type: ignore[attr-defined]
        self.model_changed(self.WATCHES)

    def on_unmount(self) -> None:
        if self._stop_watching is not None:
            self._stop_watching()
            self._stop_watching = None
        self.app.screen_change_signal.unsubscribe(self)  # type: ignore[attr-defined]

    def _told(self, touched: Aspect) -> None:
        if self._hidden():
            self._missed |= touched
        else:
            self.model_changed(touched)

    def _screen_changed(self, _screen: object) -> None:
        """Another screen is on top: catch up on what was missed if this one shows again."""
        if self._missed and not self._hidden():
            missed, self._missed = self._missed, NOTHING
            self.model_changed(missed)

    def _hidden(self) -> bool:
        """Is an opaque screen above this widget's screen (a modal dialog lets it show through)?"""
        screen = self.screen  # type: ignore[attr-defined]
        stack = self.app.screen_stack  # type: ignore[attr-defined]
        if not stack or screen is stack[-1] or screen not in stack:
            return False
        above = stack[stack.index(screen) + 1 :]
        return any(other.styles.background.a >= 1 for other in above)
