"""The status line widget: one line drawn from the model, laid out for its width when it is drawn.

A Line API widget rather than a ``Static``: a step changes its text but never its size, so it
repaints its one line and never asks for a layout of the screen. The line's words are in
``status_text.py`` (imported once a trace is there: the first frame shows the title alone).
"""

from __future__ import annotations

from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from tui_backprop.app.finished_lines import FinishedLines
from tui_backprop.app.inspector.text_view import text_to_strips
from tui_backprop.app.model.model import Aspect, Model
from tui_backprop.app.watching import Watching


class StatusBar(Watching, FinishedLines, Widget):
    """Scenario, bug, phase, step, output, failures, dtype and eps, check progress, and what is on."""

    WATCHES = ~(Aspect.FOCUS | Aspect.VIEW | Aspect.FAILURE)

    def __init__(self, model: Model, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = model
        self._line: tuple[int, Text, Strip] | None = None
        self._drawn: dict[tuple, Strip] = {}
        """Lines drawn before, by their words and styles: stepping back costs a lookup."""

    def model_changed(self, touched: Aspect) -> None:
        self._line = None
        self.refresh()

    def line(self, width: int) -> Text:
        """The line for ``width`` cells: the full one, or the compact one when it does not fit."""
        model = self.model
        session = model.session
        if session is None:  # no numpy yet: the first frame is drawn before the engine is imported
            return Text(f" {model.title} ", style="bold")
        from tui_backprop.app.debugger.status_text import extras, status_line

        return status_line(session, model.title, model.progress, extras(model), width, model.bug_label())

    def render(self) -> Text:
        """The line as text (what a test or a screen reader reads); ``render_line`` draws it."""
        return self.line(self.size.width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y or width <= 0:
            return Strip.blank(max(0, width), base)
        if self._line is None or self._line[0] != width:
            text = self.line(width)
            key = (width, text.plain, tuple(text.spans))
            strip = self._drawn.get(key)
            if strip is None:
                strip = self._drawn[key] = text_to_strips(self, text, width, base)[0]
                if len(self._drawn) > 512:
                    self._drawn.clear()
            self._line = (width, text, strip)
        return self._line[2]

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._line = None
        self._drawn.clear()
