"""Debugging your own gradient: scenario files, custom ops, layer objects, plugins."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tui_backprop import Graph
from tui_backprop.check.gradcheck import MISMATCH, CheckSettings, check
from tui_backprop.cli.main import main
from tui_backprop.core import ops, scenarios
from tui_backprop.core.layers import detect_params, layer
from tui_backprop.core.trace import run

FILES = Path(__file__).parent / "scenario_files"
F64 = CheckSettings.for_dtype("float64")


def checked_file(name: str, bug: str | None = None):
    scenario = scenarios.load(str(FILES / name))
    return check(scenarios.trace_scenario(scenario, bug), F64)


@pytest.mark.parametrize(
    ("name", "bug", "blamed"),
    [
        ("softplus_ok.py", None, []),
        ("softplus_wrong.py", None, ["s"]),
        ("backward_raises.py", None, ["c"]),
        ("layer_net.py", None, []),
        ("layer_net.py", "dense-db-not-summed", ["dense1"]),
        ("layer_net.py", "relu-wrong-mask", ["relu"]),
        ("cs231n_style.py", None, []),
        ("cs231n_style.py", "dx-not-transposed", ["h"]),
    ],
)
def test_user_files_are_blamed_on_the_right_node(name, bug, blamed):
    result = checked_file(name, bug)
    assert result.blame == blamed
    assert result.failed == bool(blamed)


def test_wrong_layer_shows_which_parameter_gradient_is_off():
    result = checked_file("layer_net.py", "dense-db-not-summed")
    dense1 = result.nodes["dense1"]
    node = result.trace.graph["dense1"]
    by_input = {node.inputs[i].name: c.status for i, c in dense1.local.items()}
    assert by_input == {"X": "ok", "dense1.W": "ok", "dense1.b": "mismatch"}
    assert result.nodes["dense1.b"].grad.status == "mismatch"
    assert result.nodes["dense1.W"].grad.status == "ok"


def test_a_raising_backward_is_reported_with_its_file_and_line(capsys):
    path = FILES / "backward_raises.py"
    assert main(["check", str(path), "--json"]) == 1
    (doc,) = json.loads(capsys.readouterr().out)
    local = next(n for n in doc["nodes"] if n["name"] == "c")["local_check"]
    assert local["status"] == "mismatch"
    assert local["error"].startswith("NameError: name 'undefined_name' is not defined")
    assert local["origin"] == f"{path}:7"
    assert doc["blame"] == ["c"]


def test_the_elements_that_differ_are_listed():
    result = checked_file("softplus_wrong.py")
    s = result.nodes["s"].local[0]
    assert s.codes.tolist() == [[MISMATCH, MISMATCH, MISMATCH]]
    assert s.differing() == [(0, 0), (0, 1), (0, 2)]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("syntax_error.py", "syntax_error.py:1: syntax error"),
        ("raises_on_import.py", "raises_on_import.py:3: importing the scenario failed: RuntimeError"),
    ],
)
def test_files_that_do_not_run_exit_2_with_one_line(capsys, name, message):
    assert main(["check", str(FILES / name), "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_scenario_file_may_import_a_module_beside_it(tmp_path):
    (tmp_path / "helpers.py").write_text("SCALE = 3.0\n")
    (tmp_path / "main_scenario.py").write_text(
        textwrap.dedent(
            """
            from helpers import SCALE
            from tui_backprop import ops

            def build(g):
                return ops.scale(g.param("w", 2.0), SCALE, name="L")
            """
        )
    )
    first = scenarios.trace_scenario(scenarios.load(str(tmp_path / "main_scenario.py")))
    assert first.loss == 6.0
    (tmp_path / "helpers.py").write_text("SCALE = 5.0\n")
    again = scenarios.trace_scenario(scenarios.load(str(tmp_path / "main_scenario.py")))
    assert again.loss == 10.0  # the sibling module is re-imported, so its edit is seen


class Affine:
    def __init__(self):
        self.weights = np.array([[1.0, -2.0], [0.5, 3.0]])
        self.biases = np.array([0.1, -0.2])
        self.cache = None

    def forward(self, x):
        self.cache = x
        return x @ self.weights + self.biases

    def backward(self, dy):
        self.grad_weights = self.cache.T @ dy
        self.grad_biases = dy.sum(axis=0)
        return dy @ self.weights.T


def test_parameters_and_their_gradients_are_found_by_common_names():
    assert detect_params(Affine()) == ["weights", "biases"]
    g = Graph()
    out = layer(Affine(), g.input("x", [[1.0, 2.0]]), "fc")
    loss = ops.sum(ops.square(out), name="L")
    result = check(run(g, loss), F64)
    assert not result.failed
    assert {"fc.weights", "fc.biases"} <= set(result.nodes)


def test_a_layer_holds_no_probe_between_calls():
    """The check's probes hand a layer views of a batch of moved copies: after each forward the
    object holds its own arrays again, so no batch stays alive (memory: a 1M-parameter layer's
    batch is tens of MB) and no moved value stays in the user's object."""
    obj = Affine()
    weights, biases = obj.weights, obj.biases
    g = Graph()
    node = layer(obj, g.input("x", [[1.0, 2.0]]), "fc")
    moved = np.stack([weights + 1e-6, weights - 1e-6])
    assert node.op is not None
    node.op.run_batched([np.array([[1.0, 2.0]]), moved, biases], [False, True, False])
    assert obj.weights is weights and obj.biases is biases


def test_accumulating_gradients_with_plus_equals_is_read_correctly():
    class Accumulating(Affine):
        def backward(self, dy):
            if not hasattr(self, "dW"):
                self.dW = np.zeros_like(self.W)
            self.dW += self.cache.T @ dy
            return dy @ self.W.T

        def forward(self, x):
            self.cache = x
            return x @ self.W

    obj = Accumulating()
    obj.W = obj.weights
    del obj.weights, obj.biases
    g = Graph()
    out = layer(obj, g.input("x", [[1.0, 2.0]]), "fc", params=["W"])
    result = check(run(g, ops.sum(ops.square(out), name="L")), F64)
    assert not result.failed


def test_gradient_attribute_can_be_named_explicitly_and_a_missing_one_is_explained():
    class Odd(Affine):
        def backward(self, dy):
            self.weights_gradient = self.cache.T @ dy
            return dy @ self.weights.T

        def forward(self, x):
            self.cache = x
            return x @ self.weights

    g = Graph()
    ok = layer(Odd(), g.input("x", [[1.0, 2.0]]), "fc", params={"weights": "weights_gradient"})
    assert not check(run(g, ops.sum(ok, name="L")), F64).failed

    g = Graph()
    bad = layer(Odd(), g.input("x", [[1.0, 2.0]]), "fc", params=["weights"])
    trace = run(g, ops.sum(bad, name="L"))
    message = trace.failures["fc"].message
    assert "no gradient for parameter 'weights'" in message
    assert "params={'weights': 'attribute'}" in message


def test_plugin_scenarios_register_through_entry_points(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_plugin_scenario.py").write_text(
        textwrap.dedent(
            '''
            """Plugin chain

            A scenario that an installed package registers.
            """
            from tui_backprop import ops

            BUGS = {"neg-wrong": "the negation forgets its sign"}

            def build(g, bug=None):
                neg = ops.neg
                if bug == "neg-wrong":
                    neg = ops.neg.with_backward(lambda u, out, x: u)
                return neg(g.param("w", 2.0), name="L")
            '''
        )
    )
    dist = tmp_path / "my_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[tui_backprop.scenarios]\nplugin-chain = my_plugin_scenario\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    assert "plugin-chain" in [s.slug for s in scenarios.available()]
    assert main(["list", "--json"]) == 0
    listed = {e["slug"]: e for e in json.loads(capsys.readouterr().out)}
    assert listed["plugin-chain"]["title"] == "Plugin chain"
    assert main(["check", "plugin-chain"]) == 0
    assert main(["check", "plugin-chain", "--bug", "neg-wrong", "--json"]) == 1
    capsys.readouterr()
    assert main(["check"]) == 0  # every scenario, plugins included
    assert "plugin-chain" in capsys.readouterr().out
