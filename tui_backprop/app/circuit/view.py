"""The circuit view: the graph drawn as gates and wires, filled in step by step (README: "Teaching with it").

It watches the model while the circuit is the view shown. The geometry comes from ``layout.py``
once per graph (and digits setting); a step gives each row new label text and styles
(``labels.py``), and only rows whose content changed are drawn again. Values are above each
wire, gradients below it (green and red in the stylesheet), and position and marks carry the
meaning too, for projectors that wash colours out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui_backprop.app.circuit.layout import Layout
from tui_backprop.app.look import digits as display
from tui_backprop.app.look import styles as st
from tui_backprop.app.model.model import Aspect, Model
from tui_backprop.app.watching import Watching

if TYPE_CHECKING:
    from tui_backprop.app.circuit.labels import CircuitState, Plan
    from tui_backprop.app.model.session import Session

Overlay = tuple[int, str, str]
"""(x, text, style) written over a row of the static drawing."""
HiddenWire = Callable[[], "tuple[str, str] | None"]
"""The wire (and which label) the quiz hides as ``?`` (``Quiz.hidden_wire``)."""

STATIC = {"wire": st.WIRE, "gate": "bold", "leaf": st.LABEL, "shape": st.DIM}
"""The styles of the drawing itself: wires, gates, leaf names, shapes."""
LIT = st.BACKWARD
"""The wires a step moves a number along."""

FLAT_BELOW = 32
"""Terminals with fewer rows write small matrices on one line (``[1 2; 3 4]``) in the circuit."""
_DOUBLE = str.maketrans("╭╮╰╯─│┤├", "╔╗╚╝═║╢╟")
CACHED_STEPS = 256
"""Steps whose labels and overlays are kept."""


class CircuitView(Watching, ScrollView, can_focus=True, inherit_bindings=False):
    """Gates and wires with each wire's value above it and gradient below; follows the current gate."""

    WATCHES = (
        Aspect.SESSION
        | Aspect.STEP
        | Aspect.FOCUS
        | Aspect.CHECK
        | Aspect.DISPLAY
        | Aspect.QUIZ
        | Aspect.VIEW
        | Aspect.ELEMENT
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Scroll up", show=False, id="circuit.up"),
        Binding("down,j", "scroll_down", "Scroll down", show=False, id="circuit.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="circuit.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="circuit.page_down"),
        Binding("shift+left", "scroll_left", "Scroll left", show=False, id="circuit.left"),
        Binding("shift+right", "scroll_right", "Scroll right", show=False, id="circuit.right"),
    ]

    class Selected(Message):
        """A gate or leaf was clicked: jump to its step."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, model: Model, hidden_wire: HiddenWire | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.hidden_wire = hidden_wire
        self.layout_: Layout | None = None
        self.plan: Plan | None = None
        self._layout_key: tuple[int, int, bool] | None = None
        self._states: OrderedDict[tuple, CircuitState] = OrderedDict()
        """What each step (at each check's progress) writes, kept: stepping back costs a lookup."""
        self._overlays: OrderedDict[int, tuple[CircuitState, dict]] = OrderedDict()
        self.rows: dict[int, tuple[Overlay, ...]] = {}
        self._styles: dict[str, Style] = {}
        self._base: list[list[tuple[int, int, str]]] = []
        self._strips: OrderedDict[tuple, Strip] = OrderedDict()
        self.focus_regions: list[Region] = []
        """What to keep in view, most first: the current gate with its inputs and callouts, ..., the gate."""
        self._sized_for: Layout | None = None
        """The layout the last scroll was computed for (None until laid out)."""
        self._base_style: Style | None = None

    # ------------------------------------------------------------ drawn from the model
    def model_changed(self, touched: Aspect) -> None:
        """While the circuit is the view shown: the layout of this graph, the labels of this step."""
        session = self.model.session
        if session is None or self.model.view != "circuit":
            return
        from tui_backprop.app.circuit import labels

        plan, layout = self.layout_for(session)
        if self.layout_ is not layout:
            self.plan = plan
            self.show(layout)
        hidden = self.hidden_wire() if self.hidden_wire is not None else None
        revealed = (session.n_checked, session.check_complete, session.show_all)
        chosen = tuple(sorted(self.model.chosen.items()))  # the element a big tensor's label names
        key = (id(layout), session.step, self.model.inspected, hidden, chosen, *revealed)
        state = self._states.get(key)
        if state is None:
            state = labels.state(session, plan, list(layout.gates), self.model.focus(), self.model.inspected)
            if hidden is not None:
                labels.hide(state, session, *hidden)
            self._states[key] = state
            if len(self._states) > CACHED_STEPS:
                self._states.popitem(last=False)
        self.update(state)

    def layout_for(self, session: Session) -> tuple[Plan, Layout]:
        """The session's plan and geometry, computed once per graph and digits setting."""
        from tui_backprop.app.circuit import labels
        from tui_backprop.app.circuit.layout import layout

        flat = self.flat
        key = (id(session.trace), display.digits(), flat)
        if key != self._layout_key or self.layout_ is None or self.plan is None:
            self._layout_key = key
            plan = labels.plan(session, flat)
            return plan, layout(plan.specs)
        return self.plan, self.layout_

    @property
    def flat(self) -> bool:
        """A short terminal: every label one row high, so a gate's neighbourhood fits the view."""
        return self.is_mounted and self.app.size.height < FLAT_BELOW

    def on_resize(self) -> None:
        if self._layout_key is not None and self._layout_key[2] != self.flat:
            self.model_changed(Aspect.SESSION)

    # ------------------------------------------------------------ feeding it
    def show(self, layout: Layout) -> None:
        """A new graph (or digits setting): new geometry, every row new."""
        self.layout_ = layout
        self._states.clear()
        self._overlays.clear()
        self._base = [_runs(row, layout, y) for y, row in enumerate(layout.rows)]
        self._strips.clear()
        self._sized_for = None
        self.rows = {}
        self.virtual_size = Size(layout.width, layout.height)
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.layout_.height if self.layout_ is not None else 1

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self.layout_.width if self.layout_ is not None else 1

    def update(self, state: CircuitState) -> None:
        """A step: new labels and styles; repaint the rows that changed, keep the current gate in view."""
        layout = self.layout_
        if layout is None:
            return
        rows = self._overlays.get(id(state))
        if rows is None or rows[0] is not state:
            rows = (state, overlays(layout, state))
            self._overlays[id(state)] = rows
            if len(self._overlays) > CACHED_STEPS:
                self._overlays.popitem(last=False)
        rows = rows[1]
        changed = {y for y in set(rows) | set(self.rows) if rows.get(y) != self.rows.get(y)}
        self.rows = rows
        top, width, height = int(self.scroll_y), self.size.width, self.size.height
        visible = [Region(0, y - top, width, 1) for y in changed if 0 <= y - top < height]
        if visible:
            self.refresh(*visible)  # one refresh for every changed row in view
        self.focus_regions = neighbourhood(layout, state)
        if self.focus_regions:
            if self._sized_for is layout and self.is_mounted:
                self._follow()  # this frame already shows the gate: no second frame
            else:
                self.call_after_refresh(self._follow, True)  # new geometry: scroll once it is laid out

    def _follow(self, deferred: bool = False) -> None:
        """Scroll only when the current gate's neighbourhood (the most of it the view can hold) is not
        fully in view; then, where the drawing goes on far
        enough, half a view past the least distance (a step moves one gate on), so the next steps
        mostly need no scroll: a scroll repaints every visible row."""
        if not self.focus_regions or not self.is_mounted:
            return
        self._sized_for = self.layout_
        window = self.scrollable_content_region.at_offset(self.scroll_offset)
        if window.width <= 0 or window.height <= 0:
            if not deferred:  # just shown again: not laid out yet
                self.call_after_refresh(self._follow, True)
            return
        fitting = [r for r in self.focus_regions if r.width <= window.width and r.height <= window.height]
        region = fitting[0] if fitting else self.focus_regions[-1]
        if region in window:
            return
        self.scroll_to_region(region, animate=False, immediate=True)
        window = self.scrollable_content_region.at_offset(self.scroll_offset)
        ahead = max(0, (window.width - region.width) // 2)
        if region.x + region.width > window.x + window.width - ahead // 2 and region.x > window.x:
            shift = min(ahead, region.x - window.x)  # moving right: lead with room on the right
        elif region.x < window.x + ahead // 2:
            shift = -min(ahead, window.x + window.width - region.x - region.width)
        else:
            shift = 0
        if shift and 0 <= self.scroll_x + shift <= self.max_scroll_x:  # only where the drawing goes on
            self.scroll_to(x=self.scroll_x + shift, animate=False, immediate=True)

    # ------------------------------------------------------------ drawing
    def _style(self, name: str) -> Style:
        """A style name of the stylesheet (``bp.wire``) or a plain one (``bold``), resolved once."""
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.app.console.get_style(name or "none", default=Style.null())
        return style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        layout = self.layout_
        base = self._base_style
        if base is None:
            base = self._base_style = self.rich_style  # costly to compute on every line
        row = int(self.scroll_y) + y
        if layout is None or width <= 0 or not 0 <= row < layout.height:
            return Strip.blank(max(0, width), base)
        overlay = self.rows.get(row, ())
        x0 = int(self.scroll_x)
        view = (row, overlay, x0, width)
        cropped = self._strips.get(view)
        if cropped is None:
            key = (row, overlay)
            strip = self._strips.get(key)
            if strip is None:
                strip = self._strips[key] = self._row_strip(row, overlay, base)
            cropped = self._strips[view] = strip.crop(x0, x0 + width).extend_cell_length(width, base)
            while len(self._strips) > 4096:
                self._strips.popitem(last=False)
        return cropped

    def _row_strip(self, row: int, overlay: tuple[Overlay, ...], base: Style) -> Strip:
        layout = self.layout_
        assert layout is not None
        chars = list(layout.rows[row])
        styles: list[str] = [""] * len(chars)
        for x0, x1, name in self._base[row]:
            for x in range(x0, x1):
                styles[x] = name
        for x, text, name in overlay:
            for k, ch in enumerate(text):
                if 0 <= x + k < len(chars):
                    chars[x + k] = ch
                    styles[x + k] = name
        segments = []
        start = 0
        for x in range(1, len(chars) + 1):
            if x == len(chars) or styles[x] != styles[start]:
                style = base + self._style(styles[start]) if styles[start] else base
                segments.append(Segment("".join(chars[start:x]), style))
                start = x
        return Strip(segments, len(chars))

    def notify_style_update(self) -> None:
        """A theme or CSS change: cached strips and styles carry the old colours."""
        super().notify_style_update()
        self._base_style = None
        self._styles.clear()
        self._strips.clear()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or self.layout_ is None:
            return
        name = self.layout_.gate_at(offset.x + int(self.scroll_x), offset.y + int(self.scroll_y))
        if name is not None:
            self.post_message(self.Selected(name))


def _runs(row: str, layout: Layout, y: int) -> list[tuple[int, int, str]]:
    """The static styles of one row: wires dim, gates bold, leaf names coloured, shapes grey."""
    runs = []
    start = None
    for x in range(len(row) + 1):
        is_wire = (x, y) in layout.wires
        if is_wire and start is None:
            start = x
        elif not is_wire and start is not None:
            runs.append((start, x, STATIC["wire"]))
            start = None
    for gate in layout.gates.values():
        if gate.is_op and gate.top <= y <= gate.bottom:
            runs.append((gate.x0, gate.x1, STATIC["gate"]))
            if y == gate.bottom and gate.shape:
                at = row.find(f" {gate.shape} ", gate.x0)
                if at >= 0:
                    runs.append((at, at + len(gate.shape) + 2, STATIC["shape"]))
        elif not gate.is_op and y == gate.y:
            runs.append((gate.name_x, gate.name_x + len(gate.name), STATIC["leaf"]))
        elif not gate.is_op and y == gate.y + 1 and gate.shape:
            runs.append((gate.shape_x, gate.shape_x + len(gate.shape), STATIC["shape"]))
    return runs


def overlays(layout: Layout, state: CircuitState) -> dict[int, tuple[Overlay, ...]]:
    """Per row, the text and styles a step writes over the static drawing: only into label slots,
    callout places and gates (restyled), never over a wire (README: "Teaching with it")."""
    rows: dict[int, list[Overlay]] = {}

    def put(x: int, y: int, text: str, style: str) -> None:
        if text:
            rows.setdefault(y, []).append((x, text, style))

    for gate, position in state.lit:
        cells = layout.inputs.get(gate, [])
        if position < len(cells):
            for x, y in cells[position]:
                put(x, y, layout.rows[y][x], LIT)
    for name in state.lit_outputs:
        slot = layout.slots.get(name)
        gate = layout.gates.get(name)
        if slot is not None and gate is not None:
            put(gate.x1, slot.y, layout.rows[slot.y][gate.x1 : slot.x1], LIT)
    for name, gate in layout.gates.items():
        if name in state.blamed:
            for y in range(gate.top, gate.bottom + 1):
                put(gate.x0, y, layout.rows[y][gate.x0 : gate.x1].translate(_DOUBLE), st.BLAME)
        elif name == state.current:
            for y in range(gate.top, gate.bottom + 1):
                put(gate.x0, y, layout.rows[y][gate.x0 : gate.x1], "bold reverse")
        elif name == state.inspected:
            put(gate.x0, gate.y, layout.rows[gate.y][gate.x0 : gate.x1], "underline")
        mark = state.marks.get(name)
        if mark is not None:
            symbol, style = mark
            put(gate.mark_x, gate.top if gate.is_op else gate.y, symbol, style)
    for name, slot in layout.slots.items():
        labels = state.labels.get(name)
        if labels is None:
            continue
        for label, first in ((labels.above, slot.y - len(labels.above.rows)), (labels.below, slot.y + 1)):
            for r, text in enumerate(label.rows):
                put(slot.x0, first + r, _fit(text, slot.width), label.style)
            for r, a, b, style in label.elements:
                if b <= slot.width:
                    put(slot.x0 + a, first + r, label.rows[r][a:b], style)
    drawn: dict[int, list[tuple[int, int]]] = {}
    for key, (text, style) in state.callouts.items():
        place = layout.callouts.get(key)
        if place is None:
            continue
        x, y = place
        if any(a < x + len(text) and x < b for a, b in drawn.get(y, ())):
            continue  # only the quiz's ? (shown a step early) can meet another: it was drawn first
        drawn.setdefault(y, []).append((x, x + len(text)))
        put(x, y, text, style)
    return {y: tuple(items) for y, items in rows.items()}


def neighbourhood(layout: Layout, state: CircuitState) -> list[Region]:
    """What a step wants in view, the most first: the current (or inspected) gate with its own
    labels, its callouts, its inputs' labels and where they come from; then less and less of
    that, down to the gate and its callouts, and the gate alone."""
    name = state.inspected or state.current
    gate = layout.gates.get(name) if name else None
    if gate is None:
        return []
    alone = Region(gate.x0, gate.top, gate.x1 - gate.x0, gate.bottom - gate.top + 1)
    own = _slot_regions(layout, [name])
    callouts = [
        Region(layout.callouts[key][0], layout.callouts[key][1], len(text), 1)
        for key, (text, _) in state.callouts.items()
        if key in layout.callouts and (key[1] != "sum" or key[0] == name)
    ]
    if state.inspected:
        return [Region.from_union([alone, *own, *callouts]), alone]
    sources = list(dict.fromkeys(layout.sources[g][k] for g, k in state.lit if g in layout.sources))
    inputs = _slot_regions(layout, sources)
    feeding = [
        Region(g.x0, g.top, g.x1 - g.x0, g.bottom - g.top + 1)
        for g in (layout.gates[s] for s in sources if s in layout.gates)
    ]
    return [
        Region.from_union([alone, *own, *callouts, *inputs, *feeding]),
        Region.from_union([alone, *own, *callouts, *inputs]),
        Region.from_union([alone, *callouts, *inputs]),
        Region.from_union([alone, *callouts]),
        alone,
    ]


def _slot_regions(layout: Layout, names: list[str]) -> list[Region]:
    regions = []
    for name in names:
        slot = layout.slots.get(name)
        if slot is not None:
            regions.append(Region(slot.x0, slot.y - slot.above, slot.width, slot.above + slot.below + 1))
    return regions


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
