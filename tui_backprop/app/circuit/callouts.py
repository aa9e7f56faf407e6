"""Where the circuit's callouts go: in free space near their wire, decided once per graph.

A callout is what a step writes beside a wire: the forward step with its numbers (``2 · 3 = 6``),
the chain-rule product a backward step sends along an input's wire (``0.105 × 3 = 0.315``), the
sum of what a fanned-out wire got back. It never covers a wire, a box, a label's slot, or another
callout that can be on screen at the same step, and keeps a blank cell on either side so it never
touches a wire (README: "the circuit never draws over itself"). First choice: the row kept under
its wire's gradient, starting under the label; then the nearest free place along that row, then
along the row over its value (never on a row kept for another wire). What
finds no place is reported, and the layout widens that wire's channel (``layout.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui_backprop.app.circuit.layout import Gate, Slot

REACH = 40
"""How far (in cells) a callout may move along its row from under its wire's label (it always
keeps touching the span from its wire's gate to the end of its labels)."""
GAP = 2
"""Blank cells between a callout and any other text on its row."""


@dataclass(frozen=True)
class Callout:
    """One callout a wire may carry, sized once per graph."""

    group: str
    """When it shows: ``forward`` (its node's forward step), ``back:NODE`` (NODE's backward step,
    what NODE sends along this wire), ``sum`` (from the first contribution that comes back on)."""
    width: int


def together(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Can two callouts ((wire, group) each) be on screen at the same step?"""
    (wire_a, group_a), (wire_b, group_b) = a, b
    if "forward" in (group_a, group_b):
        return (wire_a, group_a) == (wire_b, group_b)
    if "sum" in (group_a, group_b):
        return True  # a sum stays while the backward pass goes on
    return group_a == group_b


class Occupancy:
    """What is already drawn: the static rows, the label slots, the gates and leaf tags, the rows
    kept for each wire's callouts, and the callouts placed so far."""

    def __init__(self, rows: list[str], slots: dict[str, Slot], gates: dict[str, Gate]) -> None:
        self.rows = rows
        self.blocked: dict[int, list[tuple[int, int]]] = {}
        """Text: the label slots, and the leaf tags (their marks too), a gap either side."""
        for slot in slots.values():
            for y in range(slot.y - slot.above, slot.y + slot.below + 1):
                self.blocked.setdefault(y, []).append((slot.x0 - GAP, slot.x1 + GAP))
        for gate in gates.values():
            for y in range(gate.top, gate.bottom + 1):
                self.blocked.setdefault(y, []).append((gate.x0 - (0 if gate.is_op else GAP), gate.x1))
        self.kept: dict[int, list[tuple[int, int, str]]] = {}
        """Rows kept for a wire's callouts, under its labels: no other wire's callout goes there
        (under a gate is fine: what the gate sends its inputs reads well there)."""
        for name, slot in slots.items():
            for y in (slot.callout_row, slot.sum_row):
                self.kept.setdefault(y, []).append((slot.x0, slot.x1, name))
        self.placed: dict[int, list[tuple[int, int, tuple[str, str]]]] = {}

    def free(self, x: int, y: int, width: int, key: tuple[str, str]) -> bool:
        """The span [x, x + width) is empty, with a blank cell to any wire or box and two to any
        text (labels, tags, callouts shown at the same step), off other wires' kept rows."""
        if x < 0 or not 0 <= y < len(self.rows):
            return False
        if self.rows[y][max(0, x - 1) : x + width + 1].strip():  # past the right edge is free: it grows
            return False
        if any(a < x + width and x < b for a, b in self.blocked.get(y, ())):
            return False
        if any(a < x + width and x < b and wire != key[0] for a, b, wire in self.kept.get(y, ())):
            return False
        lo, hi = x - GAP, x + width + GAP
        return not any(a < hi and lo < b and together(key, other) for a, b, other in self.placed.get(y, ()))

    def take(self, x: int, y: int, width: int, key: tuple[str, str]) -> None:
        self.placed.setdefault(y, []).append((x, x + width, key))


def place(
    wanted: list[tuple[str, Callout]],
    slots: dict[str, Slot],
    gates: dict[str, Gate],
    occupancy: Occupancy,
) -> tuple[dict[tuple[str, str], tuple[int, int]], dict[str, int]]:
    """Places for the ``(wire, callout)`` pairs, and per wire how many cells its row lacks for the
    widest callout that found none.

    Every callout first tries its own spot (under its label, which a wide enough channel always
    leaves free), so none takes another's; the rest then look along their own row, then along the
    row over their wire's value."""
    places: dict[tuple[str, str], tuple[int, int]] = {}
    rest = []
    for name, callout in wanted:
        slot = slots[name]
        row = slot.sum_row if callout.group == "sum" else slot.callout_row
        key = (name, callout.group)
        inside = slot.x0 + callout.width <= len(occupancy.rows[row])
        if inside and occupancy.free(slot.x0, row, callout.width, key):
            occupancy.take(slot.x0, row, callout.width, key)
            places[key] = (slot.x0, row)
        else:
            rest.append((name, callout, row))
    missing: dict[str, int] = {}
    for name, callout, row in rest:
        slot = slots[name]
        key = (name, callout.group)
        # it stays over its own wire: touching the span from its gate to the end of its labels
        lo, hi = gates[name].x0 - callout.width + 1, slot.x1 - 1
        shifts = [x for d in range(1, REACH) for x in (slot.x0 - d, slot.x0 + d) if lo <= x <= hi]
        spots = [(x, row) for x in [slot.x0, *shifts]]
        if callout.group != "sum":
            over = slot.y - slot.above - 1
            spots += [(x, over) for x in [slot.x0, *shifts]]
        edge = len(occupancy.rows[0]) if occupancy.rows else 0
        spots.sort(key=lambda spot: spot[0] + callout.width > edge)  # growing the drawing comes last
        for x, y in spots:
            if occupancy.free(x, y, callout.width, key):
                occupancy.take(x, y, callout.width, key)
                places[key] = (x, y)
                break
        else:
            own = [(x, y) for x, y in spots if y == row]
            room = next(
                (
                    w
                    for w in range(callout.width - 1, 0, -1)
                    if any(occupancy.free(x, y, w, key) for x, y in own)
                ),
                0,
            )
            missing[name] = max(missing.get(name, 0), callout.width - room)
    return places, missing
