"""Softplus with a custom VJP, in JAX

A jax.custom_vjp softplus, log(1 + eˣ), whose backward rule is written by hand.
"""

import jax
import jax.numpy as jnp
import numpy as np

from tui_backprop import Graph, Node, ops
from tui_backprop.interop import jax_op

BUGS = {"sign": "the backward returns -σ(x) · g instead of σ(x) · g"}


def make_softplus(sign: float):
    @jax.custom_vjp
    def softplus(x):
        return jnp.logaddexp(0.0, x)

    def forward(x):
        return softplus(x), x

    def backward(x, g):
        return (sign * jax.nn.sigmoid(x) * g,)

    softplus.defvjp(forward, backward)
    return softplus


softplus = make_softplus(1.0)
softplus_wrong_sign = make_softplus(-1.0)


def build(g: Graph, bug: str | None = None) -> Node:
    rng = np.random.default_rng(2)
    x = g.input("x", rng.standard_normal((3, 4)))
    w = g.param("w", rng.standard_normal((3, 4)))
    f = jax_op(softplus_wrong_sign if bug == "sign" else softplus, name="softplus")
    return ops.sum(f(ops.mul(w, x, name="z"), name="s"), name="L")
