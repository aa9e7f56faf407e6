"""The node list: every node of the graph, one row each, repainting only the rows a step changed.

A Line API scroll view that keeps one rendered strip per (row state, width): equal states render
equal rows, so a step redraws just the rows whose ``RowState`` changed. It posts ``Highlighted``
when the user moves its cursor and ``Selected`` on Enter or a click; the screen routes them.
None of this imports numpy: the app's first frame must not wait for the engine (the rows'
text comes from ``rows.py``, imported once a trace is there).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui_backprop.app.inspector.text_view import text_to_strips
from tui_backprop.app.model.model import Aspect, Model
from tui_backprop.app.watching import Watching

if TYPE_CHECKING:
    from tui_backprop.app.model.session import Session

RowRenderer = Callable[[Any, int], Text]
"""(row state, width) -> the row's text; the state is hashable and equal states render equally."""


class NodeList(Watching, ScrollView, can_focus=True, inherit_bindings=False):
    """The graph's nodes in forward order, one row each, under a header that never scrolls.

    It watches the model: a new session (or digits setting) lays every row out again; a step
    repaints just the rows whose state changed, and moves the cursor to the node looked at.
    """

    WATCHES = (
        Aspect.SESSION
        | Aspect.STEP
        | Aspect.FOCUS
        | Aspect.CHECK
        | Aspect.MARKS
        | Aspect.DISPLAY
        | Aspect.VIEW
    )

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

    def __init__(self, model: Model, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.names: list[str] = []
        self.states: list[Hashable] = []
        self.cursor = 0
        self._render_row: RowRenderer | None = None
        self._render_header: Callable[[int], Text] | None = None
        self._strips: OrderedDict[tuple, Strip] = OrderedDict()
        self.natural_width = 24
        """Width that shows every column; CSS caps it (``width: auto; max-width: ...``)."""
        self.header_key: Hashable = None
        self._stale = False
        self._base: Style | None = None
        """The rows' style from the stylesheet, looked up once per focus change and theme."""

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self.natural_width

    # ------------------------------------------------------------ drawn from the model
    def model_changed(self, touched: Aspect) -> None:
        session = self.model.session
        if session is None:
            return
        if self.model.view == "circuit":  # hidden under the circuit: drawn again when shown
            self._stale = True
            return
        if touched & (Aspect.SESSION | Aspect.DISPLAY) or not self.names or self._stale:
            self._stale = False
            self._show_session(session)
        else:
            self.update_states(session.rows(), session.phase)
        looked_at = self.model.looked_at or session.node_name
        self.move_cursor(session.node_names.index(looked_at))

    def _show_session(self, session: Session) -> None:
        """Every row new: the columns that fit each width, computed once per width and phase."""
        from tui_backprop.app.debugger import rows

        columns: dict[tuple[int, str], list[rows.Column]] = {}

        def columns_at(width: int, phase: str = "backward") -> list[rows.Column]:
            if (width, phase) not in columns:
                columns[width, phase] = rows.columns_for(session, width, phase)
            return columns[width, phase]

        self.natural_width = sum(c.width + 1 for c in columns_at(10_000)) + 1
        self.show(
            session.node_names,
            session.rows(),
            lambda state, width: rows.node_row(session, state, columns_at(width, state.phase)),
            lambda width: rows.header_row(columns_at(width, session.phase)),
            cursor=session.node_names.index(session.node_name),
            header_key=session.phase,
        )
        self.refresh(layout=True)

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
        rows = [row for row, (old, new) in enumerate(zip(self.states, states, strict=True)) if old != new]
        self._refresh_rows(rows, header=header_key != self.header_key)
        self.header_key = header_key
        self.states = list(states)

    def _refresh_rows(self, rows: Sequence[int], header: bool = False) -> None:
        """One repaint of the rows given (by index in the list) that are in view, and the header."""
        top, width, height = int(self.scroll_y), self.size.width, self.size.height
        regions = [Region(0, row - top + 1, width, 1) for row in rows if 1 <= row - top + 1 < height]
        if header:
            regions.append(Region(0, 0, width, 1))
        if regions:
            self.refresh(*regions)

    def move_cursor(self, index: int, *, announce: bool = False) -> None:
        if not self.names:
            return
        index = max(0, min(index, len(self.names) - 1))
        if index != self.cursor:
            self._refresh_rows([self.cursor, index])
            self.cursor = index
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
        base = self._base
        if base is None:
            base = self._base = self.rich_style  # costly on every line; it changes with the focus
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
        self._base = None

    def on_focus(self) -> None:
        self._base = None
        self.refresh()

    def on_blur(self) -> None:
        self._base = None
        self.refresh()
