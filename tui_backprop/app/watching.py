"""A widget that watches the model: subscribed while it is mounted, drawn from it on mount.

Mix ``Watching`` in before the Textual widget class, set ``WATCHES`` to the aspects the widget
draws and implement ``model_changed``; the widget then owns its rendering (toolong's habit) and
nothing pushes text into it. A screen that is popped unsubscribes with its widgets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from tui_backprop.app.model.model import EVERYTHING, Aspect, Model


class Watching:
    """``model_changed(touched)`` after every change to the aspects in ``WATCHES`` while mounted."""

    WATCHES: ClassVar[Aspect] = EVERYTHING
    model: Model
    _stop_watching: Callable[[], None] | None = None

    def model_changed(self, touched: Aspect) -> None:
        """Redraw what ``touched`` changed (on mount: everything in ``WATCHES``)."""
        raise NotImplementedError

    def on_mount(self) -> None:
        self._stop_watching = self.model.subscribe(self.model_changed, self.WATCHES)
        self.model_changed(self.WATCHES)

    def on_unmount(self) -> None:
        if self._stop_watching is not None:
            self._stop_watching()
            self._stop_watching = None
