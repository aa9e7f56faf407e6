"""One chooser per check (check/choose.py): its choice is the estimator that ran and the ``method``
every output reports, for every tensor (README, "How the check works")."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tui_backprop.check import choose

SCENARIO = '''
"""Three author's ops: small, sparse, dense"""
import numpy as np
from tui_backprop import custom_op, ops


def rownorm(x):
    return x / np.sqrt(1 + np.sum(x * x, axis=-1, keepdims=True))


def rownorm_backward(u, out, x):
    s = np.sqrt(1 + np.sum(x * x, axis=-1, keepdims=True))
    return u / s - x * np.sum(u * x, axis=-1, keepdims=True) / s**3


def build(g, bug=None):
    rng = np.random.default_rng(0)
    small = custom_op("cube", lambda x: x**3, lambda u, out, x: 3 * u * x**2)
    sparse = custom_op("rownorm", rownorm, rownorm_backward)
    dense = custom_op("dense", lambda w, h: w @ h, lambda u, out, w, h: (u @ h.T, w.T @ u))
    a = small(g.param("a", rng.standard_normal(3)), name="c")
    w = g.param("W", rng.standard_normal((200, 400)) / 20)
    h = g.input("h", rng.standard_normal((400, 16)))
    z = sparse(dense(w, h, name="z"), name="n")
    return ops.add(ops.sum(ops.square(z, name="q"), name="s"), ops.sum(a, name="t"), name="L")
'''


@pytest.fixture
def ran(monkeypatch):
    """Which estimator ran for each tensor, in the order the check asked: (kind, node, method)."""
    log: list[tuple[str, str, str]] = []
    for kind, table in (("global", choose.GLOBAL), ("local", choose.LOCAL)):
        for method, estimator in list(table.items()):

            def recorded(job, estimator=estimator, method=method, kind=kind):
                log.append((kind, job.node.name, method))
                return estimator(job)

            monkeypatch.setitem(table, method, recorded)  # type: ignore[index]
    return log


def test_each_tensor_reports_the_estimator_that_ran(tmp_path, capsys, ran):
    from tui_backprop.cli.main import main

    path = tmp_path / "three.py"
    path.write_text(SCENARIO)
    assert main(["check", str(path), "--json"]) == 0
    nodes = {n["name"]: n for n in json.loads(capsys.readouterr().out)[0]["nodes"]}
    reported = {("global", name, n["check"]["method"]) for name, n in nodes.items()}
    for name, n in nodes.items():
        for entry in n.get("local_check", {}).get("inputs", {}).values():
            reported.add(("local", name, entry["method"]))
    assert reported == set(ran)
    local = {name: n["local_check"] for name, n in nodes.items() if "local_check" in n}
    assert local["c"]["method"] == "direct"  # three elements: probed one by one
    assert local["n"]["method"] == "coloured"  # row-wise: 16 colours, every element compared
    assert local["n"]["inputs"]["z"]["compared"] == 200 * 16
    assert local["z"]["inputs"]["W"]["method"] == "projection"  # dense and large
    assert local["z"]["inputs"]["h"]["method"] == "projection"
    assert local["z"]["method"] == "projection" and local["z"]["directions"] > 0
    assert nodes["z"]["check"]["method"] == "pull-back"  # through the coloured rownorm
    # nothing pulls back through dense exactly: through its rule, verified by projection above
    w = nodes["W"]["check"]
    assert w["method"] == "pull-back" and w["compared"] == 0 and w["covered"] == 200 * 400
    assert w["bound"] >= local["z"]["inputs"]["W"]["bound"] > 0


def test_every_comparison_of_every_built_in_says_its_method():
    from tui_backprop.check.gradcheck import CheckSettings, check
    from tui_backprop.core.scenarios import builtins, trace_scenario

    for scenario in builtins():
        trace = trace_scenario(scenario)
        result = check(trace, CheckSettings.for_dtype(trace.graph.dtype_name))
        methods = {c.method for nc in result.nodes.values() for _, c in nc.comparisons()}
        assert methods and methods <= {"direct", "pull-back", "coloured"}, scenario.slug


def test_a_declined_estimator_is_not_reported(monkeypatch):
    """A coloured op whose runs move an output its colouring says nothing reaches declines: the
    chooser is asked again, and the comparison says what ran instead."""
    from tui_backprop import Graph, custom_op, ops
    from tui_backprop.check import colouring
    from tui_backprop.check.gradcheck import CheckSettings, check
    from tui_backprop.core.trace import run

    monkeypatch.setattr(colouring, "local_estimate", lambda *a, **k: None)
    rownorm = custom_op(
        "rownorm",
        lambda x: x / np.sqrt(1 + np.sum(x * x, axis=-1, keepdims=True)),
        lambda u, out, x: (
            u / np.sqrt(1 + np.sum(x * x, axis=-1, keepdims=True))
            - x
            * np.sum(u * x, axis=-1, keepdims=True)
            / np.sqrt(1 + np.sum(x * x, axis=-1, keepdims=True)) ** 3
        ),
    )
    g = Graph()
    x = g.param("x", np.random.default_rng(1).standard_normal((2000, 8)))
    result = check(
        run(g, ops.sum(ops.square(rownorm(x, name="n"), name="q"), name="L")),
        CheckSettings.for_dtype("float64"),
    )
    assert result.nodes["n"].local[0].method == "projection"  # too large to probe one by one
    assert result.verdict == "pass"


def _counted_check(forward, backward, n: int = 128):
    """An author's op of ``n`` inputs and 3n outputs (128: probing it costs exactly
    budget.FAST_WORK), checked; (result, how many times the op's forward ran)."""
    from tui_backprop import Graph, custom_op, ops
    from tui_backprop.check import budget
    from tui_backprop.check.gradcheck import CheckSettings, check
    from tui_backprop.core.trace import run

    calls = [0]

    def counted(x):
        calls[0] += 1
        return forward(x)

    op = custom_op("three", counted, backward)
    g = Graph()
    x = g.param("x", np.random.default_rng(1).uniform(-1, 1, n))
    trace = run(g, ops.sum(ops.square(op(x, name="t"), name="q"), name="L"))
    assert n * (3 * n + n) <= budget.FAST_WORK
    calls[0] = 0
    result = check(trace, CheckSettings.for_dtype("float64"))
    return result, calls[0]


def test_a_sparse_authors_op_that_probing_would_run_hundreds_of_times_is_coloured():
    """128 inputs, each read by 3 of 384 outputs: probing every input is 256 runs of the author's
    forward, one colour 2 runs after 18 NaN runs that find it (25 runs of the op in all for the
    whole check when written; 277 when the chooser probed it because its work was FAST_WORK)."""
    result, runs = _counted_check(
        lambda x: np.concatenate([np.sin(x), x * x, np.tanh(x)], axis=-1),
        lambda u, out, x: (
            u[..., :128] * np.cos(x) + u[..., 128:256] * 2 * x + u[..., 256:] * (1 - np.tanh(x) ** 2)
        ),
    )
    assert result.verdict == "pass" and result.nodes["t"].local[0].method == "coloured"
    assert result.nodes["t"].local[0].n_probed == 128 and runs <= 40


def test_a_dense_authors_op_of_the_same_size_is_still_probed_one_by_one():
    """The same shape with every output reading every input: no colouring beats 256 runs; the
    search for one gives up after its few NaN runs, and every element is probed, for the local
    check and for x's global one (521 runs in all when written; 645 when x was pulled back through
    a colouring of 128 colours, 388 runs of the op where probing x costs 256)."""
    m = np.random.default_rng(2).standard_normal((384, 128)) / 10
    result, runs = _counted_check(lambda x: np.tanh(x @ m.T), lambda u, out, x: (u * (1 - out**2)) @ m)
    assert result.verdict == "pass" and result.nodes["t"].local[0].method == "direct"
    assert result.nodes["t"].local[0].n_probed == 128
    assert result.nodes["x"].grad.method == "direct" and runs <= 2 * 256 + 12
