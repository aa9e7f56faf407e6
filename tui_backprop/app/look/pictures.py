"""A tensor as a few rows of plain text: what the circuit's wires and the presenter card write.

One rule for every size (README "Teaching with it"): a number as the digits setting writes it; a
vector of up to six elements inline (``[0.708 0.021]``, a column ``[0.708; 0.021]``); a matrix of up
to 4×4 laid out as a matrix (tall brackets, columns aligned on the decimal point: the engine's
``teach.numbers`` layout); anything bigger as its shape, a one-line sparkline of its values and the
followed element's value (``64×200 ▁▃▅▇▂ [3, 17] 0.25``). Every element's place is kept, so a view
can mark a wrong element (``!`` and a colour) or the followed one. Which form a tensor takes
depends on its shape only, so a view can size a drawing once per graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from tui_backprop.app import engine as door

if TYPE_CHECKING:
    from tui_backprop.app.engine import Block

Index = tuple[int, ...]
Form = Literal["number", "inline", "block", "summary"]

INLINE = 6
"""A vector (one axis longer than 1) of at most this many elements is written on one line."""
BLOCK = 4
"""A matrix of at most this many rows and columns is laid out as a matrix."""
SPARK = 8
"""Bars in the sparkline of a tensor too big to write out."""
MARK = "!"


def form(shape: tuple[int, ...], flat: bool = False) -> Form:
    """How a tensor of ``shape`` is written (its values do not matter); ``flat``: on one line
    (a small matrix inline too, ``[1 2; 3 4]``, where the height is short)."""
    size = int(np.prod(shape)) if shape else 1
    long_axes = [n for n in shape if n > 1]
    if size == 1:
        return "number"
    if len(long_axes) == 1 and size <= INLINE and len(shape) <= 2:
        return "inline"
    if len(shape) == 2 and shape[0] <= BLOCK and shape[1] <= BLOCK:
        return "inline" if flat else "block"
    return "summary"


def picture(
    array: np.ndarray,
    digits: int,
    marks: np.ndarray | None = None,
    index: Index | None = None,
    shape: bool = True,
    flat: bool = False,
) -> Block:
    """``array`` in its form; ``marks`` (booleans of its shape) put ``!`` after wrong elements;
    ``index`` is the element a summary names (default: the first), ``shape`` whether it starts
    with the tensor's shape (the circuit writes the shape on the gate instead), ``flat`` whether a
    small matrix is written on one line."""
    a = np.asarray(array, dtype=np.float64)
    flags = np.zeros(a.shape, bool) if marks is None else np.broadcast_to(np.asarray(marks, bool), a.shape)
    kind = form(a.shape, flat)
    if kind == "number":
        text = door.number(float(a.reshape(-1)[0]), digits) + (MARK if flags.reshape(-1)[0] else "")
        return door.Block((text,), {tuple(0 for _ in a.shape): (0, 0, len(text))})
    if kind == "inline":
        return _inline(a, flags, digits)
    if kind == "block":
        return door.matrix_layout(a, digits, flags, MARK)
    return _summary(a, flags, digits, index, shape)


def inline(array: np.ndarray | None, digits: int) -> str:
    """A tensor inside a formula, as the circuit writes it (one format in every view): a number, a
    row, a column or a small matrix on one line, else its shape (``?``: not known yet)."""
    if array is None:
        return "?"
    a = np.asarray(array)
    if form(a.shape, flat=True) == "summary":
        return f"‹{door.shape_text(a.shape)}›"
    return picture(a, digits, flat=True).rows[0]


def _inline(a: np.ndarray, flags: np.ndarray, digits: int) -> Block:
    """``[a b c]`` for a row or a 1-D vector, ``[a; b; c]`` for a column, ``[a b; c d]`` a matrix."""
    text = "["
    cells: dict[Index, tuple[int, int, int]] = {}
    for k, index in enumerate(np.ndindex(a.shape)):
        if k:
            text += "; " if a.ndim == 2 and index[1] == 0 else " "
        number = door.number(float(a[index]), digits) + (MARK if flags[index] else "")
        cells[index] = (0, len(text), len(text) + len(number))
        text += number
    return door.Block((text + "]",), cells)


def _summary(a: np.ndarray, flags: np.ndarray, digits: int, index: Index | None, shape: bool) -> Block:
    """``16×1 ▁▃▅█▂ [3,0] 0.21``: shape, sparkline (``!`` after it when any element is wrong), one
    element (``!`` after it when it is one of them)."""
    fits = index is not None and len(index) == a.ndim
    if not fits or any(not 0 <= i < n for i, n in zip(index or (), a.shape, strict=False)):
        index = tuple(0 for _ in a.shape)
    head = door.shape_text(a.shape) + " " if shape else ""
    strip = door.sparkline(a, SPARK) + (MARK if flags.any() else "")
    where = f"[{','.join(map(str, index))}]"
    number = door.number(float(a[index]), digits) + (MARK if flags[index] else "")
    text = f"{head}{strip} {where} "
    return door.Block((text + number,), {index: (0, len(text), len(text) + len(number))})


def widest(arrays: list[np.ndarray], digits: int, with_shape: bool = True) -> int:
    """The widest a summary of these same-shaped tensors (a value, its gradients) can be, whichever
    element it names and whichever is marked wrong: its longest number is its smallest or its
    largest magnitude, with a sign when any is negative."""
    shape = np.shape(arrays[0])
    where = len(",".join(str(n - 1) for n in shape)) + 2
    head = len(door.shape_text(shape)) + 1 if with_shape else 0
    longest = 1
    for array in arrays:
        a = np.abs(np.asarray(array, dtype=np.float64))
        finite = a[np.isfinite(a) & (a > 0)]
        ends = [float(finite.min()), float(finite.max())] if finite.size else []
        signed = bool(np.any(np.asarray(array) < 0))
        longest = max([longest, 3] + [len(door.number(v, digits)) + signed for v in ends])
    return head + SPARK + len(MARK) + 1 + where + 1 + longest + len(MARK)
