"""The node list's rows: one node's name, op, shape, value, gradient so far and check, fitted to a width.

Pure functions from a ``Session`` and a row's ``RowState`` to Rich ``Text``. They read the
trace's state at the session's step through the trace's own accessors (``value_at``,
``grad_at``), so going back hides exactly what the engine says is not known yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.text import Text

from tui_backprop.app.look import digits as display
from tui_backprop.app.look import numbers as tf
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.badge import STYLE, badge
from tui_backprop.app.model.session import RowState, Session


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int
    align: str = "left"


def columns_for(session: Session, width: int, phase: str = "backward") -> list[Column]:
    """The node list's columns that fit ``width``, dropping the least useful first.

    Going forward the value matters more than the (not yet known) gradient; going back, the other way.
    """
    nodes = session.trace.graph.nodes
    name_w = min(12, max([4] + [len(n.name) for n in nodes]))
    op_w = min(10, max([2] + [len(n.op.name) if n.op else len(n.kind) for n in nodes]))
    shape_w = min(9, max([5] + [len(tf.shape_str(session.trace.values[n.name].shape)) for n in nodes]))
    every = [
        Column("mark", "", 1),
        Column("name", "node", name_w),
        Column("op", "op", op_w),
        Column("shape", "shape", shape_w),
        Column("value", "value", 9, "right"),
        Column("grad", "grad", 9, "right"),
        Column("check", "check", 10),
    ]
    priority = ["mark", "name", "check", "grad", "value", "op", "shape"]
    if phase == "forward":
        priority = ["mark", "name", "check", "value", "grad", "op", "shape"]
    chosen: set[str] = set()
    used = 0
    for key in priority:
        column = next(c for c in every if c.key == key)
        extra = column.width + (1 if chosen else 0)
        if used + extra > width and key not in ("mark", "name"):
            break  # strictly by priority: never a shape where the gradient did not fit
        chosen.add(key)
        used += extra
    return [c for c in every if c.key in chosen]


def header_row(columns: Sequence[Column]) -> Text:
    text = Text(style="bold")
    for k, column in enumerate(columns):
        if k:
            text.append(" ")
        cell = (
            column.title.rjust(column.width) if column.align == "right" else column.title.ljust(column.width)
        )
        text.append(cell[: column.width])
    return text


def node_row(session: Session, state: RowState, columns: Sequence[Column]) -> Text:
    """One node: marker, name, op, shape, value, gradient so far, check status."""
    trace = session.trace
    node = trace.graph[state.name]
    blamed = state.status == "blame"
    cells: dict[str, tuple[str, str]] = {}
    mark = {(True, True): "◉", (True, False): "▶", (False, True): "●"}.get(
        (state.current, state.breakpoint), " "
    )
    cells["mark"] = (mark, st.MISMATCH if state.breakpoint else "bold")
    name_style = st.BLAMED_ROW if blamed else ("bold" if state.current else "")
    cells["name"] = (state.name, name_style)
    cells["op"] = (node.op.name if node.op else node.kind, tf.DIM if node.op is None else "")
    cells["shape"] = (tf.shape_str(trace.values[state.name].shape), tf.DIM)
    if state.value_known:
        cells["value"] = (_cached_cell(session, ("value", state.name), trace.values[state.name]), "")
    else:
        cells["value"] = ("·", tf.DIM)
    if state.received == 0:
        cells["grad"] = ("·", tf.DIM)
    elif state.received < state.expected:
        partial = trace.grad_at(state.name, session.step)
        text = tf.cell_value(partial) if partial is not None else "?"
        cells["grad"] = (f"{text}…", tf.DIM)
    else:
        cells["grad"] = (_cached_cell(session, ("grad", state.name), trace.grads[state.name]), "")
    cells["check"] = (badge(state.status).plain, STYLE[state.status])
    text = Text()
    for k, column in enumerate(columns):
        if k:
            text.append(" ")
        content, style = cells[column.key]
        if len(content) > column.width:
            content = content[: column.width - 1] + "…"
        content = content.rjust(column.width) if column.align == "right" else content.ljust(column.width)
        text.append(content, style=style)
    return text


_CELL_CACHE: dict[tuple[int, int, str, str], str] = {}


def _cached_cell(session: Session, key: tuple[str, str], array: np.ndarray) -> str:
    """Norms of big tensors are worth computing once per trace, not once per repaint."""
    full = (id(session.trace), display.digits(), *key)
    text = _CELL_CACHE.get(full)
    if text is None:
        if len(_CELL_CACHE) > 4096:
            _CELL_CACHE.clear()
        text = _CELL_CACHE[full] = tf.cell_value(array)
    return text
