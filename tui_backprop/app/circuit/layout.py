"""Where every gate and wire of the circuit view goes: a layered drawing, computed once per graph.

Pure Python (no Textual, no numpy), so it is tested on its own. The drawing reads left to right
like the CS231n circuit: leaves (inputs, parameters) on the left, each op one gate, the loss on the
right. Steps (a Sugiyama layout, kept small):

1. layers by longest path from the leaves; a leaf sits just left of its first consumer;
2. a wire that skips layers gets a pass-through in each layer it crosses, so every wire joins
   neighbouring layers;
3. barycenter sweeps order each layer to reduce crossings; rows are then placed as close to the
   mean of their neighbours as the spacing allows (isotonic regression, so the order is kept);
4. between two layers, each wire leaves its gate on a trunk that carries its labels (value above,
   gradient below, a callout line under that for a chain-rule product or a fan-out sum), turns on
   a vertical track of its own, and enters its consumer's gate from the left.

A step of the debugger changes only what is written in the label slots and how cells are styled;
this geometry never changes while the graph stays the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEPARATION = 5
"""Rows between the wires of two gates in one layer: label above, wire, label below, callout, gap."""
FAN_OUT_ROWS = 1
"""A wire that fans out gets one more row under it, for the sum of what its consumers send back."""
TOP = 1
"""Rows above the first wire: the gate's top border and the label above its trunk."""

N, S, E, W = 1, 2, 4, 8
_ROUND = {
    E | W: "─",
    N | S: "│",
    E | S: "╭",
    W | S: "╮",
    N | E: "╰",
    N | W: "╯",
    N | S | E: "├",
    N | S | W: "┤",
    E | W | S: "┬",
    E | W | N: "┴",
    N | S | E | W: "┼",
    E: "─",
    W: "─",
    N: "│",
    S: "│",
}


@dataclass(frozen=True)
class NodeSpec:
    """What the layout needs to know of a node: its inputs, whether it is a gate, what the gate says."""

    name: str
    inputs: tuple[str, ...]
    is_op: bool
    symbol: str = ""
    shape: str = ""
    """A tensor's shape (``2×1``), written on the gate's bottom border or under a leaf's name."""


@dataclass(frozen=True)
class Gate:
    """A node's place: its box (for a leaf, its name tag) and the row its output wire leaves on."""

    name: str
    x0: int
    x1: int
    """One past the right edge."""
    y: int
    """The row of the output wire (the box's middle row)."""
    is_op: bool
    symbol: str
    shape: str = ""

    @property
    def name_x(self) -> int:
        """Where a leaf's name starts: right-aligned against its wire, one cell left for its mark."""
        return self.x1 - 1 - len(self.name)

    @property
    def shape_x(self) -> int:
        return self.x1 - 1 - len(self.shape)

    @property
    def top(self) -> int:
        return self.y - 1 if self.is_op else self.y

    @property
    def bottom(self) -> int:
        return self.y + 1 if self.is_op or self.shape else self.y


@dataclass(frozen=True)
class Slot:
    """The label slot on a node's trunk: from x0 to x1 (exclusive), on the rows around ``y``."""

    x0: int
    x1: int
    y: int
    fan_out: bool = False
    """The wire feeds several gates: the row under the callout holds their sum."""

    @property
    def width(self) -> int:
        return self.x1 - self.x0


@dataclass
class Layout:
    """The drawing of one graph: static characters, gates, label slots and each wire's cells."""

    width: int
    height: int
    rows: list[str]
    gates: dict[str, Gate]
    slots: dict[str, Slot]
    inputs: dict[str, list[list[tuple[int, int]]]] = field(default_factory=dict)
    """For each gate, per input position, the (x, y) cells of the wire that brings it in."""

    def gate_at(self, x: int, y: int) -> str | None:
        """The node drawn at a cell (for clicks)."""
        for gate in self.gates.values():
            if gate.x0 <= x < gate.x1 and gate.top <= y <= gate.bottom:
                return gate.name
        return None


# ---------------------------------------------------------------- layering
@dataclass
class _Unit:
    """A gate, a leaf or a pass-through of a wire in one layer."""

    key: str
    source: str
    """The node whose wire this is (itself for a real node)."""
    layer: int
    real: bool
    order: float = 0.0
    y: float = 0.0
    preds: list[_Unit] = field(default_factory=list)
    succs: list[_Unit] = field(default_factory=list)


def _layers(specs: list[NodeSpec]) -> dict[str, int]:
    names = {s.name for s in specs}
    layer: dict[str, int] = {}
    for spec in specs:
        parents = [layer[p] for p in spec.inputs if p in names]
        layer[spec.name] = 1 + max(parents) if spec.is_op and parents else 0
    consumers: dict[str, list[int]] = {s.name: [] for s in specs}
    for spec in specs:
        for p in spec.inputs:
            if p in consumers:
                consumers[p].append(layer[spec.name])
    for spec in specs:
        if not spec.is_op and consumers[spec.name]:
            layer[spec.name] = max(0, min(consumers[spec.name]) - 1)
    return layer


def _units(specs: list[NodeSpec], layer: dict[str, int]) -> tuple[list[list[_Unit]], dict[str, _Unit]]:
    """Real units and pass-throughs, linked layer to layer; one pass-through per (wire, layer)."""
    real = {s.name: _Unit(s.name, s.name, layer[s.name], True, order=i) for i, s in enumerate(specs)}
    every: dict[str, _Unit] = dict(real)
    for i, spec in enumerate(specs):
        target = real[spec.name]
        for p in dict.fromkeys(spec.inputs):
            if p not in real:
                continue
            previous = real[p]
            for k in range(layer[p] + 1, target.layer):
                key = f"{p}@{k}"
                unit = every.get(key)
                if unit is None:
                    unit = every[key] = _Unit(key, p, k, False, order=real[p].order + 0.5)
                if unit not in previous.succs:
                    previous.succs.append(unit)
                    unit.preds.append(previous)
                previous = unit
            previous.succs.append(target)
            target.preds.append(previous)
        del i
    depth = max((u.layer for u in every.values()), default=0) + 1
    layers: list[list[_Unit]] = [[] for _ in range(depth)]
    for unit in every.values():
        layers[unit.layer].append(unit)
    for units in layers:
        units.sort(key=lambda u: u.order)
    return layers, real


def _order(layers: list[list[_Unit]], sweeps: int = 4) -> None:
    """Barycenter heuristic: each unit moves to the mean position of its neighbours in the last layer."""
    for u in (u for units in layers for u in units):
        u.order = 0.0
    for units in layers:
        for i, u in enumerate(units):
            u.order = float(i)
    for sweep in range(sweeps):
        forward = sweep % 2 == 0
        sequence = layers[1:] if forward else layers[-2::-1]
        for units in sequence:
            for i, u in enumerate(units):
                neighbours = u.preds if forward else u.succs
                u.order = sum(n.order for n in neighbours) / len(neighbours) if neighbours else float(i)
            units.sort(key=lambda u: u.order)
            for i, u in enumerate(units):
                u.order = float(i)


def _isotonic(desired: list[float], gaps: list[int]) -> list[int]:
    """Rows as close to ``desired`` as can be with at least ``gaps[i]`` below row i, order kept."""
    offsets = [0]
    for gap in gaps[:-1]:
        offsets.append(offsets[-1] + gap)
    shifted = [d - offset for d, offset in zip(desired, offsets, strict=True)]
    blocks: list[list[float]] = []  # [sum, count]
    for value in shifted:
        blocks.append([value, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    fitted: list[float] = []
    for total, count in blocks:
        fitted.extend([total / count] * int(count))
    return [round(z) + offset for z, offset in zip(fitted, offsets, strict=True)]


def _gap(u: _Unit) -> int:
    return SEPARATION + (FAN_OUT_ROWS if u.real and len(u.succs) > 1 else 0)


def _place_rows(layers: list[list[_Unit]], sweeps: int = 6) -> None:
    for units in layers:
        y = 0
        for u in units:
            u.y = float(y)
            y += _gap(u)
    for sweep in range(sweeps):
        forward = sweep % 2 == 0
        sequence = layers if forward else layers[::-1]
        for units in sequence:
            desired = []
            for u in units:
                neighbours = u.preds if forward else u.succs
                if not neighbours:
                    neighbours = u.succs if forward else u.preds
                desired.append(sum(n.y for n in neighbours) / len(neighbours) if neighbours else u.y)
            for u, y in zip(units, _isotonic(desired, [_gap(u) for u in units]), strict=True):
                u.y = float(y)
    for units in layers:  # whole rows again, after the last sweep
        for u in units:
            u.y = float(round(u.y))


# ---------------------------------------------------------------- geometry
def gate_width(spec: NodeSpec) -> int:
    """A gate is as wide as its symbol and its name (on the top border) need."""
    if not spec.is_op:
        return max(len(spec.name), len(spec.shape)) + 1
    return max(len(spec.symbol) + 4, len(spec.name) + 4, len(spec.shape) + 4, 5)


class _Canvas:
    def __init__(self) -> None:
        self.masks: dict[tuple[int, int], dict[str, int]] = {}
        self.text: dict[tuple[int, int], str] = {}

    def line(self, net: str, x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
        """A horizontal or vertical run of wire; returns its cells."""
        cells = []
        if y0 == y1:
            lo, hi = sorted((x0, x1))
            for x in range(lo, hi + 1):
                mask = (W if x > lo else 0) | (E if x < hi else 0)
                self.connect(net, x, y0, mask)
                cells.append((x, y0))
        else:
            lo, hi = sorted((y0, y1))
            for y in range(lo, hi + 1):
                mask = (N if y > lo else 0) | (S if y < hi else 0)
                self.connect(net, x0, y, mask)
                cells.append((x0, y))
        return cells

    def connect(self, net: str, x: int, y: int, mask: int) -> None:
        nets = self.masks.setdefault((x, y), {})
        nets[net] = nets.get(net, 0) | mask

    def put(self, x: int, y: int, text: str) -> None:
        for k, ch in enumerate(text):
            self.text[(x + k, y)] = ch

    def render(self, width: int, height: int) -> list[str]:
        grid = [[" "] * width for _ in range(height)]
        for (x, y), nets in self.masks.items():
            if 0 <= x < width and 0 <= y < height:
                horizontal = [m for m in nets.values() if m & (E | W)]
                if (
                    len(nets) > 1
                    and horizontal
                    and any(m & (N | S) and not m & (E | W) for m in nets.values())
                ):
                    straight = all(m == E | W for m in horizontal) and any(m == N | S for m in nets.values())
                    # two wires cross here: drawn as a crossing when both go straight through it,
                    # else (a wire turns or ends on the other) the horizontal one over the other
                    mask = N | S | E | W if straight else E | W
                else:
                    mask = 0
                    for m in nets.values():
                        mask |= m
                grid[y][x] = _ROUND.get(mask, "·")
        for (x, y), ch in self.text.items():
            if 0 <= x < width and 0 <= y < height:
                grid[y][x] = ch
        return ["".join(row) for row in grid]


def layout(specs: list[NodeSpec], label_width: dict[str, int]) -> Layout:
    """Lay out the graph of ``specs`` (topological order); ``label_width`` is each wire's widest label."""
    if not specs:
        return Layout(0, 0, [], {}, {})
    by_name = {s.name: s for s in specs}
    layers, _ = _units(specs, _layers(specs))
    _order(layers)
    _place_rows(layers)
    low = min(u.y for units in layers for u in units)
    for units in layers:
        for u in units:
            u.y = u.y - low + TOP

    # Columns: each layer is as wide as its widest gate; channels as wide as their labels and tracks.
    widths = [max([gate_width(by_name[u.key]) if u.real else 1 for u in units] or [1]) for units in layers]
    tracks: list[list[_Unit]] = []
    channels = []
    for units in layers:
        turning = [u for u in units if _needs_track(u)]
        turning.sort(key=lambda u: u.y)
        tracks.append(turning)
        labels = max([label_width.get(u.key, 1) for u in units if u.real] or [1])
        channels.append(labels + 2 + max(1, 2 * len(turning)))
    xs = []
    x = 1
    for k in range(len(layers)):
        xs.append(x)
        x += widths[k] + channels[k]
    total_width = x
    canvas = _Canvas()
    gates: dict[str, Gate] = {}
    slots: dict[str, Slot] = {}
    unit_x: dict[str, tuple[int, int]] = {}
    path: dict[str, list[tuple[int, int]]] = {}
    """For a pass-through, the cells of the wire from its source up to and across it."""

    for k, units in enumerate(layers):
        for u in units:
            y = int(u.y)
            if u.real:
                spec = by_name[u.key]
                w = gate_width(spec)
                x0 = xs[k] + (widths[k] - w) // 2 if spec.is_op else xs[k] + widths[k] - w
                gates[u.key] = Gate(u.key, x0, x0 + w, y, spec.is_op, spec.symbol, spec.shape)
                unit_x[u.key] = (x0, x0 + w)
            else:
                unit_x[u.key] = (xs[k], xs[k] + widths[k])
                path[u.key] = canvas.line(u.source, xs[k] - 1, y, xs[k] + widths[k], y)

    inputs: dict[str, list[list[tuple[int, int]]]] = {
        s.name: [[] for _ in s.inputs] for s in specs if s.is_op
    }
    for k, units in enumerate(layers):
        right = xs[k] + widths[k]
        labels = channels[k] - 2 - max(1, 2 * len(tracks[k]))
        track_x = {u.key: right + 2 + labels + 2 * i for i, u in enumerate(tracks[k])}
        last = k == len(layers) - 1
        for u in units:
            y = int(u.y)
            end = track_x.get(u.key)
            trunk_end = end if end is not None else (right + channels[k] - 2 if last else xs[k + 1] - 1)
            trunk = canvas.line(u.source, unit_x[u.key][1], y, trunk_end, y)
            if u.real:
                slots[u.key] = Slot(right + 1, right + 1 + labels, y, len(u.succs) > 1)
            for target in u.succs:
                ty = int(target.y)
                tx0 = unit_x[target.key][0]
                cells = path.get(u.key, []) + trunk
                if end is not None:
                    cells += canvas.line(u.source, end, y, end, ty)
                cells += canvas.line(u.source, trunk_end, ty, tx0, ty)
                if target.real:
                    for position, p in enumerate(by_name[target.key].inputs):
                        if p == u.source:
                            inputs[target.key][position] = cells
                else:
                    path[target.key] = cells + path.get(target.key, [])

    for gate in gates.values():
        if gate.is_op:
            _box(canvas, gate)
        else:
            canvas.put(gate.name_x, gate.y, gate.name)
            canvas.put(gate.shape_x, gate.y + 1, gate.shape)
    height = max([int(u.y) + _gap(u) - 2 for units in layers for u in units]) + 2  # + the caption row
    return Layout(total_width, height, canvas.render(total_width, height), gates, slots, inputs)


def _needs_track(u: _Unit) -> bool:
    """A wire turns on a vertical track of its own when it fans out or changes row."""
    return len(u.succs) > 1 or any(int(s.y) != int(u.y) for s in u.succs)


def _box(canvas: _Canvas, gate: Gate) -> None:
    """``╭ a ─╮ / ┤ × ├ / ╰───╯``: the node's name on the top border, the op's symbol inside."""
    w = gate.x1 - gate.x0
    inner = w - 2
    title = f" {gate.name} "
    top = "╭" + title + "─" * max(0, inner - len(title)) + "╮"
    middle_left = "┤" if (gate.x0, gate.y) in canvas.masks else "│"
    middle = middle_left + gate.symbol.center(inner) + "├"
    note = f" {gate.shape} " if gate.shape else ""
    bottom = "╰" + "─" * max(0, inner - len(note)) + note + "╯"
    canvas.put(gate.x0, gate.y - 1, top[:w])
    canvas.put(gate.x0, gate.y, middle[:w])
    canvas.put(gate.x0, gate.y + 1, bottom[:w])
