"""The circuit around one gate, for the presenter card: its wires in and out, in the circuit's colours.

The circuit view's own drawing (``layout.py``, ``labels.py``, ``paint.py``) for the graph cut down
to the step's node and the nodes feeding it, drawn as leaves: the card shows the inputs' values
and gradients, what the step sends along each wire, a fanned-out input's sum, the gate's output.
Its geometry comes from the circuit's ``Plan`` (label sizes, callout widths), so it is laid out
once per node, and a step only paints it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from rich.text import Text

from tui_backprop.app.circuit import labels
from tui_backprop.app.circuit.callouts import Callout
from tui_backprop.app.circuit.layering import NodeSpec
from tui_backprop.app.circuit.layout import Layout, layout
from tui_backprop.app.circuit.paint import overlays, runs, static_runs

if TYPE_CHECKING:
    from tui_backprop.app.engine import ElementPath, Focus
    from tui_backprop.app.model.session import Session


def around_specs(plan: labels.Plan, name: str) -> list[NodeSpec]:
    """The node and the nodes feeding it (as leaves), each with only the callouts the node's own
    steps show: its forward numbers, what it sends each input, the inputs' fan-out sums."""
    by_name = {spec.name: spec for spec in plan.specs}
    node = by_name[name]
    inputs = list(dict.fromkeys(node.inputs))
    fed = [
        replace(
            by_name[p],
            inputs=(),
            is_op=False,
            symbol="",
            callouts=_only(by_name[p].callouts, {f"back:{name}", "sum"}),
        )
        for p in inputs
    ]
    return [*fed, replace(node, callouts=_only(node.callouts, {"forward", "sum"}))]


def _only(callouts: Iterable[Callout], groups: set[str]) -> tuple[Callout, ...]:
    return tuple(c for c in callouts if c.group in groups)


def around_layout(plan: labels.Plan, name: str) -> Layout:
    return layout(around_specs(plan, name))


def around(
    session: Session,
    plan: labels.Plan,
    drawn: Layout,
    focus: Focus | None = None,
    path: ElementPath | None = None,
) -> list[Text]:
    """The drawing ``drawn`` (``around_layout`` of the session's node) at the session's step, as
    lines of Rich text whose styles are the circuit's style names (the followed element's ``path``
    picked out in the neighbours)."""
    state = labels.state(session, plan, list(drawn.gates), focus, path=path)
    state.callouts = {key: value for key, value in state.callouts.items() if key in drawn.callouts}
    painted = overlays(drawn, state)
    lines = []
    for y, row in enumerate(drawn.rows):
        text = Text(no_wrap=True)
        for piece, style in runs(drawn, y, static_runs(row, drawn, y), painted.get(y, ())):
            start = len(text)
            text.append(piece)
            for part in style.split("+") if style else ():  # labels.with_style: drawn together
                text.stylize(part, start, len(text))
        text.rstrip()
        lines.append(text)
    return lines
