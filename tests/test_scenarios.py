"""Each built-in scenario's values and gradients against numbers derived by hand or by plain numpy.

The references here are written out independently of the engine: closed forms for the small
scenarios and a hand-written numpy backward pass for the networks.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from check_support import assert_every_element_compared

from tui_backprop.check.gradcheck import CheckSettings, check
from tui_backprop.core import scenarios


def traced(slug: str, bug: str | None = None, dtype: str = "float64"):
    return scenarios.trace_scenario(scenarios.load(slug), bug, dtype)


def test_builtins_are_listed_in_order_with_bugs():
    found = scenarios.available()
    assert [s.slug for s in found][:6] == [
        "sigmoid-chain",
        "l1-mse",
        "two-layer-net",
        "softmax",
        "deep-mlp",
        "digits",
    ]
    assert all(s.bugs and s.title and s.description for s in found[:6])


def test_sigmoid_chain_matches_the_textbook_numbers():
    t = traced("sigmoid-chain")
    v = {k: float(x) for k, x in t.values.items()}
    g = {k: float(x) for k, x in t.grads.items()}
    assert (v["a"], v["b"], v["c"]) == (6.0, 2.0, -2.0)
    assert v["d"] == pytest.approx(math.exp(-2))
    assert v["f"] == pytest.approx(1 / (1 + math.exp(-2)))
    s = 1 / (1 + math.exp(-2))
    local = s * (1 - s)  # dσ/dz at z = w0·x + w1 = 2
    assert g["x"] == pytest.approx(3 * local) == pytest.approx(0.3149807562105195)
    assert g["w0"] == pytest.approx(2 * local)
    assert g["w1"] == pytest.approx(local)
    assert g["e"] == pytest.approx(-1 / (1 + math.exp(-2)) ** 2)
    assert [(s.phase, s.node) for s in t.steps] == [("forward", n) for n in "abcdef"] + [
        ("backward", n) for n in "fedcba"
    ]


def test_l1_mse_gradient_sums_both_paths_of_w():
    t = traced("l1-mse")
    assert float(t.values["pred_loss"]) == 21.0
    assert float(t.values["reg_loss"]) == 2.0
    assert t.loss == 23.0
    # dL/dW = 2·Xᵀ(XW - Y) + λ·sign(W) = 2·(7, 5) + (1, 1), worked by hand
    np.testing.assert_allclose(t.grads["W"], [[15.0, 11.0]])
    from_data = t.contributions["pred"][1]
    from_penalty = t.contributions["abs_W"][0]
    np.testing.assert_allclose(from_data, [[14.0, 10.0]])
    np.testing.assert_allclose(from_penalty, [[1.0, 1.0]])
    assert float(t.grads["lam"]) == 2.0


def two_layer_reference():
    np.random.seed(42)
    W1, b1 = np.random.rand(2, 2), np.random.rand(2, 1)
    W2, b2 = np.random.rand(1, 2), np.random.rand(1, 1)
    x, y = np.random.rand(2, 1), np.random.randint(0, 2)
    z1 = W1 @ x + b1
    a1 = np.maximum(z1, 0)
    z2 = W2 @ a1 + b2
    a2 = 1 / (1 + np.exp(-z2))
    loss = float(-(y * np.log(a2) + (1 - y) * np.log(1 - a2)).sum())
    dz2 = a2 - y  # the textbook simplification of BCE∘sigmoid
    dW2, db2 = dz2 @ a1.T, dz2
    dz1 = (W2.T @ dz2) * (z1 > 0)
    dW1, db1, dx = dz1 @ x.T, dz1, W1.T @ dz1
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "x": dx, "z2": dz2, "z1": dz1}


def test_two_layer_net_matches_a_hand_written_backward_pass():
    t = traced("two-layer-net")
    loss, grads = two_layer_reference()
    assert t.loss == pytest.approx(loss)
    for name, want in grads.items():
        np.testing.assert_allclose(t.grads[name], want, rtol=1e-10, err_msg=name)
    assert {"W1", "b1", "W2", "b2", "x", "y", "z1", "a1", "z2", "a2", "loss"} <= {n.name for n in t.graph}


def test_softmax_gradient_is_s_minus_onehot_and_jacobian_is_diag_minus_outer():
    t = traced("softmax")
    e = np.exp([1.0, 2.0])
    s = e / e.sum()
    assert t.loss == pytest.approx(-math.log(s[1]))
    np.testing.assert_allclose(t.grads["x"], s - np.array([0.0, 1.0]))
    np.testing.assert_allclose(t.jacobians["s"][0], np.diag(s) - np.outer(s, s))
    result = check(t, CheckSettings.for_dtype("float64"))
    np.testing.assert_allclose(result.nodes["s"].numeric_jacobians[0], np.diag(s) - np.outer(s, s), atol=1e-8)
    assert result.nodes["s"].jacobian_checks[0].status == "ok"


def test_a_wrong_softmax_jacobian_is_marked_entry_by_entry():
    # Guarding the denominator breaks only the column of the max logit (x[1]): d(max)/dx[1] = 1.
    guarded = check(traced("softmax", "eps-denominator"), CheckSettings.for_dtype("float64"))
    assert guarded.nodes["s"].jacobian_checks[0].differing() == [(0, 1), (1, 1)]
    # Treating softmax as elementwise keeps the diagonal and loses the -s_i·s_j off it.
    diagonal = check(traced("softmax", "elementwise-derivative"), CheckSettings.for_dtype("float64"))
    assert diagonal.nodes["s"].jacobian_checks[0].differing() == [(0, 1), (1, 0)]


def mlp_reference():
    """The deep MLP by hand, drawing its data the way the scenario documents it."""
    sizes = [256, 128, 64, 32, 16, 8, 4]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 1))
    label = int(rng.integers(4))
    Ws = []
    for fan_in, fan_out in pairwise(sizes):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        Ws.append(rng.uniform(-limit, limit, (fan_out, fan_in)))
    hs, zs = [x], []
    for k, W in enumerate(Ws):
        z = W @ hs[-1]
        zs.append(z)
        hs.append(np.maximum(z, 0) if k < len(Ws) - 1 else z)
    logits = hs[-1]
    p = np.exp(logits - logits.max())
    p /= p.sum()
    loss = -float(np.log(p[label, 0]))
    dz = p.copy()
    dz[label] -= 1
    grads = {}
    for k in reversed(range(len(Ws))):
        grads[f"W{k + 1}"] = dz @ hs[k].T
        grads[f"b{k + 1}"] = dz
        dh = Ws[k].T @ dz
        dz = dh * (zs[k - 1] > 0) if k else dh
    grads["x"] = dz
    return loss, grads


def test_deep_mlp_matches_a_hand_written_backward_pass():
    t = traced("deep-mlp")
    loss, grads = mlp_reference()
    assert t.loss == pytest.approx(loss)
    for name, want in grads.items():
        np.testing.assert_allclose(t.grads[name], want, rtol=1e-9, atol=1e-12, err_msg=name)
    params = sum(t.values[n.name].size for n in t.graph if n.kind == "param")
    assert 43_000 < params < 45_000


@pytest.mark.parametrize("slug", ["sigmoid-chain", "l1-mse", "two-layer-net", "softmax", "deep-mlp"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_correct_builtins_pass_with_the_dtype_defaults(slug, dtype):
    trace = traced(slug, dtype=dtype)
    result = check(trace, CheckSettings.for_dtype(dtype))
    assert not result.failed, {n: c.status for n, c in result.nodes.items() if c.status != "ok"}
    assert result.blame == []
    assert_every_element_compared(trace, result)


BLAMED = {
    ("sigmoid-chain", "reciprocal-sign"): "f",
    ("sigmoid-chain", "exp-uses-input"): "d",
    ("l1-mse", "mse-missing-2"): "sq",
    ("l1-mse", "matmul-forgets-input"): "pred",
    ("two-layer-net", "sigmoid-missing-factor"): "a2",
    ("two-layer-net", "matmul-grad-transposed"): "z1",
    ("softmax", "eps-denominator"): "s",
    ("softmax", "elementwise-derivative"): "s",
    ("deep-mlp", "logsoftmax-forgets-softmax"): "logp",
    ("deep-mlp", "relu-passes-negatives"): "a3",
    ("digits", "logsoftmax-sign"): "logp",
    ("digits", "bias-grad-averaged"): "z1",
}


def test_every_named_bug_has_an_expected_culprit():
    declared = {(s.slug, bug) for s in scenarios.builtins() for bug in s.bugs}
    assert declared == set(BLAMED)


@pytest.mark.parametrize(("slug", "bug"), sorted(BLAMED))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_each_named_bug_is_blamed_on_its_node_and_only_it(slug, bug, dtype):
    result = check(traced(slug, bug, dtype), CheckSettings.for_dtype(dtype))
    assert result.failed
    assert result.blame == [BLAMED[slug, bug]]
