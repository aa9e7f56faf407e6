"""Which layer and row each node of the circuit goes in, and the order of the tracks between layers.

The first half of the layout (``layout.py`` draws the rest), pure Python: layers by longest path
from the leaves (a leaf just left of its first consumer); a pass-through in each layer a wire
skips; a gate's inputs enter on rows of their own (its *ports*), first operand on top; barycenter
sweeps order each layer to reduce crossings; rows placed as close to the ports they feed as the
labels' heights allow (isotonic regression, order kept); between two layers, the vertical tracks
ordered so that no two wires merge and few cross.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui_backprop.app.circuit.callouts import Callout


@dataclass(frozen=True)
class NodeSpec:
    """What the layout needs to know of a node: its inputs, what its gate says, how big its labels get."""

    name: str
    inputs: tuple[str, ...]
    is_op: bool
    symbol: str = ""
    shape: str = ""
    """A tensor's shape (``2×1``), written on the gate's bottom border or under a leaf's name."""
    width: int = 1
    """The widest label its wire will carry (value or gradient)."""
    above: int = 1
    """Rows of its value's picture, over the wire."""
    below: int = 1
    """Rows of its gradient's picture, under the wire."""
    callouts: tuple[Callout, ...] = ()
    """Everything a step may write beside its wire (a chain-rule product, the fan-out sum)."""

    def callouts_width(self, group: str) -> int:
        return max((c.width for c in self.callouts if c.group == group), default=0)

    @property
    def fans_out(self) -> bool:
        return any(c.group == "sum" for c in self.callouts)


def port_offsets(count: int) -> tuple[int, ...]:
    """Rows (relative to the gate's output row) where its ``count`` inputs enter, first on top:
    one input straight in; two above and below the gate's symbol; three around and through it."""
    if count <= 1:
        return (0,) * count
    half = count // 2
    if count % 2:
        return tuple(range(-half, half + 1))
    return tuple(range(-half, 0)) + tuple(range(1, half + 1))


@dataclass(eq=False)
class Unit:
    """A gate, a leaf or a pass-through of a wire in one layer."""

    key: str
    source: str
    """The node whose wire this is (itself for a real node)."""
    layer: int
    real: bool
    offsets: tuple[int, ...] = (0,)
    """Port rows relative to ``y`` (a pass-through: one, straight through)."""
    order: float = 0.0
    y: float = 0.0
    up: int = 0
    """Rows it needs above its wire row, in its gate column or its label area."""
    down: int = 0
    preds: list[tuple[Unit, int]] = field(default_factory=list)
    """(the unit feeding it, the port it enters)."""
    succs: list[tuple[Unit, int]] = field(default_factory=list)
    """(the unit it feeds, the port it enters there)."""

    def port_row(self, port: int) -> int:
        return int(self.y) + self.offsets[port]


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


def _link(source: Unit, target: Unit, port: int) -> None:
    source.succs.append((target, port))
    target.preds.append((source, port))


def _units(specs: list[NodeSpec], layer: dict[str, int]) -> list[list[Unit]]:
    """Real units and pass-throughs, linked layer to layer; one pass-through per (wire, layer), and
    one link per input position (``x · x`` enters its gate twice)."""
    real: dict[str, Unit] = {}
    for i, s in enumerate(specs):
        offsets = port_offsets(len(s.inputs)) if s.is_op else (0,)
        up, down = _extent(s, offsets)
        real[s.name] = Unit(s.name, s.name, layer[s.name], True, offsets, float(i), up=up, down=down)
    every: dict[str, Unit] = dict(real)
    for spec in specs:
        target = real[spec.name]
        for position, p in enumerate(spec.inputs):
            if p not in real:
                continue
            previous = real[p]
            for k in range(layer[p] + 1, target.layer):
                key = f"{p}@{k}"
                unit = every.get(key)
                if unit is None:
                    unit = every[key] = Unit(key, p, k, False, order=real[p].order + 0.5)
                    _link(previous, unit, 0)
                previous = unit
            _link(previous, target, position)
    depth = max((u.layer for u in every.values()), default=0) + 1
    layers: list[list[Unit]] = [[] for _ in range(depth)]
    for unit in every.values():
        layers[unit.layer].append(unit)
    for units in layers:
        units.sort(key=lambda u: u.order)
    return layers


def _extent(spec: NodeSpec, offsets: tuple[int, ...]) -> tuple[int, int]:
    """Rows a node needs above and below its wire: its box or name tag, and its labels (value
    above; gradient, the callout row and, when it fans out, the sum row below)."""
    if spec.is_op:
        box_up, box_down = 1 - min((*offsets, 0)), 1 + max((*offsets, 0))
    else:
        box_up, box_down = 0, 1 if spec.shape else 0
    labels_down = spec.below + 1 + (1 if spec.fans_out else 0)
    return max(box_up, spec.above), max(box_down, labels_down)


def _fraction(target: Unit, port: int) -> float:
    """Where a port sits among its gate's, as a fraction of a rank: first operand on top."""
    return target.offsets[port] * 0.1


def _order(layers: list[list[Unit]], sweeps: int = 4) -> None:
    """Barycenter heuristic: each unit moves to the mean position of the ports it feeds (or the
    units feeding it) in the last layer placed."""
    for units in layers:
        for i, u in enumerate(units):
            u.order = float(i)
    for sweep in range(sweeps):
        forward = sweep % 2 == 0
        sequence = layers[1:] if forward else layers[-2::-1]
        for units in sequence:
            for i, u in enumerate(units):
                if forward and u.preds:
                    u.order = sum(s.order - _fraction(u, port) for s, port in u.preds) / len(u.preds)
                elif not forward and u.succs:
                    u.order = sum(t.order + _fraction(t, port) for t, port in u.succs) / len(u.succs)
                else:
                    u.order = float(i)
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


def _gaps(units: list[Unit]) -> list[int]:
    """Rows between each unit's wire and the next one's: its own room below, the next one's above."""
    return [
        u.down + (v.up if v is not None else 0) + 1 for u, v in zip(units, [*units[1:], None], strict=True)
    ]


def _place_rows(layers: list[list[Unit]], sweeps: int = 6) -> None:
    for units in layers:
        y = 0
        for u, gap in zip(units, _gaps(units), strict=True):
            u.y = float(y)
            y += gap
    for sweep in range(sweeps):
        forward = sweep % 2 == 0
        sequence = layers if forward else layers[::-1]
        for units in sequence:
            desired = []
            for u in units:
                feeding = [s.y - u.offsets[port] for s, port in u.preds]
                fed = [t.y + t.offsets[port] for t, port in u.succs]
                wanted = (feeding or fed) if forward else (fed or feeding)
                desired.append(sum(wanted) / len(wanted) if wanted else u.y)
            for u, y in zip(units, _isotonic(desired, _gaps(units)), strict=True):
                u.y = float(y)
    for units in layers:  # whole rows again, after the last sweep
        for u in units:
            u.y = float(round(u.y))


# ---------------------------------------------------------------- tracks
def needs_track(u: Unit) -> bool:
    """A wire turns on a vertical track of its own when it fans out or changes row."""
    return len(u.succs) > 1 or any(t.port_row(port) != int(u.y) for t, port in u.succs)


def _entries(u: Unit) -> list[int]:
    return [t.port_row(port) for t, port in u.succs]


def _left_of(a: Unit, b: Unit) -> int:
    """What it costs to put a's track left of b's: crossings, and a forbidden overlap (b's trunk
    running along the row a enters on, which would merge the two wires into one)."""
    entries_a, entries_b = _entries(a), _entries(b)
    lo_a, hi_a = min(entries_a + [int(a.y)]), max(entries_a + [int(a.y)])
    lo_b, hi_b = min(entries_b + [int(b.y)]), max(entries_b + [int(b.y)])
    cost = sum(1 for r in entries_a if lo_b < r < hi_b)  # b's track crosses a's way in
    cost += 1 if lo_a < int(b.y) < hi_a else 0  # a's track crosses b's trunk
    if int(b.y) in entries_a:
        cost += 1000
    return cost


def order_tracks(turning: list[Unit]) -> list[Unit]:
    """Tracks left to right: from the source rows' order, then neighbours swapped while it helps."""
    order = sorted(turning, key=lambda u: (int(u.y), min(_entries(u))))
    improved = True
    while improved:
        improved = False
        for i in range(len(order) - 1):
            a, b = order[i], order[i + 1]
            if _left_of(b, a) < _left_of(a, b):
                order[i], order[i + 1] = b, a
                improved = True
    return order


def placed(specs: list[NodeSpec]) -> list[list[Unit]]:
    """The units of ``specs`` (topological order) in their layers, each on its row (from 0)."""
    layers = _units(specs, _layers(specs))
    _order(layers)
    _place_rows(layers)
    low = min(int(u.y) - u.up for units in layers for u in units)
    for units in layers:
        for u in units:
            u.y = u.y - low
    return layers
