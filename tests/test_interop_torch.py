"""PyTorch code under the check: custom autograd Functions as ops, and models traced with torch.fx."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install 'backprop-tui[torch]'")

from check_support import assert_every_element_compared  # noqa: E402

from tui_backprop.check.gradcheck import CheckSettings, check  # noqa: E402
from tui_backprop.core import ops, scenarios  # noqa: E402
from tui_backprop.core.graph import Graph  # noqa: E402
from tui_backprop.core.trace import run  # noqa: E402
from tui_backprop.interop import torch_model, torch_op  # noqa: E402

FILES = Path(__file__).parent / "scenario_files"


def checked_file(name: str, bug: str | None = None, dtype: str = "float64"):
    trace = scenarios.trace_scenario(scenarios.load(str(FILES / name)), bug, dtype)
    return trace, check(trace, CheckSettings.for_dtype(dtype))


def checked(g: Graph, output):
    trace = run(g, output)
    return trace, check(trace, CheckSettings.for_dtype(g.dtype_name))


def numpy_twin(forward, backward, value, name: str):
    """The same rule written with numpy: what the check says of it is what it must say of torch's."""
    g = Graph()
    x = g.input("x", value)
    out = ops.custom_op(name, forward, backward)(x, name="out")
    return checked(g, ops.sum(ops.mul(out, g.input("r", np.ones(np.shape(forward(value))))), name="L"))


# ---------------------------------------------------------------- custom Functions as ops
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["torch_gelu.py", "torch_linear_relu.py"])
def test_a_correct_custom_function_passes_with_every_element_compared(name, dtype):
    trace, result = checked_file(name, dtype=dtype)
    assert not result.failed and result.blame == []
    assert_every_element_compared(trace, result)


@pytest.mark.parametrize(
    ("name", "bug", "blamed", "words"),
    [
        ("torch_gelu.py", "wrong-constant", "gelu", None),
        ("torch_linear_relu.py", "missing-transpose", "h", {"W": "analytic is numeric transposed"}),
    ],
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_wrong_custom_function_is_blamed_alone_on_the_input_it_gets_wrong(name, bug, blamed, words, dtype):
    trace, result = checked_file(name, bug, dtype)
    assert result.blame == [blamed]
    node = trace.graph[blamed]
    wrong = {node.inputs[i].name for i, c in result.nodes[blamed].local.items() if c.status == "mismatch"}
    assert wrong == ({"W"} if words else {"x"})
    if words:
        said = {node.inputs[i].name: w for i, w in result.nodes[blamed].diagnosis.items()}
        assert said == words


def test_the_diagnosis_of_a_torch_function_is_the_diagnosis_of_the_same_numpy_rule():
    _, result = checked_file("torch_model.py")
    assert result.blame == ["feature_mean"]
    _, twin = numpy_twin(
        lambda x: x.mean(axis=1),
        lambda u, out, x: np.repeat(u[:, None], x.shape[1], axis=1),
        np.random.default_rng(0).standard_normal((4, 6)),
        "FeatureMean",
    )
    assert twin.blame == ["out"]
    assert result.nodes["feature_mean"].diagnosis == twin.nodes["out"].diagnosis
    assert "summed where it should average?" in result.nodes["feature_mean"].diagnosis[0]


class ScaleAndTotal(torch.autograd.Function):
    """Two outputs (x · k and Σ x) and a non-tensor argument k; the total's backward forgets nothing,
    the scaled output's backward forgets k."""

    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        return x * k, x.sum()

    @staticmethod
    def backward(ctx, grad_scaled, grad_total):
        return grad_scaled + grad_total * torch.ones_like(grad_scaled), None


def test_each_output_of_a_function_is_its_node_and_constants_are_baked_in():
    g = Graph()
    x = g.input("x", [1.0, -2.0, 3.0])
    scaled, total = torch_op(ScaleAndTotal, outputs=2)(x, 2.5, name="st")
    assert (scaled.name, total.name) == ("st.0", "st.1")
    assert scaled.formula() == "st.0 = ScaleAndTotal(x, 2.5)[0]"
    loss = ops.add(ops.sum(scaled), total, name="L")
    trace, result = checked(g, loss)
    assert trace.loss == pytest.approx(2.5 * 2.0 + 2.0)
    assert result.blame == ["st.0"]  # the total's gradient is right; the scaled one lacks the 2.5
    assert result.nodes["st.0"].diagnosis == {0: "analytic is 2/5 × numeric"}


def test_a_function_declared_with_one_output_that_returns_two_says_how_to_declare_them():
    g = Graph()
    x = g.input("x", [1.0, 2.0])
    with pytest.raises(Exception, match=r"declare them: torch_op\(ScaleAndTotal, outputs=2\)"):
        run(g, ops.sum(torch_op(ScaleAndTotal)(x, 2.0)))


class Unused(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y):
        return x * y

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # forgets y entirely (and x's factor)


def test_a_gradient_the_backward_leaves_out_is_a_path_not_propagated():
    g = Graph()
    x, y = g.input("x", [1.0, 2.0, 3.0]), g.input("y", [2.0, -1.0, 0.5])
    _, result = checked(g, ops.sum(torch_op(Unused)(x, y, name="p")))
    assert result.blame == ["p"]
    assert "not propagated" in result.nodes["p"].diagnosis[1]


class Raises(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        raise ValueError("not written yet")


def test_a_backward_that_raises_is_blamed_with_its_own_file_and_line():
    g = Graph()
    x = g.input("x", [1.0, 2.0])
    trace, result = checked(g, ops.sum(torch_op(Raises)(x, name="r")))
    assert result.blame == ["r"]
    failure = trace.failures["r"]
    assert "ValueError: not written yet" in failure.message
    assert failure.origin.filename == __file__
    assert failure.origin.lineno == Raises.backward.__code__.co_firstlineno + 2


class Relu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x > 0)


def test_a_kink_is_told_from_a_bug_without_a_hint():
    g = Graph()
    x = g.input("x", [0.0, 1.5, -2.0])
    _, result = checked(g, ops.sum(ops.square(ops.add_const(torch_op(Relu)(x, name="relu"), 1.0))))
    assert result.blame == [] and not result.failed
    assert result.nodes["relu"].local[0].n_kink == 1


# ---------------------------------------------------------------- models traced with torch.fx
def test_a_model_is_one_node_per_call_and_only_the_wrong_function_is_blamed():
    trace, result = checked_file("torch_model.py")
    ops_by_node = {n.name: n.op.name for n in trace.graph.nodes if n.op is not None}
    assert ops_by_node == {
        "fc1": "Linear",
        "gelu": "GELU",
        "fc2": "Linear",
        "tanh": "tanh",
        "feature_mean": "FeatureMean",
        "y·r": "mul",
        "L": "sum",
    }
    assert [n.name for n in trace.graph.nodes if n.kind == "param"] == [
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
    ]
    assert result.blame == ["feature_mean"]
    assert trace.graph["feature_mean"].origin.filename == str(FILES / "torch_model.py")


def test_the_traced_model_computes_what_the_model_computes():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    x_value = np.random.default_rng(0).standard_normal((5, 3))
    g = Graph()
    y = torch_model(g, model, g.input("x", x_value))
    trace, result = checked(g, ops.sum(y, name="L"))
    expected = model.double()(torch.from_numpy(x_value)).detach().numpy()
    np.testing.assert_allclose(trace.values[y.name], expected, rtol=1e-12)
    assert not result.failed
    assert_every_element_compared(trace, result)


class Awkward(torch.nn.Module):
    """What models do besides calling layers: tied weights, in-place ops, several outputs of one
    call, sizes read off a tensor, a buffer, batch norm."""

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(4, 4)
        self.back = torch.nn.Linear(4, 4)
        self.back.weight = self.proj.weight  # tied
        self.norm = torch.nn.BatchNorm1d(4)
        self.register_buffer("offset", torch.full((4,), 0.5))

    def forward(self, x):
        h = self.norm(self.proj(x)) + self.offset
        h = h.relu_()
        left, right = torch.split(h, 2, dim=1)
        joined = torch.cat([right, left], dim=1) * x.shape[0]
        return self.back(torch.tanh(joined))


def test_tied_weights_inplace_ops_split_outputs_sizes_and_buffers_are_traced_right():
    torch.manual_seed(1)
    model = Awkward()
    with torch.no_grad():
        model.norm.running_mean.uniform_(-0.2, 0.2)
    x_value = np.random.default_rng(1).standard_normal((3, 4))
    g = Graph()
    y = torch_model(g, model, g.input("x", x_value))
    trace, result = checked(g, ops.sum(ops.square(y), name="L"))
    expected = model.double().eval()(torch.from_numpy(x_value.copy())).detach().numpy()
    np.testing.assert_allclose(trace.values[y.name], expected, rtol=1e-12)
    assert [n.name for n in g.nodes if n.kind == "param"].count("proj.weight") == 1
    assert "back.weight" not in g  # the tied weight is one leaf
    np.testing.assert_array_equal(trace.values["x"], x_value)  # relu_ did not write into a node's value
    assert not result.failed and result.blame == []


def test_a_model_given_the_wrong_number_of_inputs_says_how_many_it_takes():
    g = Graph()
    with pytest.raises(TypeError, match=r"takes 1 input\(s\) \(x\), given 2"):
        torch_model(g, Awkward(), g.input("a", np.zeros((2, 4))), g.input("b", np.zeros((2, 4))))


def readme_block(marker: str) -> str:
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if marker in b]
    return block


def test_the_readme_torch_example_is_blamed_as_a_file_and_as_a_target(tmp_path, monkeypatch, capsys):
    from tui_backprop.cli.main import main

    (tmp_path / "my_gelu.py").write_text(readme_block("class GELU"))
    monkeypatch.chdir(tmp_path)
    assert main(["check", "my_gelu.py"]) == 1
    assert "blamed: gelu" in capsys.readouterr().out
    assert main(["check", "--torch", "my_gelu:GELU", "--input-shape", "4x8", "--json"]) == 1
    assert '"blame": [\n      "GELU"\n    ]' in capsys.readouterr().out
