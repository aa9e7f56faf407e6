"""What the screen says about a session: node-list rows and the status line (the inspector: inspector.py).

Pure functions from a ``Session`` (and a width) to Rich ``Text``. They read the trace's state at
the session's step through the trace's own accessors (``value_at``, ``grad_at``, ``received_at``),
so going back hides exactly what the engine says is not known yet. Nothing here computes a
gradient; the only arithmetic is the display statistics of a summarised tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.text import Text

from tui_backprop.app import digits as display
from tui_backprop.app import tensorfmt as tf
from tui_backprop.app.inspector import inspector as inspector  # app.py and tests read views.inspector
from tui_backprop.app.session import RowState, Session


# ---------------------------------------------------------------- node list rows
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
    cells["mark"] = (mark, "bold #ff5252" if state.breakpoint else "bold")
    name_style = "bold #ff5252 reverse" if blamed else ("bold" if state.current else "")
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
    status = state.status
    cells["check"] = (f"{tf.STATUS_SYMBOL[status]} {tf.STATUS_WORD[status]}", tf.STATUS_STYLE[status])
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


# ---------------------------------------------------------------- the status line
def status_line(
    session: Session, title: str, progress: tuple[int, int] | None, extra: str = "", width: int = 0
) -> Text:
    """Scenario, bug, phase, step k of N, output value, mismatch count, dtype and eps, check progress.

    When the full line is wider than ``width``, a compact one says the same in fewer cells.
    """
    line = Text()
    for compact, sep in ((False, " │ "), (True, " │ "), (True, "│")):
        line = _status_line(session, title, progress, extra, compact, sep)
        if not width or line.cell_len <= width:
            break
    return line


def _status_line(
    session: Session, title: str, progress: tuple[int, int] | None, extra: str, compact: bool, bar: str
) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f" {title} ", style="bold")
    sep = (bar, tf.DIM)
    if session.bug:
        if not compact:
            text.append("bug ", style=tf.DIM)
        text.append(session.bug, style="bold #ff8a80")
        text.append(*sep)
    n = session.n_steps
    phase = session.phase
    shown = ("fwd" if phase == "forward" else "bwd") if compact else phase
    text.append(shown, style="bold #80cbc4" if phase == "forward" else "bold #ffcc80")
    text.append(f" {session.step + 1 if n else 0}/{n}")
    text.append(*sep)
    output = session.trace.output.name
    value = session.trace.value_at(output, session.step)
    text.append(f"{output}=" if compact else f"{output} = ", style=tf.DIM)
    text.append(tf.short(value.reshape(-1)[0]) if value is not None else "?")
    text.append(*sep)
    failing = [
        name
        for name in session.failing
        if session.status_of(name) in ("mismatch", "nonfinite", "blame", "nondeterministic")
    ]
    hidden = not session.show_all and any(session.status_of(n) == "hidden" for n in session.checks)
    if failing:
        checks = session.checks
        nonfinite = sum(1 for name in failing if checks[name].status == "nonfinite")
        random = sum(1 for name in failing if checks[name].status == "nondeterministic")
        mismatched = len(failing) - nonfinite - random
        if mismatched:
            noun = "mismatch" if mismatched == 1 else "mismatches"
            count = f"✗{mismatched}" if compact else f"✗ {mismatched} {noun}"
            text.append(count, style=tf.STATUS_STYLE["mismatch"])
        if nonfinite:
            if mismatched:
                text.append(" ")
            count = f"!{nonfinite}" if compact else f"! {nonfinite} non-finite"
            text.append(count, style=tf.STATUS_STYLE["nonfinite"])
        if random:  # a forward that is not deterministic: not a wrong backward
            if mismatched or nonfinite:
                text.append(" ")
            count = f"?{random}" if compact else f"? {random} not deterministic"
            text.append(count, style=tf.STATUS_STYLE["nondeterministic"])
        blamed = [name for name in session.blamed if session.status_of(name) == "blame"]
        if blamed:
            text.append(" blame " if compact else " · blame ", style=tf.DIM)
            text.append(", ".join(blamed), style=tf.STATUS_STYLE["blame"])
        text.append(*sep)
    elif session.check_complete and not session.check_error and _incomplete(session):
        text.append("incomplete", style=tf.STATUS_STYLE["unchecked"])  # README: exit code 3
        text.append(*sep)
    elif session.check_complete and not session.check_error and hidden:
        text.append("✓…" if compact else "✓ so far", style=tf.STATUS_STYLE["ok"])
        text.append(*sep)
    elif session.check_complete and not session.check_error:
        text.append("✓" if compact else "✓ no mismatch", style=tf.STATUS_STYLE["ok"])
        text.append(*sep)
    warnings = session.trace.graph.warnings  # e.g. a layer's arrays not registered as parameters
    if warnings:
        count = len(warnings)
        text.append(
            f"⚠{count}" if compact else f"⚠ {count} warning{'s' if count > 1 else ''}", style="bold #e0a526"
        )
        text.append(*sep)
    if session.check_error:  # a check that stopped proves nothing about the nodes it did not reach
        text.append("check incomplete", style=tf.STATUS_STYLE["mismatch"])
        text.append(*sep)
    s = session.settings
    dtype = session.dtype.replace("float", "f") if compact else session.dtype
    text.append(f"{dtype} eps {tf.short(s.eps)}", style=tf.DIM)
    if (s.rtol, s.atol) != _default_tolerances(session.dtype):
        text.append(f" rtol {tf.short(s.rtol)} atol {tf.short(s.atol)}", style=tf.DIM)
    if progress is not None:
        done, total = progress
        text.append(*sep)
        cells = 4 if compact else 8
        filled = round(cells * done / total) if total else cells
        text.append("check ", style=tf.DIM)
        text.append("━" * filled, style="#4caf50")
        text.append("━" * (cells - filled), style="#3a3a3a")
        text.append(f" {done}/{total}")
    if extra:
        text.append(*sep)
        text.append(extra, style="bold #80cbc4")
    if not compact or display.digits() != display.DIGITS:  # last: the first thing a narrow line gives up
        text.append(*sep)
        text.append(f"{display.digits()}dig" if compact else f"{display.digits()} digits", style=tf.DIM)
    if session.show_all:
        text.append(" all checks" if compact else " · all checks shown", style="bold #ffcc80")
    return text


def _incomplete(session) -> bool:
    """No mismatch, but some element neither compared nor covered (the check's exit code 3)."""
    return any(c.unchecked() for c in session.checks.values())


def _default_tolerances(dtype: str) -> tuple[float, float]:
    from tui_backprop.check.gradcheck import DEFAULTS

    return DEFAULTS[dtype]["rtol"], DEFAULTS[dtype]["atol"]
