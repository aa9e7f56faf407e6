"""Widgets that draw only what is visible and repaint only what changed.

The node list and the inspector are Line API scroll views: the node list keeps one rendered strip
per (row state, width) and, on a step, repaints just the rows whose state changed; the inspector
turns its text into strips once per (text, width) and hands the compositor only visible lines.
None of this imports numpy: the app's first frame must not wait for the engine.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

RowRenderer = Callable[[Any, int], Text]
"""(row state, width) -> the row's text; the state is hashable and equal states render equally."""


def text_to_strips(widget: ScrollView | Static, text: Text, width: int, base: Style) -> list[Strip]:
    """Wrap Rich text to ``width`` cells, padded and on the widget's background."""
    console = widget.app.console
    options = console.options.update(width=width, height=None, highlight=False)
    lines = console.render_lines(text, options, style=base, pad=True)
    return [Strip(line, width) for line in lines]


class NodeList(ScrollView, can_focus=True, inherit_bindings=False):
    """The graph's nodes in forward order, one row each, under a header that never scrolls."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="nodes.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="nodes.down"),
        Binding("pageup", "cursor(-10)", "Page up", show=False, id="nodes.page_up"),
        Binding("pagedown", "cursor(10)", "Page down", show=False, id="nodes.page_down"),
        Binding("enter", "select", "Go to node", show=False, id="nodes.select"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"nodelist--header", "nodelist--cursor"}

    class Highlighted(Message):
        """The user moved the list cursor to a node (the inspector peeks at it)."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    class Selected(Message):
        """The user chose a node (Enter or click): jump to its step."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.names: list[str] = []
        self.states: list[Hashable] = []
        self.cursor = 0
        self._render_row: RowRenderer | None = None
        self._render_header: Callable[[int], Text] | None = None
        self._strips: OrderedDict[tuple, Strip] = OrderedDict()
        self.natural_width = 24
        self.header_key: Hashable = None
        """Width that shows every column; CSS caps it (``width: auto; max-width: ...``)."""

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self.natural_width

    # ------------------------------------------------------------ feeding it
    def show(
        self,
        names: Sequence[str],
        states: Sequence[Hashable],
        render_row: RowRenderer,
        render_header: Callable[[int], Text],
        cursor: int = 0,
        header_key: Hashable = None,
    ) -> None:
        """A new graph: every row is new."""
        self.header_key = header_key
        self.names = list(names)
        self.states = list(states)
        self._render_row = render_row
        self._render_header = render_header
        self._strips.clear()
        self.cursor = max(0, min(cursor, len(self.names) - 1))
        self.virtual_size = Size(max(1, self.size.width), len(self.names) + 1)
        self.refresh()
        self.call_after_refresh(self.scroll_to_cursor)

    def update_states(self, states: Sequence[Hashable], header_key: Hashable = None) -> None:
        """Repaint just the rows whose state changed (and the header when its key did)."""
        if header_key != self.header_key:
            self.header_key = header_key
            self.refresh_line(0)
        y0 = int(self.scroll_y)
        for row, (old, new) in enumerate(zip(self.states, states, strict=True)):
            if old != new:
                self.refresh_line(row - y0 + 1)
        self.states = list(states)

    def move_cursor(self, index: int, *, announce: bool = False) -> None:
        if not self.names:
            return
        index = max(0, min(index, len(self.names) - 1))
        if index != self.cursor:
            y0 = int(self.scroll_y)
            self.refresh_line(self.cursor - y0 + 1)
            self.cursor = index
            self.refresh_line(index - y0 + 1)
        self.scroll_to_cursor()
        if announce:
            self.post_message(self.Highlighted(self.names[index]))

    def scroll_to_cursor(self) -> None:
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False)

    # ------------------------------------------------------------ actions and mouse
    def action_cursor(self, delta: int) -> None:
        self.move_cursor(self.cursor + delta, announce=True)

    def action_select(self) -> None:
        if self.names:
            self.post_message(self.Selected(self.names[self.cursor]))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        row = int(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self.names):
            self.move_cursor(row, announce=True)
            self.post_message(self.Selected(self.names[row]))

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(max(1, event.size.width), len(self.names) + 1)
        self.scroll_to_cursor()

    # ------------------------------------------------------------ drawing
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if width <= 0:
            return Strip([])
        if y == 0:
            key = ("header", width, self.header_key)
            strip = self._strips.get(key)
            if strip is None and self._render_header is not None:
                header_style = base + self.get_component_rich_style("nodelist--header")
                strip = self._cache(
                    key, text_to_strips(self, self._render_header(width), width, header_style)[0]
                )
            return strip or Strip.blank(width, base)
        row = int(self.scroll_y) + y - 1
        if not 0 <= row < len(self.names) or self._render_row is None:
            return Strip.blank(width, base)
        selected = row == self.cursor
        key = (self.states[row], width, selected, self.has_focus)
        strip = self._strips.get(key)
        if strip is None:
            strip = text_to_strips(self, self._render_row(self.states[row], width), width, base)[0]
            if selected:
                cursor = self.get_component_rich_style("nodelist--cursor", partial=True)
                strip = Strip(Segment.apply_style(strip, post_style=cursor), width)
            strip = self._cache(key, strip)
        return strip

    def _cache(self, key: tuple, strip: Strip) -> Strip:
        self._strips[key] = strip
        if len(self._strips) > 512:
            self._strips.popitem(last=False)
        return strip

    def notify_style_update(self) -> None:
        """A theme or CSS change: cached strips carry the old colours."""
        super().notify_style_update()
        self._strips.clear()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


class TextView(ScrollView, can_focus=True, inherit_bindings=False):
    """Rich text made for the view's width, rendered once per (text, width), shown a visible line at a time.

    The content is a function of the width (``set_content``), so a narrower panel gets text laid
    out for it (tables that drop columns, lines that hang under their indent) rather than text
    wrapped after the fact.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_up", "Scroll up", show=False, id="inspector.up"),
        Binding("down", "scroll_down", "Scroll down", show=False, id="inspector.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="inspector.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="inspector.page_down"),
    ]

    def __init__(self, text: Text | str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        fixed = Text(text) if isinstance(text, str) else text
        self._make: Callable[[int], Text] = lambda width: fixed
        self._text = fixed
        self._strips: list[Strip] = []
        self._rendered: tuple[int, int] | None = None
        self._cache: OrderedDict[tuple[int, int], tuple[Text, list[Strip]]] = OrderedDict()
        self._key: Hashable = None

    @property
    def text(self) -> Text:
        return self._text

    @property
    def plain(self) -> str:
        """The text as shown, for tests."""
        return self._text.plain

    def set_text(self, text: Text) -> None:
        """Show a fixed text (a placeholder)."""
        self.set_content(lambda width: text)

    def set_content(self, make: Callable[[int], Text], key: Hashable = None) -> None:
        """Show ``make(width)``; called again whenever the width changes.

        A new ``key`` (another node, another step) scrolls back to the top; the same key (the
        check reporting on the shown node) keeps the reader's place.
        """
        self._make = make
        if key != self._key:
            self._key = key
            self.set_reactive(ScrollView.scroll_y, 0.0)
        self._layout()
        self.refresh()

    def _layout(self) -> None:
        width = self.scrollable_content_region.width
        self._text = self._make(width if width > 0 else 60)
        if width <= 0:
            self._strips = []
            self._rendered = None
            return
        key = (id(self._text), width)
        cached = self._cache.get(key)
        if cached is not None and cached[0] is self._text:
            strips = cached[1]
        else:
            # The text is kept beside its strips so its id cannot be reused while cached.
            strips = text_to_strips(self, self._text, width, self.rich_style)
            self._cache[key] = (self._text, strips)
            if len(self._cache) > 64:
                self._cache.popitem(last=False)
        self._strips = strips
        self._rendered = key
        size = Size(width, len(strips))
        if size.width == self.virtual_size.width and size != self.virtual_size:
            # Only the height changed: update the scroll range without a layout pass over the
            # whole screen (the vertical scrollbar is always shown, so nothing moves).
            self.set_reactive(ScrollView.virtual_size, size)
            self._scroll_update(size)
            self.set_reactive(ScrollView.scroll_y, self.validate_scroll_y(self.scroll_y))
        elif size != self.virtual_size:
            self.virtual_size = size

    def forget(self) -> None:
        """Drop cached renders (the texts they were made from are gone)."""
        self._cache.clear()

    def notify_style_update(self) -> None:
        """A theme or CSS change: cached strips carry the old background."""
        super().notify_style_update()
        self._cache.clear()
        self._rendered = None

    def on_resize(self, event: events.Resize) -> None:
        self._layout()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if width <= 0:
            return Strip([])
        if self._rendered is None or self._rendered[1] != width:
            self._layout()
        index = int(self.scroll_y) + y
        if 0 <= index < len(self._strips):
            return self._strips[index]
        return Strip.blank(width, self.rich_style)


class StatusBar(Static):
    """One line: scenario, bug, phase, step, output, mismatches, dtype and eps, check progress."""

    def set_text(self, text: Text) -> None:
        self.update(text, layout=False)
