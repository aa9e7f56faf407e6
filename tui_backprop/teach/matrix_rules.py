"""Matrix rules with the numbers in: ``dW1 = dz1 · xᵀ = [-0.013; -0.197] · [0.708 0.021] = [...]``.

For a tensor op the chain rule is a matrix product, and a lecture writes it with the matrices
themselves. :func:`matrix_rule` evaluates an op's ``sent`` template (``Derivative.sent``: a product
of ``d{out}`` and inputs, some transposed) on the actual arrays, beside what the backward rule sent:
a wrong rule (``x · dz1ᵀ`` for ``dz1 · xᵀ``) shows as a different matrix, element by element.
:func:`jacobian_rule` does the same for the softmax family, whose local derivative is a matrix:
``J = diag(s) - s sᵀ`` with the numbers, and what it sends, ``Jᵀ · ds``.

Pure functions over a trace; the text comes from ``teach.numbers`` (one style, the caller's digits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from tui_backprop.core.ops.base import unbroadcast
from tui_backprop.core.trace import Trace
from tui_backprop.teach.numbers import DIGITS, Laid, beside, inline, layout, shape_text

Array = np.ndarray

AGREE_RTOL = 1e-6
"""The textbook matrix and what the backward rule sent agree when this close, element by element."""
_TOKEN = re.compile(r"^\(?(d?)\{(\d+|out)\}\)?(ᵀ?)$")


@dataclass(frozen=True)
class Operand:
    label: str
    """How the rule names it: ``dz1``, ``xᵀ``."""
    value: Array


@dataclass(frozen=True)
class MatrixRule:
    """The gradient an op sends one input, as the matrix product the textbook writes."""

    node: str
    parent: str
    position: int
    names: str
    """The product in names: ``dz1 · xᵀ``."""
    operands: tuple[Operand, ...]
    textbook: Array
    """The product of the operands, summed over the axes the op broadcast (a bias over a batch)."""
    summed: bool
    """The product was summed to the input's shape (``db1 = Σ dz1`` over the batch)."""
    sent: Array
    """What the backward rule actually sent."""

    @property
    def target(self) -> str:
        return f"d{self.parent}"

    @property
    def wrong(self) -> Array:
        """Elements where the backward rule sent something else than the textbook's matrix."""
        if self.sent.shape != self.textbook.shape:
            return np.ones(self.sent.shape, dtype=bool)
        with np.errstate(all="ignore"):
            return ~np.isclose(self.sent, self.textbook, rtol=AGREE_RTOL, atol=1e-12)

    @property
    def agrees(self) -> bool:
        return not bool(np.any(self.wrong))

    def text(self, digits: int = DIGITS) -> str:
        """One line: names, numbers, result; and what the rule sends instead, when it does."""
        names = f"Σ {self.names}" if self.summed else self.names
        numbers = " · ".join(inline(o.value, digits) for o in self.operands)
        line = f"{self.target} = {names}"
        if len(self.operands) > 1 or self.summed:  # a bare copy (db = dz) needs its numbers once
            line += f" = {numbers}"
        if self.summed:
            line += f" summed to {shape_text(self.textbook.shape)}"
        line += f" = {inline(self.textbook, digits)}"
        if not self.agrees:
            line += f";  the backward rule sends {inline(self.sent, digits)}"
        return line

    def laid_out(self, digits: int = DIGITS) -> Laid:
        """The same as matrices side by side; what the rule sent, its wrong elements marked ``!``."""
        names = f"Σ {self.names}" if self.summed else self.names
        parts: list = [f"{self.target} = {names} ="]
        for k, operand in enumerate(self.operands):
            if k:
                parts.append("·")
            parts.append(layout(operand.value, digits))
        parts += ["=", layout(self.textbook, digits)]
        if not self.agrees:
            parts += ["  the backward rule sends", layout(self.sent, digits, self.wrong)]
        return beside(parts)


def matrix_rule(trace: Trace, name: str, position: int) -> MatrixRule | None:
    """The matrix rule for input ``position`` of op node ``name``, when its op states one as a
    product (``Derivative.sent``) and the product can be evaluated on these arrays (else None)."""
    node = trace.graph[name]
    if node.op is None or node.op.derivative is None or name not in trace.contributions:
        return None
    template = node.op.derivative.sent_template(position)
    if template is None:
        return None
    operands = []
    for token in template.split(" · "):
        match = _TOKEN.match(token.strip())
        if match is None:
            return None  # not a plain product (softmax's ⊙, a reduction's words)
        upstream, which, transposed = match.groups()
        if which == "out":
            if not upstream:
                return None
            label, value = f"d{name}", trace.grads[name]
        else:
            k = int(which)
            if upstream or k >= len(node.inputs):
                return None
            label, value = node.inputs[k].name, trace.values[node.inputs[k].name]
        value = np.asarray(value, dtype=np.float64)
        if transposed:
            label, value = label + "ᵀ", value.T
        operands.append(Operand(label, value))
    try:
        with np.errstate(all="ignore"):
            product = operands[0].value
            for operand in operands[1:]:
                product = product @ operand.value
    except ValueError:
        return None
    shape = trace.values[node.inputs[position].name].shape
    summed = product.shape != shape
    if summed:
        try:
            product = unbroadcast(product, shape)
        except ValueError:
            return None
    sent = np.asarray(trace.contributions[name][position], dtype=np.float64)
    names = " · ".join(o.label for o in operands)
    return MatrixRule(
        name, node.inputs[position].name, position, names, tuple(operands), product, summed, sent
    )


# ---------------------------------------------------------------- the softmax family's Jacobian
JACOBIAN_MAX = 16
"""Softmaxes over at most this many elements get their Jacobian written out."""


@dataclass(frozen=True)
class JacobianRule:
    """A softmax's local Jacobian with its numbers, and what it sends back: ``Jᵀ · upstream``."""

    node: str
    parent: str
    formula: str
    """``diag(s) - s sᵀ`` (softmax) or ``I - 1 sᵀ`` (log-softmax), in the node's names."""
    s: Array
    """The softmax of the input, as a vector."""
    textbook: Array
    """J[o, k] = ∂out[o]/∂in[k], from the formula."""
    rule: Array | None
    """The Jacobian the backward rule implies (one backward call per output), when small enough."""
    upstream: Array
    sends: Array
    """``Jᵀ · upstream`` with the textbook's J: what the input should receive."""
    sent: Array
    """What the backward rule sent, as a vector."""

    @property
    def agrees(self) -> bool:
        with np.errstate(all="ignore"):
            return bool(np.allclose(self.sent, self.sends, rtol=AGREE_RTOL, atol=1e-12))

    def lines(self, digits: int = DIGITS) -> list[str]:
        """``J = diag(s) - s sᵀ = diag([...]) - [...]·[...] = [...]`` and ``dx = Jᵀ · ds = ... = [...]``."""
        s = inline(self.s, digits)
        column = inline(self.s.reshape(-1, 1), digits)
        if self.formula.startswith("diag"):
            numbers = f"diag({s}) - {column} · {s}"
        else:
            numbers = f"I - {inline(np.ones((self.s.size, 1)), digits)} · {s}"
        out = [f"J = {self.formula} = {numbers} = {inline(self.textbook, digits)}"]
        if self.rule is not None and not np.allclose(self.rule, self.textbook, rtol=AGREE_RTOL, atol=1e-12):
            out.append(f"the backward rule's J = {inline(self.rule, digits)}")
        sends = (
            f"d{self.parent} = Jᵀ · d{self.node} = {inline(self.textbook.T, digits)} · "
            f"{inline(self.upstream.reshape(-1, 1), digits)} = {inline(self.sends, digits)}"
        )
        if not self.agrees:
            sends += f";  the backward rule sends {inline(self.sent, digits)}"
        out.append(sends)
        return out

    def laid_out(self, digits: int = DIGITS) -> Laid:
        """``J = … = ⎡..⎤`` as a matrix, then ``Jᵀ · ds = …`` beside it; what the rule sends instead
        when it does, its wrong elements marked ``!``."""
        sent = []
        if not self.agrees:
            with np.errstate(all="ignore"):
                wrong = ~np.isclose(self.sent, self.sends, rtol=AGREE_RTOL, atol=1e-12)
            sent = [
                "  the backward rule sends",
                layout(self.sent.reshape(-1, 1), digits, wrong.reshape(-1, 1)),
            ]
        return beside(
            [
                f"J = {self.formula} =",
                layout(self.textbook, digits),
                f"   d{self.parent} = Jᵀ · d{self.node} =",
                layout(self.textbook.T, digits),
                "·",
                layout(self.upstream.reshape(-1, 1), digits),
                "=",
                layout(self.sends.reshape(-1, 1), digits),
                *sent,
            ]
        )


def jacobian_rule(trace: Trace, name: str) -> JacobianRule | None:
    """The Jacobian of a softmax or log-softmax node over one small vector (else None)."""
    node = trace.graph[name]
    if node.op is None or node.op.name not in ("softmax", "log_softmax") or name not in trace.contributions:
        return None
    out = np.asarray(trace.values[name], dtype=np.float64)
    x = np.asarray(trace.values[node.inputs[0].name], dtype=np.float64)
    whole = "axis=" not in (node.op.formula or "") or out.size in out.shape
    if out.shape != x.shape or out.size > JACOBIAN_MAX or not whole:
        return None
    z = x.reshape(-1)
    e = np.exp(z - np.max(z))
    s = e / np.sum(e)
    if node.op.name == "softmax":
        formula = f"diag({name}) - {name} {name}ᵀ"
        textbook = np.diag(s) - np.outer(s, s)
    else:
        formula = f"I - 1 softmax({node.inputs[0].name})ᵀ"
        textbook = np.eye(s.size) - np.outer(np.ones(s.size), s)
    u = np.asarray(trace.grads[name], dtype=np.float64).reshape(-1)
    rule = trace.jacobians.get(name, {}).get(0)
    return JacobianRule(
        name,
        node.inputs[0].name,
        formula,
        s,
        textbook,
        None if rule is None else np.asarray(rule, dtype=np.float64),
        u,
        textbook.T @ u,
        np.asarray(trace.contributions[name][0], dtype=np.float64).reshape(-1),
    )
