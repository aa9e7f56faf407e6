"""Deep MLP

A 256 → 128 → 64 → 32 → 16 → 8 → 4 network with relu between layers and a log-softmax
cross-entropy on one sample: about 44k parameters, the workload that keeps the check honest about
speed. Xavier-uniform weights, zero biases, seed 0.
"""

from itertools import pairwise

import numpy as np

from tui_backprop import Graph, Node, ops

SIZES = [256, 128, 64, 32, 16, 8, 4]
SEED = 0

BUGS = {
    "logsoftmax-forgets-softmax": (
        "logp = log_softmax(z6): the backward passes the upstream through unchanged"
    ),
    "relu-passes-negatives": "a3 = relu(z3): the backward lets the gradient through where z3 < 0",
}


def build(g: Graph, bug: str | None = None) -> Node:
    rng = np.random.default_rng(SEED)
    h = g.input("x", rng.standard_normal((SIZES[0], 1)))
    label = int(rng.integers(SIZES[-1]))
    layers = len(SIZES) - 1
    for k, (fan_in, fan_out) in enumerate(pairwise(SIZES), start=1):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        W = g.param(f"W{k}", rng.uniform(-limit, limit, (fan_out, fan_in)))
        b = g.param(f"b{k}", np.zeros((fan_out, 1)))
        z = ops.linear(W, h, b, name=f"z{k}")
        if k == layers:
            h = z
            break
        relu = ops.relu
        if bug == "relu-passes-negatives" and k == 3:
            relu = ops.relu.with_backward(lambda upstream, out, z: upstream)
        h = relu(z, name=f"a{k}")
    log_softmax = ops.log_softmax_op()
    if bug == "logsoftmax-forgets-softmax":
        log_softmax = log_softmax.with_backward(lambda upstream, out, z: upstream)
    logp = log_softmax(h, name="logp")
    picked = ops.pick(logp, (label, 0), name="logp_label")
    return ops.neg(picked, name="loss")
