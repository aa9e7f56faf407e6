"""Numbers and tensors as every view writes them: one style per digits setting.

README ("Teaching with it"): a number has the setting's significant digits with trailing zeros
dropped (``0.105``, ``6``, ``-0.7758``, ``1.5e-7``), so ``0.105 · 1 = 0.105`` never mixes two
precisions on one line. A tensor is written inline the way a blackboard does (``[0.708 0.021]`` a
row, ``[-0.013; -0.197]`` a column, ``[1 2; 3 4]`` a matrix), or laid out as a matrix: :func:`layout`
returns its rows of text, the columns aligned on the decimal point, and where each element sits, so
a view can colour a flagged or a chosen element; :func:`beside` puts blocks and words side by side
for an equation. Pure text: no Rich, no styles (the views add those).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Array = np.ndarray
Index = tuple[int, ...]

DIGITS = 4
"""Significant digits when the caller does not say (the app passes its setting)."""


def number(x: float, digits: int = DIGITS, *, keep_zeros: bool = False) -> str:
    """One number: ``digits`` significant digits, trailing zeros dropped (kept with ``keep_zeros``,
    for two numbers compared digit by digit), ``-0`` as ``0``."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    text = f"{x:{'#' if keep_zeros else ''}.{max(1, int(digits))}g}".rstrip(".")
    if "e" in text:  # 1.5e-07 → 1.5e-7
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def differing(a: float, b: float, digits: int = DIGITS) -> tuple[str, str]:
    """Two numbers with just enough more significant digits (up to 17) that they differ where they
    do, both to that many digits (``0.8807972``, ``0.8807970``): ``F(x+h)`` and ``F(x-h)`` agree in
    their first digits by design."""
    for more in range(digits, 18):
        left, right = number(a, more, keep_zeros=True), number(b, more, keep_zeros=True)
        if left != right or float(a) == float(b):
            return left, right
    return number(a, 17, keep_zeros=True), number(b, 17, keep_zeros=True)


def factor(x: float, digits: int = DIGITS) -> str:
    """A number inside a product or a difference: a negative one in parentheses, ``(-0.7758)``."""
    text = number(x, digits)
    return f"({text})" if text.startswith("-") else text


def inline(a: Array | float, digits: int = DIGITS) -> str:
    """A tensor on one line: a number, ``[a b c]`` (a vector or a row), ``[a; b]`` (a column),
    ``[1 2; 3 4]`` (rows separated by ``;``); higher ranks nest ``[...; ...]`` per leading index."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return number(float(a), digits)
    if a.ndim == 1:
        return "[" + " ".join(number(v, digits) for v in a) + "]"
    if a.ndim == 2:
        return "[" + "; ".join(" ".join(number(v, digits) for v in row) for row in a) + "]"
    return "[" + "; ".join(inline(sub, digits) for sub in a) + "]"


def shape_text(shape: Sequence[int]) -> str:
    """``2×3``; a scalar is ``1``."""
    return "×".join(map(str, shape)) or "1"


# ---------------------------------------------------------------- matrices laid out as matrices
@dataclass(frozen=True)
class Block:
    """Rows of text of equal width, and where each element of the tensor sits in them."""

    rows: tuple[str, ...]
    cells: dict[Index, tuple[int, int, int]]
    """Element index → (row, first column, column past the end) of its number."""

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    @property
    def height(self) -> int:
        return len(self.rows)


LEFT = {"top": "⎡", "middle": "⎢", "bottom": "⎣", "only": "["}
RIGHT = {"top": "⎤", "middle": "⎥", "bottom": "⎦", "only": "]"}


def layout(a: Array | float, digits: int = DIGITS, marks: Array | None = None, mark: str = "!") -> Block:
    """A tensor as a matrix: one text row per matrix row, tall brackets, columns aligned on the
    decimal point. ``marks`` (booleans shaped like ``a``) puts ``mark`` after flagged elements, so a
    wrong element reads without colour. A vector is a row, a scalar a bare number; a tensor of rank 3
    or more is its matrices one under the other, each headed by its leading index."""
    a = np.asarray(a, dtype=np.float64)
    flags = (
        np.zeros(a.shape, dtype=bool) if marks is None else np.broadcast_to(np.asarray(marks, bool), a.shape)
    )
    if a.ndim == 0:
        text = number(float(a), digits) + (mark if flags.item() else "")
        return Block((text,), {(): (0, 0, len(text))})
    if a.ndim == 1:
        block = _matrix(a.reshape(1, -1), flags.reshape(1, -1), digits, mark)
        return Block(block.rows, {(j,): cell for (_, j), cell in block.cells.items()})
    if a.ndim == 2:
        return _matrix(a, flags, digits, mark)
    rows: list[str] = []
    cells: dict[Index, tuple[int, int, int]] = {}
    for k in range(a.shape[0]):
        sub = layout(a[k], digits, flags[k], mark)
        rows.append(f"[{k}]")
        offset = len(rows)
        rows.extend(sub.rows)
        for index, (r, start, end) in sub.cells.items():
            cells[(k, *index)] = (r + offset, start, end)
    width = max(len(r) for r in rows)
    return Block(tuple(r.ljust(width) for r in rows), cells)


def _matrix(a: Array, flags: Array, digits: int, mark: str) -> Block:
    texts = [
        [number(v, digits) + (mark if f else "") for v, f in zip(row, frow, strict=True)]
        for row, frow in zip(a, flags, strict=True)
    ]
    columns = list(zip(*texts, strict=True))
    lefts = [max(len(_split(t)[0]) for t in col) for col in columns]
    rights = [max(len(_split(t)[1]) for t in col) for col in columns]
    rows: list[str] = []
    cells: dict[Index, tuple[int, int, int]] = {}
    n = len(texts)
    for i, row in enumerate(texts):
        where = "only" if n == 1 else "top" if i == 0 else "bottom" if i == n - 1 else "middle"
        line = LEFT[where]
        for j, text in enumerate(row):
            left, right = _split(text)
            line += " " if j else ""
            start = len(line) + lefts[j] - len(left)
            line += left.rjust(lefts[j]) + right.ljust(rights[j])
            cells[(i, j)] = (i, start, start + len(text))
        rows.append(line + RIGHT[where])
    return Block(tuple(rows), cells)


def _split(text: str) -> tuple[str, str]:
    """A number split where its decimal point is (or would be): ``-0.013`` → ``-0``, ``.013``."""
    for k, ch in enumerate(text):
        if ch in ".e":
            return text[:k], text[k:]
    return text, ""


def block(a: Array | float, digits: int = DIGITS, marks: Array | None = None) -> list[str]:
    """The rows of :func:`layout` alone."""
    return list(layout(a, digits, marks).rows)


@dataclass(frozen=True)
class Laid:
    """Parts side by side: the rows, and where each part's top-left corner landed (row, column)."""

    rows: tuple[str, ...]
    offsets: tuple[tuple[int, int], ...]


def beside(parts: Sequence[Block | str], gap: int = 1) -> Laid:
    """Blocks and words side by side, each centred on the same middle row: an equation
    ``dW1 = ⎡..⎤ · [..] = ⎡..⎤`` over as many rows as its tallest matrix."""
    blocks = [Block((p,), {}) if isinstance(p, str) else p for p in parts]
    height = max((b.height for b in blocks), default=0)
    middle = (height - 1) // 2
    rows = [""] * height
    offsets = []
    for k, b in enumerate(blocks):
        top = middle - (b.height - 1) // 2
        column = max((len(r) for r in rows), default=0) + (gap if k else 0)
        offsets.append((top, column))
        for r in range(height):
            text = b.rows[r - top] if 0 <= r - top < b.height else ""
            rows[r] = rows[r].ljust(column) + text.ljust(b.width)
    width = max((len(r) for r in rows), default=0)
    return Laid(tuple(r.ljust(width) for r in rows), tuple(offsets))


LEVELS = "▁▂▃▄▅▆▇█"


def sparkline(a: Array, width: int) -> str:
    """A tensor too big to write out, as one line of ``width`` bars at most: its elements in order
    (row by row), each bar the mean of its run of elements, scaled from the smallest to the largest.
    Non-finite runs are ``!``; a constant tensor is a flat line."""
    flat = np.asarray(a, dtype=np.float64).reshape(-1)
    if flat.size == 0 or width < 1:
        return ""
    bins = np.array_split(flat, min(width, flat.size))
    with np.errstate(all="ignore"):
        means = np.array([np.mean(b) for b in bins])
    finite = np.isfinite(means)
    if not finite.any():
        return "!" * len(means)
    low, high = float(np.min(means[finite])), float(np.max(means[finite]))
    span = high - low
    out = []
    for m, ok in zip(means, finite, strict=True):
        if not ok:
            out.append("!")
            continue
        level = round(float((m - low) / span) * (len(LEVELS) - 1)) if span > 0 else 0
        out.append(LEVELS[level])
    return "".join(out)
