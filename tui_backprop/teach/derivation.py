"""The chain rule at one node, written out: local derivatives with numbers, and a numeric probe as arithmetic.

For teaching (README: "Teaching with it"). At a node's backward step, every input gets a
:class:`Link`: the op's local derivative as the textbook writes it (``Op.derivative``), the numbers
that go into it at one element, the textbook's value there, the upstream gradient and their
product, beside what the backward rule actually sent. :func:`central_difference` re-runs the part
of the graph downstream of one element moved by ±h, so the class sees where a numeric gradient
comes from: ``F(x+h)``, ``F(x-h)`` and ``(F₊ - F₋)/2h``.

Pure functions over a ``Trace``; no formatting of numbers (the views choose the digits).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tui_backprop.core.graph import Node
from tui_backprop.core.trace import Trace
from tui_backprop.teach.element import Focus, FocusLike, as_focus, element_label
from tui_backprop.teach.numbers import DIGITS, differing, number

Array = np.ndarray
Index = tuple[int, ...]

_PLACEHOLDER = re.compile(r"(d?)\{(\d+|out)\}(ᵀ?)")


@dataclass(frozen=True)
class Link:
    """One input's line of the chain rule at a node's backward step."""

    position: int
    parent: str
    label: str
    """``∂f/∂e``: what the local derivative is of."""
    local: str | None
    """The local derivative in names, ``-1/e²`` (None: the op states none elementwise)."""
    numbers: str | None
    """The template the numbers are plugged into: ``{0}``, ``{1}``… for inputs, ``{out}`` for the output."""
    operands: tuple[float | None, ...]
    """The inputs' values at the focus element, in input order (None: not one number there)."""
    out_value: float | None
    sent_formula: str | None
    """The gradient sent, in matrix form and names: ``dz2 · a1ᵀ``."""
    shapes: tuple[tuple[str, tuple[int, ...]], ...]
    """The operands of ``sent_formula`` with their shapes, in reading order, then the result's."""
    focus: Index | None
    """The element of the input the numbers are for (``()`` for a scalar; None: no single element)."""
    textbook: float | None
    """∂out/∂input at the focus, as the textbook formula gives it."""
    upstream: float | None
    """dL/dout at the output element the focus feeds (None when several do)."""
    upstream_at: Index | None
    """Which element of dL/dout that is: ``()`` when the output is a scalar."""
    sent: float | None
    """What the backward rule sent to the focus element."""
    sent_array: Array

    @property
    def expected(self) -> float | None:
        """upstream · textbook: what the chain rule says the focus element receives."""
        if self.upstream is None or self.textbook is None:
            return None
        return self.upstream * self.textbook

    @property
    def plugged_operands(self) -> bool:
        """Every placeholder of the numbers template has a number."""
        if self.numbers is None:
            return False
        for _, which, _ in _PLACEHOLDER.findall(self.numbers):
            value = self.out_value if which == "out" else _get(self.operands, int(which))
            if value is None:
                return False
        return True


def _get(values: tuple[float | None, ...], k: int) -> float | None:
    return values[k] if k < len(values) else None


def links(trace: Trace, name: str, focus: FocusLike | Mapping[int, Index] = None) -> list[Link]:
    """The chain rule for every input of op node ``name`` (its backward step).

    The numbers are written for the element of each input that ``focus`` follows
    (``teach.element``: the lecturer's choice, else the first flagged, else the largest gradient).
    A mapping keyed by input *position* is still read as the element per position (the app's
    older form).
    """
    positions: Mapping[int, Index] = {}
    if isinstance(focus, Mapping) and not isinstance(focus, Focus) and any(isinstance(k, int) for k in focus):
        positions, focus = focus, None  # type: ignore[assignment]
    chooser = as_focus(focus)  # type: ignore[arg-type]
    node = trace.graph[name]
    if node.op is None or name not in trace.contributions:
        return []
    out = trace.values[name]
    xs = [trace.values[p.name] for p in node.inputs]
    u = trace.grads[name]
    textbook = _textbook(node, out, xs)
    result = []
    for position, parent in enumerate(node.inputs):
        x = xs[position]
        sent = trace.contributions[name][position]
        k = positions.get(position)
        if k is None:
            k = chooser.index(trace, parent.name)
        result.append(
            Link(
                position=position,
                parent=parent.name,
                label=f"∂{name}/∂{parent.name}",
                local=_render(node, _template(node, "local", position)),
                numbers=_template(node, "numbers", position),
                operands=tuple(_at(v, x.shape, k) for v in xs),
                out_value=_at(out, x.shape, k),
                sent_formula=_render(node, _template(node, "sent", position)),
                shapes=_shapes(node, _template(node, "sent", position), out, xs, position),
                focus=k,
                textbook=_at(textbook[position], x.shape, k, out.shape) if textbook else None,
                upstream=_upstream(u, x.shape, k),
                upstream_at=() if u.size == 1 else (k if u.shape == x.shape else None),
                sent=_item(sent, k),
                sent_array=sent,
            )
        )
    return result


def _template(node: Node, kind: str, position: int) -> str | None:
    derivative = node.op.derivative if node.op is not None else None
    if derivative is None:
        return None
    if kind == "local":
        return derivative.local_template(position)
    if kind == "numbers":
        return derivative.numbers_template(position)
    return derivative.sent_template(position)


def _render(node: Node, template: str | None) -> str | None:
    """A template in the node's names (``d{out}`` reads ``dz2``)."""
    if template is None:
        return None
    try:
        return template.format(*(p.name for p in node.inputs), out=node.name)
    except (IndexError, KeyError, ValueError):
        return template


def _textbook(node: Node, out: Array, xs: list[Array]) -> list[Array | None] | None:
    """The op's textbook local derivatives, or None when it states none (or its formula fails)."""
    derivative = node.op.derivative if node.op is not None else None
    if derivative is None or derivative.evaluate is None:
        return None
    try:
        with np.errstate(all="ignore"):
            values = derivative.evaluate(out, *xs)
        return [np.asarray(v, dtype=np.float64) if v is not None else None for v in values]
    except Exception:  # an author's evaluate: the view falls back to what the backward rule did
        return None


def _item(a: Array, k: Index) -> float | None:
    try:
        return float(a[k]) if a.shape else float(a)
    except (IndexError, ValueError):
        return None


def _at(
    v: Array | None, shape: tuple[int, ...], k: Index, out_shape: tuple[int, ...] | None = None
) -> float | None:
    """A tensor's number at element ``k`` of an input of ``shape``: one number, or the same element."""
    if v is None:
        return None
    v = np.asarray(v)
    if v.size == 1:
        return float(v.reshape(-1)[0])
    if v.shape == shape:
        return _item(v, k)
    if out_shape is not None and shape == out_shape:
        try:
            return _item(np.broadcast_to(v, shape), k)
        except ValueError:
            return None
    return None


def _upstream(u: Array, shape: tuple[int, ...], k: Index) -> float | None:
    """dL/dout at the one output element input element ``k`` feeds (a scalar output, or elementwise)."""
    if u.size == 1:
        return float(u.reshape(-1)[0])
    if u.shape == shape:
        return _item(u, k)
    return None


def _shapes(
    node: Node, template: str | None, out: Array, xs: list[Array], position: int
) -> tuple[tuple[str, tuple[int, ...]], ...]:
    if template is None or "ᵀ" not in template:
        return ()  # shapes say something only about a matrix product
    found = []
    for d, which, transposed in _PLACEHOLDER.findall(template):
        if which == "out":
            name, shape = node.name, out.shape
        else:
            k = int(which)
            if k >= len(xs):
                continue
            name, shape = node.inputs[k].name, xs[k].shape
        if transposed:
            shape = shape[::-1]
        found.append((f"{d}{name}{transposed}", tuple(shape)))
    found.append((f"d{node.inputs[position].name}", tuple(xs[position].shape)))
    return tuple(found)


# ---------------------------------------------------------------- the numeric check as arithmetic
@dataclass(frozen=True)
class Probe:
    """One central difference of the output: ``(F(x+h) - F(x-h)) / 2h`` for one element of a node."""

    node: str
    index: Index
    x: float
    h: float
    """The half step actually taken, after rounding x ± eps to the dtype."""
    f_plus: float
    f_minus: float
    analytic: float
    output: str

    @property
    def numeric(self) -> float:
        with np.errstate(all="ignore"):
            return float((np.float64(self.f_plus) - np.float64(self.f_minus)) / (2 * np.float64(self.h)))

    def lines(self, digits: int = DIGITS) -> list[str]:
        """The probe as arithmetic, naming the element moved (never a bare ``x``, which a scenario
        may have as a leaf of its own): ``numeric dL/da: F = f, a = 6, h = 1e-6``, then ``F(a+h)``,
        ``F(a-h)`` with just enough digits to differ, then ``(F₊ - F₋)/2h`` beside the analytic."""
        at = element_label(self.node, self.index)
        plus, minus = differing(self.f_plus, self.f_minus, digits)
        x, h = number(self.x, digits), number(self.h, digits)
        return [
            f"numeric dL/d{at}: F = {self.output}, {at} = {x}, h = {h}",
            f"F({at}+h) = {plus}   F({at}-h) = {minus}",
            f"(F₊ - F₋)/2h = {number(self.numeric, digits)}   analytic {number(self.analytic, digits)}",
        ]


def probe(trace: Trace, name: str, eps: float, focus: FocusLike = None) -> Probe:
    """The central difference at the element of ``name`` that ``focus`` follows (``teach.element``)."""
    return central_difference(trace, name, as_focus(focus).index(trace, name), eps)


def central_difference(trace: Trace, name: str, index: Index, eps: float) -> Probe:
    """Move element ``index`` of node ``name`` by ±eps and re-run only what lies downstream of it."""
    graph = trace.graph
    node = graph[name]
    base = trace.values[name]
    dtype = base.dtype
    step = dtype.type(eps)
    plan = graph.downstream(node, trace.output)
    outputs = []
    for sign in (1, -1):
        moved = base.copy()
        if moved.ndim:
            moved[index] = moved[index] + sign * step
        else:
            moved = np.asarray(moved + sign * step, dtype=dtype)
        values = {name: moved}
        with np.errstate(all="ignore"):
            for m in plan:
                assert m.op is not None
                xs = [values.get(p.name, trace.values[p.name]) for p in m.inputs]
                values[m.name] = np.asarray(m.op.forward(*(x.copy() for x in xs))).astype(dtype)
        final = values.get(trace.output.name, trace.values[trace.output.name])
        outputs.append(float(np.asarray(final).reshape(-1)[0]))
    x = float(base[index]) if base.ndim else float(base)
    plus = np.float64(dtype.type(x) + step)
    minus = np.float64(dtype.type(x) - step)
    h = float((plus - minus) / 2)
    grad = trace.grads[name]
    analytic = float(grad[index]) if grad.ndim else float(grad)
    return Probe(name, tuple(index), x, h, outputs[0], outputs[1], analytic, trace.output.name)
