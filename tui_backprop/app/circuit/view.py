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

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBarRender
from textual.strip import Strip
from textual.visual import RenderOptions, Visual

from tui_backprop.app.circuit.layout import Layout
from tui_backprop.app.circuit.paint import Overlay, overlays, runs, static_runs
from tui_backprop.app.finished_lines import FinishedLines
from tui_backprop.app.look import digits as display
from tui_backprop.app.model.elements import Elements
from tui_backprop.app.model.model import Aspect, Model
from tui_backprop.app.watching import Watching

if TYPE_CHECKING:
    from textual.css.styles import RulesMap
    from textual.style import Style as VisualStyle

    from tui_backprop.app.circuit.labels import CircuitState, Plan
    from tui_backprop.app.model.session import Session

HiddenWire = Callable[[], "tuple[str, str] | None"]
"""The wire (and which label) the quiz hides as ``?`` (``Quiz.hidden_wire``)."""

FLAT_BELOW = 32
"""Terminals with fewer rows write small matrices on one line (``[1 2; 3 4]``) in the circuit."""
CACHED_STEPS = 256
"""Steps whose labels and overlays are kept."""


class CircuitView(Watching, FinishedLines, ScrollView, can_focus=True, inherit_bindings=False):
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
        self._overlays: OrderedDict[int, tuple[CircuitState, dict, list[Region]]] = OrderedDict()
        """Each state's rows and what it wants in view, by the state (kept beside them)."""
        self.rows: dict[int, tuple[Overlay, ...]] = {}
        self._styles: dict[str, Style] = {}
        self._base: list[list[tuple[int, int, str]]] = []
        self._strips: OrderedDict[tuple, Strip] = OrderedDict()
        self.focus_regions: list[Region] = []
        """What to keep in view, most first: the current gate with its inputs and callouts, ..., the gate."""
        self._sized_for: Layout | None = None
        """The layout the last scroll was computed for (None until laid out)."""
        self._base_style: Style | None = None

    def on_mount(self) -> None:
        self.horizontal_scrollbar.renderer = ScrollBarStrip

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
            looked_at = self.model.looked_at
            path = Elements(self.model).path(looked_at) if looked_at is not None else None
            state = labels.state(
                session, plan, list(layout.gates), self.model.focus(), self.model.inspected, path
            )
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
        self._base = [static_runs(row, layout, y) for y, row in enumerate(layout.rows)]
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
        drawn = self._overlays.get(id(state))
        if drawn is None or drawn[0] is not state:
            drawn = (state, overlays(layout, state), neighbourhood(layout, state))
            self._overlays[id(state)] = drawn
            if len(self._overlays) > CACHED_STEPS:
                self._overlays.popitem(last=False)
        _, rows, focus_regions = drawn
        changed = {y for y in set(rows) | set(self.rows) if rows.get(y) != self.rows.get(y)}
        self.rows = rows
        top, width, height = int(self.scroll_y), self.size.width, self.size.height
        visible = [Region(0, y - top, width, 1) for y in changed if 0 <= y - top < height]
        if visible:
            self.refresh(*visible)  # one refresh for every changed row in view
        self.focus_regions = focus_regions
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
        """A style name of the stylesheet (``bp.wire``), a plain one (``bold``), or several drawn
        together (``bp.wire-grad+underline``, ``labels.with_style``), resolved once."""
        style = self._styles.get(name)
        if style is None:
            console = self.app.console
            parts = [console.get_style(part or "none", default=Style.null()) for part in name.split("+")]
            style = self._styles[name] = Style.combine(parts)
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
        pieces = runs(layout, row, self._base[row], overlay)
        segments = [Segment(text, base + self._style(name) if name else base) for text, name in pieces]
        return Strip(segments, len(layout.rows[row]))

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


class ScrollBarStrip(ScrollBarRender, Visual):
    """Textual's horizontal scroll bar, drawn straight to a strip and kept (``ScrollBar.renderer``).

    The circuit scrolls sideways on most steps of a wide graph; Textual's bar is a segment per
    cell passed through Rich each time, which cost more than the circuit's own rows. The same
    glyphs, colours and mouse actions, each run of equal cells one segment, one strip per
    (width, bar, position, style).
    """

    _drawn: ClassVar[dict[tuple, Strip]] = {}

    def render_strips(
        self, width: int, height: int | None, style: VisualStyle, options: RenderOptions
    ) -> list[Strip]:
        base = style.rich_style
        key = (width, self.virtual_size, self.window_size, self.position, self.style, base)
        strip = self._drawn.get(key)
        if strip is None:
            colours = self.style if isinstance(self.style, Style) else Style.parse(self.style)
            bar = self.render_bar(
                size=width,
                virtual_size=self.virtual_size,
                window_size=self.window_size,
                position=self.position,
                thickness=1,
                vertical=False,
                back_color=colours.bgcolor or Color.default(),  # ScrollBar.render sets both
                bar_color=colours.color or Color.default(),
            )
            runs: list[list] = []
            for segment in bar.segments:  # a run is one Segment object repeated
                if segment.text == "\n":
                    break
                if runs and runs[-1][0] is segment:
                    runs[-1][1] += 1
                else:
                    runs.append([segment, 1])
            cells = [Segment(s.text * n, s.style, s.control) if n > 1 else s for s, n in runs]
            if len(self._drawn) > 256:
                self._drawn.clear()
            strip = self._drawn[key] = Strip(Segment.apply_style(cells, style=base), width)
        return [strip] * (height or self.thickness)

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return container_width

    def get_height(self, rules: RulesMap, width: int) -> int:
        return self.thickness


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
