"""Blame, as a property: on random chains of smooth ops, a correct graph passes, and scaling one
op's backward by a wrong factor blames exactly that op, in float64 and in float32."""

from __future__ import annotations

import numpy as np
from check_support import assert_every_element_compared
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tui_backprop import Graph, ops
from tui_backprop.check.gradcheck import CheckSettings, check
from tui_backprop.core.trace import run

SMOOTH = {
    "tanh": ops.tanh,
    "sigmoid": ops.sigmoid,
    "square": ops.square,
    "neg": ops.neg,
    "exp": ops.exp,
    "softmax": ops.softmax_op(),
}


def scaled_backward(op, factor: float):
    """The op with its backward rule off by a constant factor: the simplest wrong rule."""
    return op.with_backward(lambda u, out, *xs: factor * np.asarray(op.backward(u, out, *xs)))


def build_chain(g: Graph, kinds: list[str], x0: np.ndarray, w0: np.ndarray, wrong: int | None, factor: float):
    h = ops.mul(g.input("x", x0), g.param("w", w0), name="h0")
    for i, kind in enumerate(kinds):
        op = SMOOTH[kind] if i != wrong else scaled_backward(SMOOTH[kind], factor)
        h = op(h, name=f"h{i + 1}")
    return ops.sum(h, name="L")


chains = st.lists(st.sampled_from(sorted(SMOOTH)), min_size=1, max_size=5)
vectors = st.lists(st.floats(-1.2, 1.2), min_size=3, max_size=3).map(np.array)


@settings(max_examples=40, deadline=None)
@given(
    kinds=chains,
    x0=vectors,
    w0=vectors,
    data=st.data(),
    dtype=st.sampled_from(["float64", "float32"]),
)
def test_a_wrong_backward_is_blamed_alone_and_a_right_one_never(kinds, x0, w0, data, dtype):
    assume(kinds.count("exp") <= 2)  # exp(exp(exp(exp(x)))) overflows: that is a NaN test, not this one
    g = Graph(dtype)
    correct_trace = run(g, build_chain(g, kinds, x0, w0, None, 1.0))
    correct = check(correct_trace, CheckSettings.for_dtype(dtype))
    assert not correct.failed, {n: c.status for n, c in correct.nodes.items()}
    # A gradient that is 0 by symmetry (sum(softmax(...)) is the constant 1) is below the probe's
    # round-off: unchecked with that reason (tests/test_global_limit.py), everything else compared.
    assert_every_element_compared(correct_trace, correct, below_noise=True)

    wrong = data.draw(st.integers(0, len(kinds) - 1))
    factor = data.draw(st.sampled_from([0.5, 1.5, -1.0, 2.0]))
    g = Graph(dtype)
    trace = run(g, build_chain(g, kinds, x0, w0, wrong, factor))
    upstream = trace.grads[f"h{wrong + 1}"]
    sent = trace.contributions[f"h{wrong + 1}"][0]
    # Where the op's own gradient is ~0 (softmax of a sum) no factor can show: not this claim's case.
    assume(np.max(np.abs(sent)) >= 1e-3 * max(1.0, float(np.max(np.abs(upstream)))))
    result = check(trace, CheckSettings.for_dtype(dtype))
    # The claim is about errors the probe can resolve: an error smaller than the round-off the
    # check allows for (float32 at eps 1e-3 cannot tell 0.001 from 0.002) is not this claim's case.
    name = f"h{wrong + 1}"
    error = np.abs(sent - correct_trace.contributions[name][0])
    assume(np.any(error > 2 * (result.nodes[name].local[0].noise + CheckSettings.for_dtype(dtype).atol)))
    assert result.blame == [name]
