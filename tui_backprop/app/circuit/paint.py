"""What a step paints over the circuit's static drawing: text and style names, no Textual.

``overlays`` turns a step's ``CircuitState`` (``labels.py``) into text written into the label slots,
the callout places and the gates (restyled: lit, current, framed), never onto a wire (README:
"Teaching with it"); ``runs`` gives a row as (text, style name) pieces, static and painted, which
the circuit view turns into a strip and the presenter card into Rich text. Style names resolve
through the stylesheet (``look/styles.py``), so both draw in the same colours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui_backprop.app.look import styles as st

if TYPE_CHECKING:
    from tui_backprop.app.circuit.labels import CircuitState
    from tui_backprop.app.circuit.layout import Layout

Overlay = tuple[int, str, str]
"""(x, text, style) written over a row of the static drawing."""

STATIC = {"wire": st.WIRE, "gate": "bold", "leaf": st.LABEL, "shape": st.DIM}
"""The styles of the drawing itself: wires, gates, leaf names, shapes."""
LIT = st.BACKWARD
"""The wires a step moves a number along."""
_DOUBLE = str.maketrans("╭╮╰╯─│┤├", "╔╗╚╝═║╢╟")


def static_runs(row: str, layout: Layout, y: int) -> list[tuple[int, int, str]]:
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


def runs(
    layout: Layout, y: int, static: list[tuple[int, int, str]], overlay: tuple[Overlay, ...]
) -> list[tuple[str, str]]:
    """Row ``y`` as (text, style name) pieces: the drawing styled by ``static`` (``static_runs``),
    with ``overlay`` written over it."""
    chars = list(layout.rows[y])
    styles: list[str] = [""] * len(chars)
    for x0, x1, name in static:
        for x in range(x0, x1):
            styles[x] = name
    for x, text, name in overlay:
        for k, ch in enumerate(text):
            if 0 <= x + k < len(chars):
                chars[x + k] = ch
                styles[x + k] = name
    pieces = []
    start = 0
    for x in range(1, len(chars) + 1):
        if x == len(chars) or styles[x] != styles[start]:
            pieces.append(("".join(chars[start:x]), styles[start]))
            start = x
    return pieces


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
