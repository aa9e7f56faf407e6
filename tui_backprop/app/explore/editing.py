"""Edit, nudge and undo a leaf's value (README "Explore it live"), as a service over the model.

The edits live in the model, by leaf name, apart from any one trace: every re-run (an edit, a
nudge, an undo, a live reload) shows the graph run with them, on the same step. What the user
typed is parsed here (``NAME = …``, ``NAME[i, j] += h``) and its arithmetic read by the engine's
small number reader; nothing typed is executed. An attempt answers with the reason it was
refused, and then nothing has changed. No Textual here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui_backprop.app import engine as door
from tui_backprop.app.model.model import Model

if TYPE_CHECKING:
    from tui_backprop.app.engine import Edits, Engine, Nudge, Trace

TARGET = re.compile(
    r"^\s*(?P<name>[^\[=+\-\s][^\[=]*?)\s*(?:\[(?P<index>[\d\s,]*)\])?\s*(?P<op>\+=|-=|=)\s*(?P<value>.*)$"
)
"""``NAME = value``, ``NAME[i, j] = value``, ``NAME += h``, ``NAME[i] -= h``."""
FIRST_H = 1e-3
"""The lecture's h (``teach.edits.NUDGE_H``), the first nudge's step; the last one typed after."""


@dataclass(frozen=True)
class Nudged:
    """A nudge made: the engine's account of it, and the traces before and after."""

    result: Nudge
    before: Trace
    after: Trace


class Editor:
    """Changes leaf values in the model's edits and shows the graph run with them."""

    def __init__(self, model: Model, engine: Engine, show: Callable[[Trace], None]) -> None:
        """``show`` puts a re-run trace on screen on the same step (``Loader.show_edited``)."""
        self.model = model
        self.engine = engine
        self.show = show
        self.nudge_h = FIRST_H

    @property
    def edits(self) -> Edits:
        """The leaf values the user changed, with their undo history (made on first use)."""
        if self.model.edits is None:
            self.model.edits = door.Edits()
        return self.model.edits

    # ------------------------------------------------------------ edits across re-runs and reloads
    def with_edits(self, trace: Trace, applied: bool = False) -> Trace:
        """The load hook: a freshly built trace run with the edits that still apply to it
        (``applied``: it already is, as a lesson's or a re-run's)."""
        model = self.model
        if not applied and model.edits:
            dropped = self.edits.carry_over(trace.graph)
            if dropped:
                model.notify(f"edits dropped (no such leaf now): {', '.join(dropped)}", timeout=4)
            if self.edits:
                try:
                    trace = self.engine.rerun(trace, self.edits.values)
                except Exception as exc:  # an edited value the rebuilt graph cannot run with
                    self.edits.values.clear()
                    model.notify(f"edits dropped: {exc}", "warning", 6)
        model.nonfinite = door.first_nonfinite(trace) if model.edits else None
        return trace

    def _rerun(self) -> str | None:
        """Run the graph with the edits and show it on the same step; an error message or None."""
        session = self.model.session
        if session is None:
            return "no scenario open"
        try:
            trace = self.engine.rerun(session.trace, self.edits.values)
        except Exception as exc:  # a forward rule that raises on the new value
            return f"the graph cannot run with this value: {exc}"
        self.show(trace)
        if self.model.nonfinite:
            self.model.notify(f"non-finite from here on: {self.model.nonfinite}", "warning", 6)
        return None

    def target(self) -> str | None:
        """The leaf an edit or a nudge starts from: the one looked at, else a leaf input of this node."""
        session = self.model.session
        name = self.model.looked_at
        if session is None or name is None:
            return None
        graph = session.trace.graph
        node = graph[name]
        if node.is_leaf:
            return name
        leaves = [p.name for p in node.inputs if p.is_leaf] or [n.name for n in graph.nodes if n.is_leaf]
        return leaves[0] if leaves else None

    # ------------------------------------------------------------ edit, nudge, undo
    def try_edit(self, text: str) -> str | None:
        """``x = 2.5``, ``W[0, 1] = 1/3`` or ``W = [[…]]``: None when done, else why not (nothing changed)."""
        session = self.model.session
        if session is None:
            return "no scenario open"
        parsed = parse_target(text, ("=",))
        if isinstance(parsed, str):
            return parsed
        name, index, _, value = parsed
        try:
            new = door.edited_value(session.trace, name, index, value)
        except door.EditError as exc:
            return str(exc)
        self.edits.set(name, new)
        error = self._rerun()
        if error is not None:
            self.edits.undo()
        return error

    def first_nudge(self) -> str | None:
        """What ``h`` types for the leaf looked at: ``x += 0.001`` (the element followed, for a tensor)."""
        name = self.target()
        if self.model.session is None or name is None:
            return None
        return f"{door.element_label(name, self.model.element(name))} += {self.nudge_h:g}"

    def try_nudge(self, text: str) -> Nudged | str:
        """``x += 0.001``: nudge, re-run, and what changed; or why not (nothing changed)."""
        session = self.model.session
        if session is None:
            return "no scenario open"
        parsed = parse_target(text, ("+=", "-="))
        if isinstance(parsed, str):
            return parsed
        name, index, op, value = parsed
        try:
            h = door.evaluate(value) * (1 if op == "+=" else -1)
        except door.NotANumberError as exc:
            return f"h: {exc}"
        before = session.trace
        if name in before.graph and index is None and before.values[name].ndim == 0:
            index = ()
        if index is None:
            return f"choose an element: {name}[0, …] += h"
        try:
            result, after = door.nudge(before, self.edits, name, index, h)
        except door.EditError as exc:
            return str(exc)
        except Exception as exc:  # a forward rule that raises on the nudged value
            return f"the graph cannot run with this value: {exc}"
        self.nudge_h = abs(h)
        self.show(after)
        return Nudged(result, before, after)

    def seen_at(self) -> int | None:
        """The step whose reached values and gradients a nudge may show (README: no spoilers);
        None while every check result is shown."""
        session = self.model.session
        return None if self.model.show_all or session is None else session.step

    def undo(self) -> None:
        """The last edited leaf back to its previous value."""
        name = self.edits.undo()
        if name is None:
            self.model.notify("nothing to undo", timeout=2)
            return
        error = self._rerun()
        self.model.notify(error or f"undone: {name} is back to its previous value", timeout=3)


def parse_target(text: str, ops: tuple[str, ...]) -> tuple[str, tuple[int, ...] | None, str, str] | str:
    """``W[0, 1] += 1e-3`` as (name, index, op, the value's text); or how to write it."""
    match = TARGET.match(text)
    if match is None or match["op"] not in ops:
        return f"write it as {' or '.join('NAME ' + op + ' …' for op in ops)}"
    index = None
    if match["index"] is not None:
        try:
            index = tuple(int(i) for i in match["index"].split(",") if i.strip())
        except ValueError:
            return "an index is whole numbers: NAME[0, 1]"
    return match["name"].strip(), index, match["op"], match["value"]
