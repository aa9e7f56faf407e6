"""What a mismatch looks like, in words a student can act on.

When a backward rule is blamed, the elements it gets wrong often follow a pattern the checker can
name (README, "How the check works"): analytic = c · numeric for one constant c (-1: a sign
flipped, and "prediction and target swapped?" only for a node made with ``loss()`` or one whose
backward sends an input what the numbers say another input's gradient is; 2 or 1/2: a factor 2;
N or 1/N for a batch or axis size N: a sum where a mean belongs or the reverse), analytic =
numeric transposed, analytic exactly zero where numeric is not (a path not propagated), analytic
nonzero where numeric is 0 (gradient sent where nothing depends: an average for a max), or, for a
small op, a Jacobian of which only the diagonal is right (an elementwise derivative used for a
coupled op such as softmax). Every word comes from the numbers, none from a shape.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from tui_backprop.check.verdict import MISMATCH, Comparison
from tui_backprop.core.graph import Node
from tui_backprop.core.trace import Trace

Array = np.ndarray


def sizes_involved(trace: Trace, node: Node) -> set[int]:
    """Every axis length and element count of the node and its inputs: the N of a 1/N."""
    sizes: set[int] = set()
    for name in [node.name, *(p.name for p in node.inputs)]:
        value = trace.values[name]
        sizes.update(int(n) for n in value.shape)
        sizes.add(int(value.size))
    return {n for n in sizes if n > 2}


def _constant(ratios: Array, spread: float) -> float | None:
    if ratios.size == 0:
        return None
    c = float(np.median(ratios))
    if c == 0 or not np.all(np.abs(ratios - c) <= spread * abs(c)):
        return None
    return c


def describe_constant(c: float, sizes: set[int], loss: bool, spread: float) -> str:
    """``analytic = c · numeric`` in words."""

    def near(x: float) -> bool:
        return abs(c - x) <= spread * abs(x)

    if near(-1.0):
        hint = " (for a loss: are prediction and target swapped?)" if loss else ""
        return f"sign flipped: analytic is -1 × numeric{hint}"
    if near(2.0):
        return "a factor 2 extra: analytic is 2 × numeric"
    if near(0.5):
        return "a factor 2 missing: analytic is 1/2 × numeric"
    for n in sorted(sizes):
        size = f"({n}: a size of the tensors here)"
        if near(1.0 / n):
            return f"analytic is 1/{n} × numeric {size}: averaged where it should sum?"
        if near(float(n)):
            return f"analytic is {n} × numeric {size}: summed where it should average?"
    fraction = Fraction(c).limit_denominator(12)
    if fraction.denominator > 1 and abs(fraction.numerator) <= 12 and near(float(fraction)):
        return f"analytic is {fraction} × numeric"
    return f"analytic is {c:.4g} × numeric"


NAMED = (-1.0, 2.0, 0.5)


def diagnose(
    c: Comparison,
    sizes: set[int],
    loss: bool = False,
    spread: float = 1e-4,
    jacobian: tuple[Array, Array] | None = None,
) -> str | None:
    """One sentence for the pattern of a comparison's mismatching elements, or None."""
    bad = (c.codes == MISMATCH) & np.isfinite(c.numeric)
    if not np.any(bad):
        return None
    a, n = c.analytic, c.numeric
    scale = float(np.max(np.abs(n[bad]), initial=0.0))
    if jacobian is not None:
        analytic_jac, numeric_jac = jacobian
        if analytic_jac.shape[0] == analytic_jac.shape[1] and analytic_jac.shape[0] > 1:
            diagonal = np.diag(np.diag(numeric_jac))
            tol = spread * float(np.max(np.abs(numeric_jac), initial=0.0)) + 1e-12
            coupled = np.max(np.abs(numeric_jac - diagonal), initial=0.0) > 10 * tol
            if coupled and np.allclose(analytic_jac, diagonal, rtol=spread, atol=tol):
                return (
                    "only the diagonal of the Jacobian is right: an elementwise derivative used for "
                    "an op whose outputs each depend on every input"
                )
    if np.all(a[bad] == 0):
        return "analytic is 0 where numeric is not: a path not propagated"
    tiny = np.finfo(np.float64).eps * max(scale, float(np.max(np.abs(a[bad]), initial=0.0)))
    stray = bad & (np.abs(n) <= tiny) & (np.abs(a) > tiny)
    if np.any(stray) and np.count_nonzero(bad & ~stray) < np.count_nonzero(stray):
        return (
            "analytic is nonzero where numeric is 0: gradient sent to elements that do not affect "
            "the output (an average where a max or a pick belongs?)"
        )
    if a.ndim == 2 and a.shape[0] == a.shape[1] and a.shape[0] > 1:
        full = np.isfinite(n).all() and np.allclose(a, n.T, rtol=spread, atol=spread * scale)
        if full and not np.allclose(a, n, rtol=spread, atol=spread * scale):
            return "analytic is numeric transposed"
    usable = bad & (np.abs(n) > spread * scale)
    with np.errstate(all="ignore"):
        constant = _constant(a[usable] / n[usable], spread)
    if constant is None:
        return None
    named = [*NAMED, *sizes, *(1.0 / n for n in sizes)]
    if np.count_nonzero(usable) < 2 and not any(abs(constant - x) <= spread * abs(x) for x in named):
        return None  # one element is always "some constant" times another: that says nothing
    return describe_constant(constant, sizes, loss, spread)


def diagnose_node(
    trace: Trace, node: Node, local: dict[int, Comparison], jacobians: dict[int, Comparison], rtol: float
) -> dict[int, str]:
    """Per input position of a blamed node: the words for what it sends wrong."""
    sizes = sizes_involved(trace, node)
    made_by_loss = len(node.inputs) == 1 and "target" in (node.op.formula if node.op else "")
    spread = max(5 * rtol, 1e-6)
    words: dict[int, str] = {}
    for position, c in local.items():
        jac = None
        if position in jacobians and node.name in trace.jacobians:
            jac = (trace.jacobians[node.name][position], jacobians[position].numeric)
        loss = made_by_loss or _takes_the_others_gradient(c, position, local, spread)
        text = diagnose(c, sizes, loss, spread, jac)
        if text:
            words[position] = text
    return words


def _takes_the_others_gradient(
    c: Comparison, position: int, local: dict[int, Comparison], spread: float
) -> bool:
    """What the node sends this input is the numeric gradient of another input of the same shape:
    the roles of the two (prediction and target) swapped in the backward. Data, not a shape."""
    a = c.analytic
    for other, d in local.items():
        if other == position or d.numeric.shape != a.shape or not np.all(np.isfinite(d.numeric)):
            continue
        scale = float(np.max(np.abs(d.numeric), initial=0.0))
        if scale > 0 and np.allclose(a, d.numeric, rtol=spread, atol=spread * scale):
            return True
    return False
