"""A scroll view of Rich text laid out for its width, rendered once per (text, width), drawn a line at a time.

The inspector is one; so is any panel whose text is long and changes often. Only the visible
lines reach the compositor, and a change of height alone does not lay the screen out again. It
draws its own padding and vertical scroll bar, with Textual's glyphs and colours: Textual's
scroll bar widget renders every one of its lines through Rich again whenever the text's height
changes, which on a step cost more than the text itself (``benchmarks/bench_ui.py``). None of
this imports numpy: the app's first frame must not wait for the engine.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from math import ceil
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBarRender
from textual.strip import Strip
from textual.widget import Widget

from tui_backprop.app.finished_lines import FinishedLines


def text_to_strips(widget: Widget, text: Text, width: int, base: Style) -> list[Strip]:
    """Wrap Rich text to ``width`` cells, padded and on the widget's background."""
    console = widget.app.console
    options = console.options.update(width=width, height=None, highlight=False)
    lines = console.render_lines(text, options, style=base, pad=True)
    return [Strip(line, width) for line in lines]


class TextView(FinishedLines, ScrollView, can_focus=True, inherit_bindings=False):
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
        self._visible: list[Strip] | None = None
        self._joined: dict[tuple[int, int], tuple[Strip, Segment, Strip]] = {}
        """Whole lines by (text line, scroll bar cell), both by identity (the cells are kept in
        ``_bars``): a line drawn once is not made again."""
        self._blank: Strip | None = None
        """The visible lines as drawn (None: draw them again)."""
        self._bars: dict[tuple[int, float, float], tuple[Segment, list[Segment]]] = {}
        """The padding cell and the scroll bar's cells by (height, text height, position)."""
        self._cells: dict[Segment, Segment] = {}

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
        before = self._visible
        self._layout()
        self._repaint_changed(before)

    def _repaint_changed(self, before: list[Strip] | None) -> None:
        """Repaint only the lines that differ from what is on screen (a step to another node keeps
        the blank lines under a short text, and often its headings)."""
        if before is None or not self.is_mounted:
            self.refresh()
            return
        after = self._draw()
        width = self.size.width
        changed = [
            Region(0, y, width, 1)
            for y in range(max(len(before), len(after)))
            if y >= len(before) or y >= len(after) or (before[y] is not after[y] and before[y] != after[y])
        ]
        if changed:
            self.refresh(*changed)

    @property
    def text_width(self) -> int:
        """Cells for the text: the width less a padding cell each side and the scroll bar."""
        return self.scrollable_content_region.width - 3

    def _layout(self) -> None:
        width = self.text_width
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
        self._visible = None
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
        self._forget_lines()

    def on_resize(self, event: events.Resize) -> None:
        self._layout()

    def on_focus(self) -> None:
        self._forget_lines()  # the background, and the padding cells with it, follow the focus

    def on_blur(self) -> None:
        self._forget_lines()

    def _forget_lines(self) -> None:
        self._visible = None
        self._joined.clear()
        self._blank = None
        self._bars.clear()
        self._cells.clear()

    def watch_scroll_y(self, old: float, new: float) -> None:
        self._visible = None  # the thumb moves
        super().watch_scroll_y(old, new)

    def render_line(self, y: int) -> Strip:
        if self._rendered is None:  # laid out again on every resize (on_resize)
            self._layout()
        lines = self._visible if self._visible is not None else self._draw()
        return lines[y] if y < len(lines) else Strip([])

    def _draw(self) -> list[Strip]:
        """Every visible line whole: a padding cell, the text, the scroll bar as Textual draws it
        (its glyphs, colours and click-above / click-below actions), a padding cell. Drawn again
        only when the text, its height, the scroll position, the size or the style change, so a
        repaint of the screen around it costs a lookup per line."""
        width = self.text_width
        height = self.scrollable_content_region.height
        if width <= 0 or height <= 0:
            self._visible = []
            return self._visible
        bar_key = (height, self.virtual_size.height, self.scroll_y)
        drawn = self._bars.get(bar_key)
        if drawn is None:
            drawn = self._bars[bar_key] = self._bar(height)
            if len(self._bars) > 256:
                self._bars.clear()
        pad, cells = drawn
        top = int(self.scroll_y)
        blank = self._blank_line(width)
        lines = []
        for y, cell in enumerate(cells):
            text = self._strips[top + y] if top + y < len(self._strips) else blank
            joined = self._joined.get((id(text), id(cell)))
            if joined is None or joined[0] is not text or joined[1] is not cell:
                if len(self._joined) > 4096:
                    self._joined.clear()
                line = Strip([pad, *text, cell, pad], width + 3)
                joined = self._joined[id(text), id(cell)] = (text, cell, line)
            lines.append(joined[2])
        self._visible = lines
        return lines

    def _bar(self, height: int) -> tuple[Segment, list[Segment]]:
        """The padding cell and the scroll bar's cells at this height, text height and position."""
        styles = self.styles
        background, color = styles.scrollbar_background, styles.scrollbar_color
        if background.a < 1:
            background = self.background_colors[0] + background
        color = background + color
        virtual = self.virtual_size.height
        bar = ScrollBarRender.render_bar(
            size=height,
            virtual_size=ceil(virtual),
            window_size=height if height < virtual else 0,
            position=self.scroll_y,
            thickness=1,
            vertical=True,
            back_color=background.rich_color,
            bar_color=color.rich_color,
        )
        pad = Segment(" ", Style(bgcolor=self.rich_style.bgcolor))
        cells = [_without_grab(segment) for segment in bar.segments if segment.text]
        return pad, [self._cells.setdefault(cell, cell) for cell in cells]  # equal cells: one object

    def _blank_line(self, width: int) -> Strip:
        """The text's blank line below its end, one object per width (so its drawn lines are kept)."""
        if self._blank is None or self._blank.cell_length != width:
            self._blank = Strip.blank(width, self.rich_style)
        return self._blank


def _without_grab(cell: Segment) -> Segment:
    """A bar cell without the thumb's drag action (only Textual's scroll bar widget can grab)."""
    style = cell.style
    if style is not None and style.meta.get("@mouse.down") == "grab":
        return Segment(cell.text, style.clear_meta_and_links())
    return cell
