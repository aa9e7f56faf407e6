"""The full view of one node's tensors: every element, scrollable, and every mismatching element.

A 128×256 weight gradient has 32k elements; a Rich table of it costs about a second to build.
``GridView`` formats only the rows and columns on screen, with sticky row and column labels;
``DifferingView`` lists the mismatching elements by index the same way, one visible line at a time.
The grid's cursor is the element cursor (README "Teaching with it"): the arrows (or H J K L) and a
click choose the element every view follows in that tensor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.message import Message
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, Static

from tui_backprop.app.look import numbers as tf
from tui_backprop.app.look import styles as st
from tui_backprop.app.screens.dialog import AnswersOnce

if TYPE_CHECKING:
    from collections.abc import Callable

    from tui_backprop.app.engine import Comparison
    from tui_backprop.app.model.session import Session

Index = tuple[int, ...]

CELL = 12
LABEL_WIDTH = 7


@dataclass(frozen=True)
class Layer:
    """One tensor the view can show: a name, the array, per-element codes and how to format it."""

    title: str
    array: np.ndarray
    codes: np.ndarray | None = None
    error: bool = False
    relative_to: np.dtype | None = None
    """For a relative error: the dtype whose resolution is the smallest error worth printing."""
    node: str | None = None
    """The tensor whose elements these are (the node, or the input a gradient is sent to): the one
    the cursor chooses an element of."""


def layers_for(session: Session, name: str) -> tuple[list[Layer], Comparison | None]:
    """What is known about the node at the session's step: its value, then its checked gradient."""
    trace = session.trace
    layers: list[Layer] = []
    value = trace.value_at(name, session.step)
    if value is not None:
        layers.append(Layer(f"value of {name}", np.asarray(value), node=name))
    comparison = None
    received, expected = session.received(name), session.expected(name)
    if received and received == expected:
        check = session.checks.get(name)
        comparison = check.grad if check is not None else None
        if comparison is not None:
            codes = comparison.codes
            layers += [
                Layer(f"dL/d{name} analytic", comparison.analytic, codes, node=name),
                Layer(f"dL/d{name} numeric", comparison.numeric, codes, node=name),
                Layer(f"dL/d{name} abs err", comparison.abs_err, codes, error=True, node=name),
                Layer(
                    f"dL/d{name} rel err",
                    comparison.rel_err,
                    codes,
                    error=True,
                    relative_to=comparison.analytic.dtype,
                    node=name,
                ),
            ]
        else:
            layers.append(Layer(f"dL/d{name}", np.asarray(trace.grads[name]), node=name))
    elif received:
        partial = trace.grad_at(name, session.step)
        if partial is not None:
            layers.append(Layer(f"dL/d{name} so far ({received} of {expected})", partial, node=name))
    sent = _what_a_blamed_node_sends(session, name)
    if sent:  # a blamed node's fault is in what it sends: list those mismatching elements
        comparison = sent[0][1]
        for parent, c in sent:
            layers += [
                Layer(f"sent to {parent} analytic", c.analytic, c.codes, node=parent),
                Layer(f"sent to {parent} numeric", c.numeric, c.codes, node=parent),
                Layer(
                    f"sent to {parent} rel err",
                    c.rel_err,
                    c.codes,
                    error=True,
                    relative_to=c.analytic.dtype,
                    node=parent,
                ),
            ]
    return layers, comparison


def _what_a_blamed_node_sends(session: Session, name: str) -> list[tuple[str, Comparison]]:
    """(input, comparison) for each input a blamed node sends a mismatching gradient, once its
    backward step has been reached; empty otherwise."""
    check = session.checks.get(name)
    step = session.trace.backward_index.get(name)
    if check is None or not check.blamed or step is None or session.step < step:
        return []
    node = session.trace.graph[name]
    return [(node.inputs[i].name, c) for i, c in check.local.items() if c.n_mismatch]


def _style(widget: ScrollView, name: str) -> Style:
    """A style name of the stylesheet (``bp.dim``), resolved as the App's console has it now."""
    return widget.app.console.get_style(name, default=Style.null())


def _grid2d(array: np.ndarray) -> np.ndarray:
    a = np.asarray(array)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(1, -1)
    return a.reshape(-1, a.shape[-1])


def to_cell(index: Index, shape: tuple[int, ...]) -> tuple[int, int]:
    """Where element ``index`` of a tensor of ``shape`` sits in its grid (``_grid2d``)."""
    if not shape:
        return 0, 0
    if len(shape) == 1:
        return 0, index[0]
    return int(np.ravel_multi_index(index[:-1], shape[:-1])), index[-1]


def to_index(row: int, col: int, shape: tuple[int, ...]) -> Index:
    """The element of a tensor of ``shape`` at grid cell (row, col) (the inverse of ``to_cell``)."""
    if not shape:
        return ()
    if len(shape) == 1:
        return (col,)
    return (*(int(i) for i in np.unravel_index(row, shape[:-1])), col)


class GridView(ScrollView, can_focus=True, inherit_bindings=False):
    """A 2-D array drawn cell by cell for the visible window only, with the element cursor on it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,K", "cursor(-1, 0)", "Up", show=False, id="grid.up"),
        Binding("down,J", "cursor(1, 0)", "Down", show=False, id="grid.down"),
        Binding("left,H", "cursor(0, -1)", "Left", show=False, id="grid.left"),
        Binding("right,L", "cursor(0, 1)", "Right", show=False, id="grid.right"),
        Binding("pageup", "page_up", "Page up", show=False, id="grid.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="grid.page_down"),
        Binding("home", "scroll_home", "Top", show=False, id="grid.home"),
        Binding("end", "scroll_end", "Bottom", show=False, id="grid.end"),
    ]

    class Picked(Message):
        """The cursor moved to (row, col) of the grid: that element is followed."""

        def __init__(self, row: int, col: int) -> None:
            super().__init__()
            self.row = row
            self.col = col

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tensor: Layer | None = None
        self._grid = np.zeros((0, 0))
        self._codes: np.ndarray | None = None
        self.cursor: tuple[int, int] | None = None

    def show(self, layer: Layer, cursor: tuple[int, int] | None = None) -> None:
        self.tensor = layer
        self._grid = _grid2d(layer.array)
        self._codes = _grid2d(layer.codes) if layer.codes is not None else None
        rows, cols = self._grid.shape
        self.cursor = cursor if cursor is not None and rows * cols > 1 else None
        self.virtual_size = Size(LABEL_WIDTH + cols * CELL, rows + 1)
        self.refresh()
        if self.cursor is not None:
            self.call_after_refresh(self._reveal)

    def action_cursor(self, rows: int, cols: int) -> None:
        """Move the element cursor (it stops at the edges); the view scrolls to keep it in sight."""
        if self.cursor is None:
            return
        height, width = self._grid.shape
        row = max(0, min(height - 1, self.cursor[0] + rows))
        col = max(0, min(width - 1, self.cursor[1] + cols))
        self._pick(row, col)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or self.cursor is None:
            return
        row = int(self.scroll_y) + offset.y - 1
        col = (int(self.scroll_x) + offset.x - LABEL_WIDTH) // CELL
        height, width = self._grid.shape
        if offset.y >= 1 and offset.x >= LABEL_WIDTH and 0 <= row < height and 0 <= col < width:
            self._pick(row, col)

    def _pick(self, row: int, col: int) -> None:
        if (row, col) != self.cursor:
            self.cursor = (row, col)
            self.refresh()
            self._reveal()
            self.post_message(self.Picked(row, col))

    def _reveal(self) -> None:
        """Scroll so that the cursor's cell is in the data area (right of the sticky row labels)."""
        if self.cursor is None:
            return
        row, col = self.cursor
        view = self.scrollable_content_region
        data_width = max(CELL, view.width - LABEL_WIDTH)
        x, y = int(self.scroll_x), int(self.scroll_y)
        left = col * CELL
        if left < x:
            x = left
        elif left + CELL > x + data_width:
            x = left + CELL - data_width
        if row < y:
            y = row
        elif row + 1 > y + max(1, view.height - 1):
            y = row + 2 - max(1, view.height - 1)
        self.scroll_to(x=x, y=y, animate=False)

    def _cell(self, r: int, c: int) -> tuple[str, Style | None]:
        value = self._grid[r, c]
        layer = self.tensor
        text = tf.err(value, layer.relative_to) if layer is not None and layer.error else tf.num(value)
        code = int(self._codes[r, c]) if self._codes is not None else tf.OK
        mark = tf.CODE_MARK.get(code, " ")
        style = _style(self, tf.CODE_STYLE[code]) if code in tf.CODE_STYLE else None
        if (r, c) == self.cursor:
            style = (style or Style.null()) + Style(reverse=True, bold=True)
        return (text + mark).rjust(CELL), style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        rows, cols = self._grid.shape
        if width <= 0:
            return Strip([])
        scroll_x, scroll_y = int(self.scroll_x), int(self.scroll_y)
        data_width = max(0, width - LABEL_WIDTH)
        first = scroll_x // CELL
        last = min(cols, (scroll_x + data_width) // CELL + 1)
        segments: list[Segment] = []
        if y == 0:
            segments.append(Segment(" " * LABEL_WIDTH, base + _style(self, tf.DIM)))
            segments += [
                Segment(f"[:, {c}]".rjust(CELL), base + _style(self, tf.DIM)) for c in range(first, last)
            ]
        else:
            r = scroll_y + y - 1
            if r >= rows:
                return Strip.blank(width, base)
            segments.append(Segment(f"[{r}]".rjust(LABEL_WIDTH - 1) + " ", base + _style(self, tf.DIM)))
            for c in range(first, last):
                text, style = self._cell(r, c)
                segments.append(Segment(text, base + style if style else base))
        strip = Strip(segments)
        offset = scroll_x - first * CELL
        data = strip.crop(LABEL_WIDTH + offset, LABEL_WIDTH + offset + data_width)
        label = strip.crop(0, LABEL_WIDTH)
        return Strip.join([label, data]).extend_cell_length(width, base).crop(0, width)


class DifferingView(ScrollView, can_focus=True, inherit_bindings=False):
    """Mismatching (then kinked) elements by index: analytic, numeric, abs and rel error."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_up", "Up", show=False, id="differing.up"),
        Binding("down", "scroll_down", "Down", show=False, id="differing.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="differing.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="differing.page_down"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.comparison: Comparison | None = None
        self.index: list[tuple[int, ...]] = []
        self.index_width = 7

    def show(self, comparison: Comparison | None) -> None:
        self.comparison = comparison
        self.index = comparison.differing() if comparison is not None else []
        self.index_width = max([7] + [len(str(ix)) + 2 for ix in self.index])
        full = self._columns(with_abs=True)[-1]
        self.virtual_size = Size(self._columns(with_abs=False)[-1], len(self.index) + 1)
        self.styles.width = full + 3  # the border and the scrollbar
        self.refresh()

    def _columns(self, with_abs: bool) -> tuple[int, int, int, int]:
        """Widths of the index, number and error columns, and the whole line (with its marker)."""
        n, e = 11, 9
        return self.index_width, n, e, self.index_width + 2 * n + (2 if with_abs else 1) * e + 1

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if width <= 0:
            return Strip([])
        c = self.comparison
        with_abs = self._columns(with_abs=True)[-1] <= width  # abs err goes first when narrow
        ix_w, n, e, _ = self._columns(with_abs)
        if y == 0:
            title = f"{'index':<{ix_w}}{'analytic':>{n}}{'numeric':>{n}}"
            title += f"{'abs err':>{e}}" if with_abs else ""
            title += f"{'rel err':>{e}}"
            if not self.index:
                title = "no mismatching element" if c is not None else "no checked gradient at this step"
            return Strip([Segment(title[:width], base + _style(self, tf.DIM))]).extend_cell_length(
                width, base
            )
        k = int(self.scroll_y) + y - 1
        if c is None or k >= len(self.index):
            return Strip.blank(width, base)
        ix = self.index[k]
        code = int(c.codes[ix])
        style = _style(self, tf.CODE_STYLE[code]) if code in tf.CODE_STYLE else None
        numbers = f"{tf.num(c.analytic[ix]):>{n}}{tf.num(c.numeric[ix]):>{n}}"
        numbers += f"{tf.err(c.abs_err[ix]):>{e}}" if with_abs else ""
        numbers += f"{tf.err(c.rel_err[ix], c.analytic.dtype):>{e}}{tf.CODE_MARK[code]}"
        line = [Segment(f"{ix!s:<{ix_w}}", base + style if style else base), Segment(numbers, base)]
        return Strip(line).crop(0, width).extend_cell_length(width, base)


class TensorScreen(AnswersOnce, ModalScreen[None]):
    """Every element of the node's value and gradient; Tab through them, Esc back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t,tab", "layer(1)", "Next tensor", id="tensor.next", tooltip="Show the node's next tensor"),
        Binding(
            "shift+tab,T",
            "layer(-1)",
            "Previous tensor",
            show=False,
            id="tensor.previous",
            tooltip="Show the node's previous tensor",
        ),
        Binding("escape,v,q", "close", "Back", id="tensor.close", tooltip="Back to the stepping view"),
    ]
    AUTO_FOCUS = "#grid"

    def __init__(
        self,
        name: str,
        layers: list[Layer],
        comparison: Comparison | None,
        followed: Callable[[str], Index] | None = None,
        choose: Callable[[str, Index], object] | None = None,
    ) -> None:
        """``followed(tensor)``: the element followed in it; ``choose(tensor, index)``: follow
        another (the element cursor, ``model.elements.Elements``). Without them, no cursor."""
        super().__init__()
        self.node_name = name
        self.tensors = layers
        self.comparison = comparison
        self.followed = followed
        self.choose = choose
        self.shown = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="tensor-box"):
            yield Static("", id="tensor-title")
            with Horizontal(id="tensor-body"):
                yield GridView(id="grid")
                yield DifferingView(id="differing")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#differing", DifferingView).show(self.comparison)
        self._show()

    def _show(self) -> None:
        title = Text()
        if not self.tensors:
            title.append(f"nothing is known about {self.node_name} at this step", style=tf.HIDDEN)
            self.query_one("#tensor-title", Static).update(title)
            return
        layer = self.tensors[self.shown]
        title.append(f" {layer.title} ", style="bold reverse")
        title.append(f"  {tf.shape_str(np.shape(layer.array))}", style=tf.DIM)
        title.append(f"   tensor {self.shown + 1} of {len(self.tensors)} (Tab)", style=tf.DIM)
        if layer.codes is not None:
            mismatch = int(np.count_nonzero(layer.codes == tf.MISMATCH))
            kink = int(np.count_nonzero(layer.codes == tf.KINK))
            title.append("   ")
            title.append(f" {mismatch} mismatch ! ", style=tf.CODE_STYLE[tf.MISMATCH] if mismatch else tf.DIM)
            title.append(" ")
            title.append(f" {kink} kink ~ ", style=tf.CODE_STYLE[tf.KINK] if kink else tf.DIM)
        cursor = self._cursor(layer)
        title.append("\n")
        if cursor is not None and layer.node is not None and self.followed is not None:
            index = self.followed(layer.node)
            title.append("◆ ", style=st.ACCENT)
            title.append(f"{layer.node}[{', '.join(map(str, index))}]", style="bold")
            title.append(" followed (arrows, a click)   ", style=tf.DIM)
        title.append_text(tf.summary(layer.array))
        self.query_one("#tensor-title", Static).update(title)
        self.query_one("#grid", GridView).show(layer, cursor)

    def _cursor(self, layer: Layer) -> tuple[int, int] | None:
        """The grid cell of the element followed in the layer's tensor (None: no cursor here)."""
        shape = tuple(np.shape(layer.array))
        if layer.node is None or self.followed is None or self.choose is None or len(shape) == 0:
            return None
        index = self.followed(layer.node)
        if len(index) != len(shape):
            return None
        return to_cell(index, shape)

    @on(GridView.Picked)
    def _picked(self, event: GridView.Picked) -> None:
        layer = self.tensors[self.shown] if self.tensors else None
        if layer is None or layer.node is None or self.choose is None:
            return
        self.choose(layer.node, to_index(event.row, event.col, tuple(np.shape(layer.array))))
        self._show()  # the title names the element now followed

    def action_layer(self, delta: int) -> None:
        if self.tensors:
            self.shown = (self.shown + delta) % len(self.tensors)
            self._show()

    def action_close(self) -> None:
        self.dismiss(None)
