"""Every screen the app pushes answers at most once.

Keys arrive in bursts (a paste, a held key, a fast typist): a second Enter or an Escape can reach
a dialog after it has dismissed itself but before Textual has popped it. Dismissing twice pops a
screen that is not this one (``ScreenStackError``) or answers the callback twice. ``AnswersOnce``
ignores every dismiss after the first, and any dismiss while the screen is not the one on top.
New screens (in any module) mix it in before Textual's screen class.
"""

from __future__ import annotations

from typing import Any

from textual.await_complete import AwaitComplete


class AnswersOnce:
    """Mix in before ``Screen``/``ModalScreen``: ``dismiss`` works once, and only on top."""

    _answered = False

    def dismiss(self, result: Any = None) -> AwaitComplete:
        screen: Any = self
        if self._answered or not screen.is_attached or screen.app.screen is not screen:
            return AwaitComplete()
        self._answered = True
        return super().dismiss(result)  # type: ignore[misc]
