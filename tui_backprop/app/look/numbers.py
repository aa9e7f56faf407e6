"""Numbers and tensors as aligned Rich text: small ones in full, large ones summarised.

Everything here only *formats* what the engine computed (values, gradients, per-element check
codes); the few statistics of a summary (min, max, mean, norm) are display aids, not maths the
debugger relies on. Styles for check codes live here so the node list, the inspector and the
full tensor view colour a mismatch the same way, with a text marker so it reads without colour.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.console import Console
from rich.text import Text

from tui_backprop.app.engine import below_resolution, number
from tui_backprop.app.look import digits as _display
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.styles import styled

# Per-element check codes, as in tui_backprop.check (kept local: importing the checker here would
# pull it into every formatting call site, and these numbers are part of its contract).
OK, MISMATCH, KINK, NONFINITE, UNCHECKED = 0, 1, 2, 3, 4

CODE_STYLE = {MISMATCH: st.BLAME, KINK: st.CODE_KINK, NONFINITE: st.CODE_NONFINITE}
CODE_MARK = {OK: " ", MISMATCH: "!", KINK: "~", NONFINITE: "?", UNCHECKED: " "}
"""A one-character marker after each element, so mismatches read without colour."""

LABEL = st.LABEL
DIM = st.DIM
HIDDEN = st.HIDDEN

FOLLOWED = "bold underline"
"""The element followed in a tensor (the element cursor), inside a grid."""

SMALL_SIZE = 48
"""Tensors with at most this many elements are shown in full (when they fit the width)."""
SMALL_ROWS = 8


def num(x: float, digits: int | None = None) -> str:
    """One number with ``digits`` significant digits (default: the setting), in the one style of every
    view and the handout (``teach.numbers.number``: ``0.105 · 1 = 0.105``, never ``0.1050``)."""
    return number(x, _display.digits() if digits is None else digits)


def short(x: float) -> str:
    """A number inside a formula or a list: the same as ``num`` (one style everywhere)."""
    return num(x)


def err(x: float, dtype: np.dtype | str | None = None) -> str:
    """An error magnitude: two significant digits are all it needs.

    With ``dtype``, a relative error below what that dtype resolves reads ``<1e-15`` (float64),
    never round-off digits that differ from one machine to the next.
    """
    x = float(x)
    if math.isnan(x):
        return "–"
    if dtype is not None and (floor := below_resolution(x, dtype)) is not None:
        return floor
    if x == 0:
        return "0"
    if 0.01 <= x < 1000:
        return f"{x:.2g}"
    text = f"{x:.1e}"
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{int(exponent)}"


def rel_err_formatter(dtype: np.dtype | str):
    """``err`` for one dtype's relative errors, to format a grid of them."""
    return lambda x: err(x, dtype)


def shape_str(shape: Sequence[int]) -> str:
    """``scalar``, ``3`` or ``2×2``."""
    return "×".join(str(s) for s in shape) if len(shape) else "scalar"


def as_rows(array: np.ndarray, width: int | None = None, formatter=None) -> tuple[np.ndarray, bool]:
    """The array as a 2-D grid for display.

    A column vector is laid out as a row (marked ᵀ) when that row fits ``width``; otherwise it
    stays a column. Higher-rank arrays are folded to (rows, last axis).
    """
    a = np.asarray(array)
    if a.ndim == 0:
        return a.reshape(1, 1), False
    if a.ndim == 1:
        return a.reshape(1, -1), False
    if a.ndim == 2 and a.shape[1] == 1 and a.shape[0] > 1:
        if width is None or _row_width(a.reshape(1, -1), formatter) + 1 <= width:
            return a.reshape(1, -1), True
        return a, False
    return a.reshape(-1, a.shape[-1]), False


def _row_width(rows: np.ndarray, formatter=None) -> int:
    cell = max(len((formatter or num)(v)) for v in rows.reshape(-1)) if rows.size else 1
    return 2 + rows.shape[1] * (cell + 2)


def is_small(array: np.ndarray, width: int, formatter=None) -> bool:
    """Shown in full: few elements, few rows, and the rows fit ``width`` cells."""
    a = np.asarray(array)
    if a.size > SMALL_SIZE:
        return False
    rows, transposed = as_rows(a, width, formatter)
    return rows.shape[0] <= SMALL_ROWS and _row_width(rows, formatter) + transposed <= width


def cell_value(array: np.ndarray) -> str:
    """The node list's short value: the number itself, or the tensor's norm."""
    a = np.asarray(array)
    if a.size == 1:
        return short(a.reshape(-1)[0])
    with np.errstate(all="ignore"):
        norm = float(np.linalg.norm(a.astype(np.float64).reshape(-1)))
    return f"‖{short(norm)}‖"


@dataclass(frozen=True)
class Block:
    """A titled block of text lines, placed beside or below its neighbours."""

    title: str
    lines: list[Text]

    @property
    def width(self) -> int:
        return max([len(self.title)] + [line.cell_len for line in self.lines])


def grid(
    array: np.ndarray,
    codes: np.ndarray | None = None,
    formatter=num,
    width: int | None = None,
    followed: tuple[int, ...] | None = None,
) -> list[Text]:
    """A small tensor as aligned rows, flagged elements highlighted and marked; the element
    ``followed`` (the element cursor) underlined."""
    rows, transposed = as_rows(array, width, formatter)
    code_rows = np.asarray(codes).reshape(rows.shape) if codes is not None else None
    at = None
    shape = np.shape(array)
    if followed is not None and len(followed) == len(shape) and rows.size > 1:
        flat = int(np.ravel_multi_index(followed, shape)) if shape else 0
        at = divmod(flat, rows.shape[1])  # folding keeps the flat order
    texts = [[formatter(v) for v in row] for row in rows]
    width = max(len(t) for row in texts for t in row)
    lines = []
    n = len(texts)
    for i, row in enumerate(texts):
        left = "[" if n == 1 else ("┌" if i == 0 else "└" if i == n - 1 else "│")
        right = "]" if n == 1 else ("┐" if i == 0 else "┘" if i == n - 1 else "│")
        line = Text()
        line.append(left, style=DIM)
        for j, t in enumerate(row):
            code = int(code_rows[i, j]) if code_rows is not None else OK
            line.append(" ")
            line.append(t.rjust(width), style=CODE_STYLE.get(code, ""))
            if (i, j) == at:  # underlined, not coloured: it reads on a projector too
                line.stylize(FOLLOWED, len(line) - len(t), len(line))
            line.append(CODE_MARK.get(code, " "), style=CODE_STYLE.get(code, "") and "bold")
        line.append(right, style=DIM)
        if transposed and i == n - 1:
            line.append("ᵀ", style=DIM)
        lines.append(line)
    return lines


def stats(array: np.ndarray) -> tuple[list[tuple[str, float]], int]:
    """min, max, mean and norm over the finite elements, and how many are not finite."""
    a = np.asarray(array, dtype=np.float64).reshape(-1)
    finite = a[np.isfinite(a)]
    if not finite.size:
        return [], int(a.size)
    values = [
        ("min", float(finite.min())),
        ("max", float(finite.max())),
        ("mean", float(finite.mean())),
        ("‖·‖", float(np.linalg.norm(finite))),
    ]
    return values, int(a.size - finite.size)


def summary(array: np.ndarray, with_shape: bool = True) -> Text:
    """A large tensor in one line: shape and the statistics that tell tensors apart."""
    text = Text()
    if with_shape:
        text.append(shape_str(np.shape(array)) + "  ", style=LABEL)
    values, bad = stats(array)
    for k, (name, value) in enumerate(values):
        text.append(f"{'  ' if k else ''}{name} ", style=DIM)
        text.append(short(value))
    if bad:
        text.append(f"  {bad} non-finite", style=CODE_STYLE[NONFINITE])
    return text


def stats_table(rows: Sequence[tuple[str, np.ndarray]], width: int = 1000) -> list[Text]:
    """Summaries of same-shaped tensors (analytic, numeric) aligned column by column.

    The mean is the first column to go when the table is wider than ``width``.
    """
    computed = [(label, *stats(array)) for label, array in rows]
    names = ["min", "max", "mean", "‖·‖"]
    cells = [[short(v) for _, v in values] or ["–"] * 4 for _, values, _ in computed]
    widths = [max([len(n)] + [len(c[i]) for c in cells]) for i, n in enumerate(names)]
    label_w = max(len(label) for label, *_ in computed)
    if label_w + sum(w + 2 for w in widths) > width:
        keep = [0, 1, 3]
        names = [names[i] for i in keep]
        widths = [widths[i] for i in keep]
        cells = [[row[i] for i in keep] for row in cells]
    header = styled(" " * label_w, DIM, no_wrap=True)
    for name, w in zip(names, widths, strict=True):
        header.append("  " + name.rjust(w), style=DIM)
    lines = [header]
    for (label, _, bad), row in zip(computed, cells, strict=True):
        line = Text(no_wrap=True)
        line.append(label.ljust(label_w), style=DIM)
        for cell, w in zip(row, widths, strict=True):
            line.append("  " + cell.rjust(w))
        if bad:
            line.append(f"  {bad} non-finite", style=CODE_STYLE[NONFINITE])
        lines.append(line)
    return lines


def tensor_lines(
    array: np.ndarray, width: int, codes: np.ndarray | None = None, followed: tuple[int, ...] | None = None
) -> list[Text]:
    """Full grid when small (with three digits if four do not fit), else the one-line summary."""
    for formatter in (num, num3):
        if is_small(array, width, formatter):
            return grid(array, codes, formatter, width=width, followed=followed)
    return [summary(array)]


def num3(x: float) -> str:
    return num(x, min(3, _display.digits()))


def side_by_side(blocks: Sequence[Block], width: int, gap: int = 3) -> list[Text]:
    """Blocks left to right, wrapping to a new band of blocks when the next one does not fit."""
    blocks = [b for b in blocks if b.lines]
    out: list[Text] = []
    band: list[Block] = []
    used = 0
    for b in blocks:
        extra = b.width + (gap if band else 0)
        if band and used + extra > width:
            out.extend(_band(band, gap))
            band, used = [], 0
            extra = b.width
        band.append(b)
        used += extra
    if band:
        out.extend(_band(band, gap))
    return out


def _band(blocks: Sequence[Block], gap: int) -> list[Text]:
    """Blocks of one band side by side under their titles."""
    height = max(len(b.lines) for b in blocks)
    header = Text()
    rows = [Text() for _ in range(height)]
    for k, b in enumerate(blocks):
        pad = " " * gap if k < len(blocks) - 1 else ""
        header.append(b.title.ljust(b.width) + pad, style=DIM)
        for i in range(height):
            line = b.lines[i] if i < len(b.lines) else Text()
            rows[i].append_text(line)
            rows[i].append(" " * (b.width - line.cell_len) + pad)
    return [header, *rows]


_CONSOLE: Console | None = None


def hang(lines: list[Text], width: int) -> list[Text]:
    """Wrap each line to ``width`` with its continuation lines indented under its own start."""
    global _CONSOLE
    if _CONSOLE is None:
        _CONSOLE = Console(width=200, color_system=None, force_terminal=False, file=io.StringIO())
    out: list[Text] = []
    for line in lines:
        if line.cell_len <= width:
            out.append(line)
            continue
        if line.no_wrap:  # a table row: cropping keeps the columns, wrapping would not
            line = line.copy()
            line.truncate(width, overflow="ellipsis")
            out.append(line)
            continue
        plain = line.plain
        depth = len(plain) - len(plain.lstrip(" "))
        body = line[depth:]
        indent = min(depth, width // 2)  # a line nested deeper than a narrow view still gets room
        hanging = min(indent + 2, width // 2)
        first, *rest = body.wrap(_CONSOLE, max(1, width - indent))
        out.append(Text(" " * indent) + first)
        if rest:
            remainder = Text(" ").join(rest)
            pieces = remainder.wrap(_CONSOLE, max(1, width - hanging))
            out.extend(Text(" " * hanging) + piece for piece in pieces)
    return out
