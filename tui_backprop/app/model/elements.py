"""The element cursor (README "Teaching with it"): which element of each tensor the views follow.

A lecture follows one number ("now follow W1[1, 0]"). The choice is the model's ``chosen``, by
node name, so it stays while stepping; every teaching view reads it through ``Model.focus()``. This
service changes it: moved by keys on the tensor looked at, set by a click (the tensor view, a
circuit block) or typed (``W1[1, 0]``), forgotten to return to the default. It announces
``Aspect.ELEMENT``. No Textual here.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from tui_backprop.app import engine as door
from tui_backprop.app.model.model import Model

if TYPE_CHECKING:
    from tui_backprop.app.engine import ElementPath

Index = tuple[int, ...]
TYPED = re.compile(r"^\s*(?P<name>[^\[\s][^\[]*?)?\s*(?P<index>\[[^\]]*\]|\([^)]*\))?\s*$")
"""``W1[1, 0]``, ``W1``, ``[1, 0]`` (the tensor looked at)."""


class Elements:
    """Moves, sets and forgets the element followed in a tensor."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def target(self) -> str | None:
        """The tensor the keys move the cursor in: the node looked at."""
        return self.model.looked_at

    def label(self, name: str | None = None) -> str:
        """``W1[1, 0]``: the element followed in ``name`` (default: the tensor looked at)."""
        name = name or self.target()
        if name is None or self.model.session is None:
            return ""
        return door.element_label(name, self.model.element(name))

    # ------------------------------------------------------------ changing it
    def choose(self, name: str, index: Index) -> str | None:
        """Follow element ``index`` of tensor ``name``; why not, or None."""
        session = self.model.session
        if session is None:
            return "no scenario open"
        if name not in session.trace.graph:
            return f"there is no tensor named {name!r}"
        shape = tuple(session.trace.values[name].shape)
        index = tuple(int(i) for i in index)
        if not door.fits(index, shape):
            return f"{door.element_label(name, index)} is not an element of a {_shape(shape)} tensor"
        self.model.choose_element(name, index)
        return None

    def move(self, rows: int, cols: int) -> None:
        """Move the cursor in the tensor looked at: ``cols`` along its last axis, ``rows`` along the
        one before (a vector moves along its only long axis either way); it stops at the edges."""
        model = self.model
        name = self.target()
        session = model.session
        if session is None or name is None:
            return
        shape = tuple(session.trace.values[name].shape)
        if _size(shape) <= 1:
            model.notify(f"{name} is one number: there is no other element to follow", timeout=2)
            return
        index = list(model.element(name))
        col_axis = len(shape) - 1
        row_axis = len(shape) - 2 if len(shape) >= 2 else None
        if row_axis is None or shape[row_axis] == 1:
            row_axis = col_axis  # a row: up and down move along it too
        if shape[col_axis] == 1 and row_axis is not None:
            col_axis = row_axis  # a column: left and right move along it too
        for axis, delta in ((row_axis, rows), (col_axis, cols)):
            if delta:
                index[axis] = max(0, min(shape[axis] - 1, index[axis] + delta))
        self.choose(name, tuple(index))

    def forget(self, name: str | None = None) -> None:
        """Back to the default element in ``name`` (default: the tensor looked at)."""
        name = name or self.target()
        if name is not None:
            self.model.choose_element(name, None)

    def follow(self, text: str) -> str | None:
        """What was typed: ``W1[1, 0]``, ``[1, 0]`` (the tensor looked at), ``W1`` or nothing (its
        default element again); why not, or None."""
        session = self.model.session
        if session is None:
            return "no scenario open"
        match = TYPED.match(text)
        if match is None:
            return "write it as NAME[i, j], or [i, j] for the tensor looked at"
        name = (match["name"] or "").strip() or self.target()
        if name is None or name not in session.trace.graph:
            known = ", ".join(session.node_names)
            return f"there is no tensor named {name!r} (the tensors: {known})"
        if match["index"] is None:
            self.forget(name)
            return None
        shape = tuple(session.trace.values[name].shape)
        try:
            index = door.parse_index(match["index"], shape)
        except ValueError as exc:
            return str(exc)
        return self.choose(name, index)

    def follow_or_say(self, text: str) -> None:
        """Follow what was typed in the palette (``follow W1[1, 0]``); a refusal is a notice."""
        problem = self.follow(text)
        if problem is not None:
            self.model.notify(problem, "error", 5)

    def prefill(self) -> str:
        """What the follow prompt starts from: the element followed in the tensor looked at."""
        return self.label()

    # ------------------------------------------------------------ reading it
    def path(self, name: str) -> ElementPath | None:
        """Which elements of its neighbours the followed element of ``name`` touches (for the circuit
        and the presenter to pick out); None where it and its neighbours are all numbers (there is
        nothing to pick out), when nothing is open, or when the author's code fails. The inputs its
        backward rule sends to are left out until that rule has run (a wrong rule's path would give
        the bug away), unless every result is shown."""
        session = self.model.session
        if session is None or name not in session.trace.graph:
            return None
        trace = session.trace
        around = [name, *(p.name for p in trace.graph[name].inputs)]
        around += [consumer.name for consumer, _ in trace.consumers.get(name, [])]
        if all(trace.values[n].size == 1 for n in around):
            return None
        element = door.Element(name, self.model.element(name))
        try:
            path = door.element_path(trace, element)
        except Exception:  # the author's forward on a moved value: no path rather than a crash
            return None
        sent_at = session.step_of(name, "backward")
        if not session.show_all and (sent_at is None or session.step < sent_at):
            path = replace(path, inputs={})
        return path


def _size(shape: tuple[int, ...]) -> int:
    size = 1
    for n in shape:
        size *= n
    return size


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape)) if shape else "scalar"
