"""Sigmoid chain

f = 1/(1 + exp(-(w0·x + w1))) at x = 2, w0 = 3, w1 = -4, staged one primitive at a time the way
the textbook circuit draws it.
"""

from tui_backprop import Graph, Node, ops

BUGS = {
    "reciprocal-sign": "f = 1/e: the backward drops the minus sign of d(1/e)/de = -1/e²",
    "exp-uses-input": "d = exp(c): the backward multiplies by c instead of by exp(c)",
}


def build(g: Graph, bug: str | None = None) -> Node:
    x = g.input("x", 2.0)
    w0 = g.param("w0", 3.0)
    w1 = g.param("w1", -4.0)
    a = ops.mul(x, w0, name="a")
    b = ops.add(a, w1, name="b")
    c = ops.scale(b, -1.0, name="c")
    exp = ops.exp
    if bug == "exp-uses-input":
        exp = ops.exp.with_backward(lambda upstream, out, c: upstream * c)
    d = exp(c, name="d")
    e = ops.add_const(d, 1.0, name="e")
    reciprocal = ops.reciprocal
    if bug == "reciprocal-sign":
        reciprocal = ops.reciprocal.with_backward(lambda upstream, out, e: upstream / (e * e))
    return reciprocal(e, name="f")
