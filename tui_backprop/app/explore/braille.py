"""A line plot in Braille dots, for the step-size explorer (log-log) and the training curve (the loss
per iteration); no plotting dependency.

Each terminal cell holds a 2x4 grid of Braille dots, so a 60x14 plot has 120x56 points: enough
for a V-shaped error curve per dtype. Pure functions to Rich ``Text`` lines, so the plot is tested
(and snapshot) without a terminal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text

from tui_backprop.app.look import styles as st
from tui_backprop.app.look.styles import styled

# Dot bit for (column 0..1, row 0..3) within a cell (Unicode Braille patterns, U+2800).
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
AXIS = st.FAINT
LABEL = st.DIM


@dataclass(frozen=True)
class Series:
    """One curve: (x, y) points in data units (already log10), a colour and a name."""

    name: str
    points: Sequence[tuple[float, float] | None]
    """None breaks the line (a point that could not be computed)."""
    style: str
    marks: Sequence[int] = ()
    """Indices of points to mark with ``mark`` (e.g. a probe that crossed a kink)."""
    mark: str = "~"
    mark_style: str = st.KINK


def decade_label(exponent: float) -> str:
    """``1e-6`` for -6, ``1`` for 0, ``10`` for 1."""
    k = round(exponent)
    return {0: "1", 1: "10"}.get(k, f"1e{k}")


@dataclass(frozen=True)
class Axis:
    low: float
    high: float
    ticks: Sequence[float]
    label: Callable[[float], str] = decade_label
    """How a tick is written (log10 units by default: ``1e-6``)."""

    def scale(self, value: float, cells: int) -> float:
        span = self.high - self.low or 1.0
        return (value - self.low) / span * (cells - 1)


def plot(
    series: Sequence[Series],
    x: Axis,
    y: Axis,
    width: int,
    height: int,
    vline: float | None = None,
    vline_label: str = "",
) -> list[Text]:
    """The plot with its y tick labels on the left and x tick labels below: ``height + 1`` lines.

    ``width`` counts every cell, labels included. ``vline`` draws a dotted vertical line at that x
    (the current eps).
    """
    label_w = max(len(y.label(t)) for t in y.ticks) + 1 if y.ticks else 0
    cols = max(8, width - label_w - 1)
    rows = max(3, height - 1)
    dot_w, dot_h = cols * 2, rows * 4
    bits = [[0] * cols for _ in range(rows)]
    owner: list[list[str | None]] = [[None] * cols for _ in range(rows)]
    overlay: dict[tuple[int, int], tuple[str, str]] = {}

    def to_dot(px: float, py: float) -> tuple[int, int]:
        dx = round(x.scale(px, dot_w))
        dy = dot_h - 1 - round(y.scale(min(max(py, y.low), y.high), dot_h))
        return dx, dy

    def set_dot(dx: int, dy: int, style: str) -> None:
        if 0 <= dx < dot_w and 0 <= dy < dot_h:
            r, c = dy // 4, dx // 2
            bits[r][c] |= _DOTS[dy % 4][dx % 2]
            owner[r][c] = style

    for s in series:
        previous: tuple[int, int] | None = None
        for point in s.points:
            if point is None:
                previous = None
                continue
            here = to_dot(*point)
            if previous is None:
                set_dot(*here, s.style)
            else:
                for dx, dy in _line(previous, here):
                    set_dot(dx, dy, s.style)
            previous = here
        for k in s.marks:
            point = s.points[k] if 0 <= k < len(s.points) else None
            if point is not None:
                dx, dy = to_dot(*point)
                overlay[(dy // 4, dx // 2)] = (s.mark, s.mark_style)

    vcol = None
    if vline is not None and x.low <= vline <= x.high:
        vcol = round(x.scale(vline, dot_w)) // 2

    tick_rows = {rows - 1 - round(y.scale(t, rows)): t for t in y.ticks}
    lines: list[Text] = []
    for r in range(rows):
        line = Text(no_wrap=True)
        tick = tick_rows.get(r)
        line.append((y.label(tick) if tick is not None else "").rjust(label_w - 1) + " ", style=LABEL)
        line.append("┤" if tick is not None else "│", style=AXIS)
        for c in range(cols):
            if (r, c) in overlay:
                line.append(*overlay[(r, c)])
            elif bits[r][c]:
                line.append(chr(0x2800 + bits[r][c]), style=owner[r][c] or "")
            elif c == vcol:
                line.append("┊", style=st.ACCENT)
            else:
                line.append(" ")
        lines.append(line)
    lines.append(_x_axis(x, cols, label_w, vcol, vline_label))
    return lines


def _x_axis(x: Axis, cols: int, label_w: int, vcol: int | None, vline_label: str) -> Text:
    """``└──┬────┬──`` would cost a line: the tick labels sit right on the axis line instead."""
    cells = [" "] * cols
    styles = [LABEL] * cols
    taken = [False] * cols
    for t in x.ticks:
        label = x.label(t)
        at = round(x.scale(t, cols * 2)) // 2
        start = min(max(0, at - len(label) // 2), cols - len(label))
        if any(taken[max(0, start - 1) : start + len(label) + 1]):
            continue
        for k, ch in enumerate(label):
            cells[start + k] = ch
            taken[start + k] = True
    if vcol is not None and vline_label:
        start = min(max(0, vcol - len(vline_label) // 2), cols - len(vline_label))
        if not any(taken[max(0, start - 1) : start + len(vline_label) + 1]):
            for k, ch in enumerate(vline_label):
                cells[start + k] = ch
                styles[start + k] = st.FORWARD
    line = styled(" " * label_w + "└", AXIS, no_wrap=True)
    for ch, style in zip(cells, styles, strict=True):
        line.append(ch, style=style)
    return line


def _line(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
    """Bresenham: the dots from a to b inclusive."""
    (x0, y0), (x1, y1) = a, b
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    err = dx + dy
    out = []
    while True:
        out.append((x0, y0))
        if (x0, y0) == (x1, y1):
            return out
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy


def decades(low: float, high: float, every: int = 1) -> list[float]:
    """Whole decades from ``low`` to ``high`` (log10 units), every ``every``-th one."""
    first, last = math.ceil(low - 1e-9), math.floor(high + 1e-9)
    return [float(k) for k in range(first, last + 1) if (k - first) % every == 0]
