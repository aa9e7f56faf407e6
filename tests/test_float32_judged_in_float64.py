"""float32 backward rules are judged in float64 where the code allows it (README, "How the check
works"): float32's round-off can then neither hide a wrong rule nor blame a right one, and what
float32 loses is reported apart."""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from tui_backprop import Graph, custom_op, ops
from tui_backprop.check.gradcheck import MISMATCH, CheckSettings, check
from tui_backprop.cli.main import main
from tui_backprop.core.trace import run

F32 = CheckSettings.for_dtype("float32")


def softsign_graph(size: int, wrong: dict[int, float], forward=None):
    def backward(u, out, x):
        g = u / (1 + np.abs(x)) ** 2
        for k, factor in wrong.items():
            g[k] *= factor
        return g

    g = Graph("float32")
    op = custom_op("softsign", forward or (lambda x: x / (1 + np.abs(x))), backward)
    x = g.param("x", np.random.default_rng(3).standard_normal(size))
    return g, ops.sum(ops.square(op(x, name="s"), name="q"), name="L")


def test_one_element_30_percent_off_in_3000_is_blamed_in_float32():
    g, out = softsign_graph(3000, {17: 1.3})
    result = check(run(g, out), F32)
    s = result.nodes["s"]
    assert result.blame == ["s"] and s.judged_in == "float64"
    assert [int(k) for k in np.flatnonzero(s.local[0].codes == MISMATCH)] == [17]


def test_a_bug_confined_to_the_small_gradients_of_a_tensor_is_blamed_in_float32():
    g, out = softsign_graph(3000, {})
    sent = run(g, out).contributions["s"][0]
    small = np.flatnonzero(np.abs(sent) < 0.01 * np.max(np.abs(sent)))[:3]
    assert small.size == 3
    g, out = softsign_graph(3000, {int(k): 2.0 for k in small})
    result = check(run(g, out), F32)
    assert result.blame == ["s"]
    assert set(np.flatnonzero(result.nodes["s"].local[0].codes == MISMATCH)) == set(small)


def test_a_forward_that_keeps_float32_is_judged_in_float32_and_says_so():
    g, out = softsign_graph(50, {}, forward=lambda x: (x / (1 + np.abs(x))).astype(np.float32))
    s = check(run(g, out), F32).nodes["s"]
    assert s.judged_in == "float32 (its forward does not stay float64)" and s.status == "ok"


def test_a_backward_that_fails_on_float64_inputs_is_judged_in_float32_and_says_so():
    def backward(u, out, x):
        if x.dtype != np.float32:
            raise TypeError("float32 only")
        return u / (1 + np.abs(x)) ** 2

    g = Graph("float32")
    op = custom_op("softsign", lambda x: x / (1 + np.abs(x)), backward)
    x = g.param("x", np.random.default_rng(3).standard_normal(50))
    s = check(run(g, ops.sum(ops.square(op(x, name="s"), name="q"), name="L")), F32).nodes["s"]
    assert s.judged_in == "float32 (its backward fails on float64 inputs)" and s.status == "ok"


SOFTMAX = '''"""float32 softmax near 1000"""
import numpy as np
from tui_backprop import ops


def build(g, bug=None):
    x = g.param("x", np.array([1000.0, 1000.001, 999.999]))
    return ops.sum(ops.square(ops.softmax(ops.scale(x, 3.0, name="s"), name="p"), name="q"), name="L")
'''


def test_what_float32_loses_is_reported_apart_and_is_no_failure(tmp_path, capsys, monkeypatch):
    from tui_backprop.cli import report

    path = tmp_path / "softmax1000.py"
    path.write_text(SOFTMAX)
    assert main(["check", str(path), "--dtype", "float32", "--json"]) == 0
    p = next(n for n in json.loads(capsys.readouterr().out)[0]["nodes"] if n["name"] == "p")
    assert p["local_check"]["judged_in"] == "float64"
    assert 3 < p["local_check"]["float32_digits"] < 6  # softmax's cancellation costs float32 digits
    monkeypatch.setattr(report, "FLOAT32_WORDS", 6.0)
    assert main(["check", str(path), "--dtype", "float32"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "float32 loses 2 of its 7 digits at p (round-off, not a bug" in text


def test_a_built_in_is_judged_in_float64_too():
    g = Graph("float32")
    x = g.input("x", np.array([0.5, -2.0]))
    result = check(run(g, ops.sum(ops.tanh(x, name="t"), name="L")), F32)
    assert result.nodes["t"].judged_in == "float64"
    assert dataclasses.asdict(F32)["eps"] == 1e-3  # the caller's settings are left alone


def mixer_graph(size: int, dtype: str = "float64", wrong: dict[int, float] | None = None):
    """A graph whose author's op computes in float32 (a dense Jacobian: every output reads the
    mean), its backward right but for the elements of ``wrong``, off by their amount."""

    def forward(x):
        x = x.astype(np.float32)
        return (np.tanh(x) * np.float32(np.mean(x)) + x).astype(np.float32)

    def backward(u, out, x):
        t = np.tanh(x)
        g = u * (1 - t * t) * np.mean(x) + u + np.sum(u * t) / size
        for k, amount in (wrong or {}).items():
            g[k] += amount
        return g

    g = Graph(dtype)
    x = g.param("x", np.random.default_rng(0).standard_normal(size))
    y = custom_op("mixer", forward, backward)(x, name="y")
    return g, ops.sum(ops.mul(y, y, name="sq"), name="L")


def test_a_float64_run_whose_op_computes_in_float32_is_judged_as_float32_and_blames_nothing():
    """float32's round-off read through a float64 probe (a step of 1e-6) blamed this right rule with
    made-up numbers, exit 1; judged as the float32 run it is, nothing is blamed and it says why."""
    g, out = mixer_graph(2000)
    result = check(run(g, out), CheckSettings.for_dtype("float64"))
    assert result.blame == [] and result.verdict != "fail"
    assert result.global_judged_in == "float32 (the forward of y returns float32 on float64 inputs)"
    assert result.settings.eps == F32.eps and result.nodes["y"].judged_in.startswith("float32")


def test_a_float64_run_whose_forwards_stay_float64_is_judged_in_float64():
    g, out = softsign_graph(50, {})
    g.dtype, g.dtype_name = np.dtype(np.float64), "float64"
    result = check(run(g, out), CheckSettings.for_dtype("float64"))
    assert result.global_judged_in == "" and result.settings.eps == 1e-6 and result.verdict == "pass"


def test_no_element_is_covered_by_a_projection_that_could_not_see_an_error_of_its_whole_value():
    """float32 round-off through a coupled op makes the projection's bound larger than the gradient
    itself: an element wrong by 30 % passed as "verified by projection". Such elements are
    unchecked, with the bound in the reason."""
    g, out = mixer_graph(20000, "float32")
    result = check(run(g, out), F32)
    projected = [c for node in result.nodes.values() for _, c in node.comparisons()]
    assert any(c.method == "projection" for c in projected)
    for c in projected:
        if c.method == "projection" and c.bound > max(float(np.max(np.abs(c.analytic))), F32.atol):
            (reason,) = [r for r in c.reasons if r.startswith("projection could see only")]
            # every element not compared is unchecked for that reason (none "not sampled")
            assert c.n_covered == 0 and c.reasons[reason] == 20000 - c.n_probed
            assert c.n_unjudged == c.n_unchecked == 20000 - c.n_probed and c.status == "unchecked"
    assert result.verdict == "incomplete"


def test_an_element_wrong_by_more_than_a_useless_bound_is_still_blamed():
    """The rest unchecked by a projection too coarse to verify them, the element it did find wrong
    keeps the node blamed: fail, not incomplete."""
    g, out = mixer_graph(20000, "float32", wrong={4321: 1e3})
    result = check(run(g, out), F32)
    sent = result.nodes["y"].local[0]
    assert sent.method == "projection" and sent.n_covered == 0 and sent.n_unchecked > 0
    assert sent.n_unjudged == sent.n_unchecked == sum(sent.reasons.values())  # each with its reason
    assert 4321 in [int(i) for i in np.flatnonzero(sent.codes == MISMATCH)]
    assert sent.status == "mismatch" and result.blame == ["y"] and result.verdict == "fail"
