"""Where every gate, wire, label and callout of the circuit view goes: computed once per graph.

Pure Python (no Textual, no numpy), so it is tested on its own. The drawing reads left to right
like the CS231n circuit: leaves (inputs, parameters) on the left, each op one gate, the loss on the
right. Steps (a Sugiyama layout, kept small; ``layering.py`` does the first three and orders the
tracks):

1. layers by longest path from the leaves; a leaf sits just left of its first consumer;
2. a wire that skips layers gets a pass-through in each layer it crosses, so every wire joins
   neighbouring layers;
3. a gate's inputs enter its left side each on a row of its own (a *port*), in the order of its
   formula, first on top; barycenter sweeps order each layer to reduce crossings, then rows are
   placed as close to the ports they feed as the label heights allow (isotonic regression, order kept);
4. between two layers, each wire leaves on a trunk that carries its labels (its value above, as
   many rows as its picture, its gradient below, then a row reserved for callouts and, where it fans
   out, one for the sum), turns on a vertical track of its own and enters its port;
5. every callout a step can show gets its place once (``callouts.py``), in free space near its
   wire: never over a wire, a gate, a label, or a callout shown at the same step; a channel is
   widened until every callout fits;
6. rows with nothing in them are dropped.

A step of the debugger changes only what is written in the label slots and callout places and how
cells are styled; this geometry never changes while the graph stays the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui_backprop.app.circuit.callouts import Occupancy, place
from tui_backprop.app.circuit.canvas import Canvas
from tui_backprop.app.circuit.layering import NodeSpec, Unit, needs_track, order_tracks, placed

WIDENINGS = 4
"""Times the channels are widened for callouts that found no room (each time settles at least one channel)."""


@dataclass(frozen=True)
class Gate:
    """A node's place: its box (for a leaf, its name tag) and the row its output wire leaves on."""

    name: str
    x0: int
    x1: int
    """One past the right edge."""
    y: int
    """The row of the output wire (the symbol's row)."""
    is_op: bool
    symbol: str
    shape: str = ""
    ports: tuple[int, ...] = ()
    """The rows its inputs enter on, in the order of its inputs."""

    @property
    def name_x(self) -> int:
        """Where a leaf's name starts: right-aligned against its wire, one blank cell between."""
        return self.x1 - 1 - len(self.name)

    @property
    def mark_x(self) -> int:
        """Where the check mark goes: on a gate's top border, left of a leaf's name."""
        return self.x1 - 2 if self.is_op else self.name_x - 1

    @property
    def shape_x(self) -> int:
        return self.x1 - 1 - len(self.shape)

    @property
    def top(self) -> int:
        return min((*self.ports, self.y)) - 1 if self.is_op else self.y

    @property
    def bottom(self) -> int:
        if self.is_op:
            return max((*self.ports, self.y)) + 1
        return self.y + 1 if self.shape else self.y


@dataclass(frozen=True)
class Slot:
    """The labels of a node's wire: from x0 to x1 (exclusive), ``above`` rows over row ``y`` (the
    value) and ``below`` rows under it (the gradient)."""

    x0: int
    x1: int
    y: int
    above: int = 1
    below: int = 1

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def callout_row(self) -> int:
        """The row kept free under the gradient for what a step writes about this wire."""
        return self.y + self.below + 1

    @property
    def sum_row(self) -> int:
        """A wire that fans out: the row under the callout row, for the sum of what comes back."""
        return self.y + self.below + 2


@dataclass
class Layout:
    """The drawing of one graph: static characters, gates, label slots, callout places, wires' cells."""

    width: int
    height: int
    rows: list[str]
    gates: dict[str, Gate]
    slots: dict[str, Slot]
    inputs: dict[str, list[list[tuple[int, int]]]] = field(default_factory=dict)
    """For each gate, per input position, the (x, y) cells of the wire that brings it in."""
    callouts: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    """(wire, group) → (x, y) where that callout starts."""
    wires: frozenset[tuple[int, int]] = frozenset()
    """Every cell drawn as a wire (not a box): nothing a step writes may land on one."""
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """For each gate, the nodes its inputs come from, in order."""

    def gate_at(self, x: int, y: int) -> str | None:
        """The node drawn at a cell (for clicks)."""
        for gate in self.gates.values():
            if gate.x0 <= x < gate.x1 and gate.top <= y <= gate.bottom:
                return gate.name
        return None


# ---------------------------------------------------------------- drawing
def gate_width(spec: NodeSpec) -> int:
    """A gate is as wide as its symbol and its name (on the top border) need; a leaf's tag as its
    name or shape, a cell for its mark and one before its wire."""
    if not spec.is_op:
        return max(len(spec.name), len(spec.shape)) + 2
    return max(len(spec.symbol) + 4, len(spec.name) + 4, len(spec.shape) + 4, 5)


@dataclass
class _Drawing:
    canvas: Canvas
    width: int
    height: int
    gates: dict[str, Gate]
    slots: dict[str, Slot]
    inputs: dict[str, list[list[tuple[int, int]]]]
    channel_of: dict[str, int]
    """The channel (layer) each real node's labels sit in."""


def _draw(specs: list[NodeSpec], layers: list[list[Unit]], extra: list[int]) -> _Drawing:
    """Columns, tracks, wires and boxes for placed units; ``extra`` widens each channel's labels."""
    by_name = {s.name: s for s in specs}
    widths = [max([gate_width(by_name[u.key]) if u.real else 1 for u in units] or [1]) for units in layers]
    tracks: list[list[Unit]] = []
    labels: list[int] = []
    channels: list[int] = []
    for k, units in enumerate(layers):
        tracks.append(order_tracks([u for u in units if needs_track(u)]))
        labels.append(max([by_name[u.key].width for u in units if u.real] or [1]) + extra[k])
        channels.append(labels[k] + 2 + max(1, 2 * len(tracks[k])))
    xs = []
    x = 1
    for k in range(len(layers)):
        xs.append(x)
        x += widths[k] + channels[k]
    canvas = Canvas()
    gates: dict[str, Gate] = {}
    slots: dict[str, Slot] = {}
    channel_of: dict[str, int] = {}
    unit_x: dict[int, tuple[int, int]] = {}
    path: dict[int, list[tuple[int, int]]] = {}
    """For a pass-through, the cells of the wire from its source up to and across it."""
    for k, units in enumerate(layers):
        for u in units:
            y = int(u.y)
            if u.real:
                spec = by_name[u.key]
                w = gate_width(spec)
                x0 = xs[k] + (widths[k] - w) // 2 if spec.is_op else xs[k] + widths[k] - w
                ports = tuple(y + o for o in u.offsets) if spec.is_op else ()
                gates[u.key] = Gate(u.key, x0, x0 + w, y, spec.is_op, spec.symbol, spec.shape, ports)
                unit_x[id(u)] = (x0, x0 + w)
            else:
                unit_x[id(u)] = (xs[k], xs[k] + widths[k])
                path[id(u)] = canvas.line(u.source, xs[k] - 1, y, xs[k] + widths[k], y)

    inputs: dict[str, list[list[tuple[int, int]]]] = {
        s.name: [[] for _ in s.inputs] for s in specs if s.is_op
    }
    for k, units in enumerate(layers):
        right = xs[k] + widths[k]
        track_x = {id(u): right + 2 + labels[k] + 2 * i for i, u in enumerate(tracks[k])}
        last = k == len(layers) - 1
        for u in units:
            y = int(u.y)
            end = track_x.get(id(u))
            trunk_end = end if end is not None else (right + channels[k] - 2 if last else xs[k + 1] - 1)
            trunk = canvas.line(u.source, unit_x[id(u)][1], y, trunk_end, y)
            if u.real:
                spec = by_name[u.key]
                slots[u.key] = Slot(right + 1, right + 1 + labels[k], y, spec.above, spec.below)
                channel_of[u.key] = k
            for target, port in u.succs:
                row = target.port_row(port)
                cells = path.get(id(u), []) + trunk
                if end is not None:
                    cells += canvas.line(u.source, end, y, end, row)
                cells += canvas.line(u.source, trunk_end, row, unit_x[id(target)][0], row)
                if target.real:
                    inputs[target.key][port] = cells
                else:
                    path[id(target)] = cells + path.get(id(target), [])
    for gate in gates.values():
        if gate.is_op:
            canvas.box(
                gate.x0,
                gate.x1,
                gate.top,
                gate.bottom,
                gate.y,
                gate.ports,
                gate.name,
                gate.symbol,
                gate.shape,
            )
        else:
            canvas.put(gate.name_x, gate.y, gate.name)
            canvas.put(gate.shape_x, gate.y + 1, gate.shape)
    height = max([int(u.y) + u.down for units in layers for u in units]) + 1
    return _Drawing(canvas, x, height, gates, slots, inputs, channel_of)


def layout(specs: list[NodeSpec]) -> Layout:
    """Lay out the graph of ``specs`` (topological order)."""
    if not specs:
        return Layout(0, 0, [], {}, {})
    by_name = {s.name: s for s in specs}
    layers = placed(specs)
    extra = [0] * len(layers)
    for _ in range(WIDENINGS + 1):
        drawing = _draw(specs, layers, extra)
        rows = drawing.canvas.render(drawing.width, drawing.height)
        occupancy = Occupancy(rows, drawing.slots, drawing.gates)
        wanted = [(name, c) for name, spec in by_name.items() for c in spec.callouts if name in drawing.slots]
        places, missing = place(wanted, drawing.slots, drawing.gates, occupancy)
        if not missing:
            break
        widen = [0] * len(layers)
        for name, short in missing.items():
            k = drawing.channel_of[name]
            widen[k] = max(widen[k], short)
        extra = [e + w for e, w in zip(extra, widen, strict=True)]
    width = max(
        [drawing.width]
        + [x + by_name[name].callouts_width(group) + 1 for (name, group), (x, _) in places.items()]
    )
    rows = [row.ljust(width) for row in rows]
    drawing.width = width
    result = _compact(drawing, rows, places)
    result.sources = {s.name: s.inputs for s in specs if s.is_op}
    return result


def _compact(drawing: _Drawing, rows: list[str], places: dict[tuple[str, str], tuple[int, int]]) -> Layout:
    """The drawing with its empty rows dropped: no wire, box, label or callout place on them."""
    used = {y for y, row in enumerate(rows) if row.strip()}
    for slot in drawing.slots.values():
        used.update(range(slot.y - slot.above, slot.y + slot.below + 1))
    used.update(y for _, y in places.values())
    keep = sorted(y for y in used if 0 <= y < len(rows))
    new = {y: i for i, y in enumerate(keep)}

    def row_of(y: int) -> int:
        return new[y]

    gates = {
        name: Gate(
            g.name, g.x0, g.x1, row_of(g.y), g.is_op, g.symbol, g.shape, tuple(row_of(p) for p in g.ports)
        )
        for name, g in drawing.gates.items()
    }
    slots = {name: Slot(s.x0, s.x1, row_of(s.y), s.above, s.below) for name, s in drawing.slots.items()}
    inputs = {
        name: [[(x, row_of(y)) for x, y in cells] for cells in wires]
        for name, wires in drawing.inputs.items()
    }
    callouts = {key: (x, row_of(y)) for key, (x, y) in places.items()}
    wires = frozenset((x, row_of(y)) for x, y in drawing.canvas.wire_cells() if y in new)
    return Layout(drawing.width, len(keep), [rows[y] for y in keep], gates, slots, inputs, callouts, wires)
