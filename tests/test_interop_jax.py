"""JAX code under the check: a custom_vjp rule, and any jax function with jax's own VJP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="JAX is not installed: pip install 'backprop-tui[jax]'")

import jax.numpy as jnp  # noqa: E402
from check_support import assert_every_element_compared  # noqa: E402

from tui_backprop.check.gradcheck import CheckSettings, check  # noqa: E402
from tui_backprop.core import ops, scenarios  # noqa: E402
from tui_backprop.core.graph import Graph  # noqa: E402
from tui_backprop.core.trace import run  # noqa: E402
from tui_backprop.interop import jax_op  # noqa: E402

FILES = Path(__file__).parent / "scenario_files"


def checked_file(name: str, bug: str | None = None, dtype: str = "float64"):
    trace = scenarios.trace_scenario(scenarios.load(str(FILES / name)), bug, dtype)
    return trace, check(trace, CheckSettings.for_dtype(dtype))


def checked(g: Graph, output):
    trace = run(g, output)
    return trace, check(trace, CheckSettings.for_dtype(g.dtype_name))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_correct_custom_vjp_passes_with_every_element_compared(dtype):
    trace, result = checked_file("jax_softplus.py", dtype=dtype)
    assert not result.failed
    assert trace.values["s"].dtype == np.dtype(dtype)
    assert_every_element_compared(trace, result)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_custom_vjp_with_a_sign_bug_is_blamed_in_the_words_numpy_code_gets(dtype):
    trace, result = checked_file("jax_softplus.py", "sign", dtype)
    assert result.blame == ["s"]
    g = Graph(dtype)
    z = g.input("z", trace.values["z"])
    twin = ops.custom_op("softplus", lambda x: np.logaddexp(0.0, x), lambda u, out, x: -u / (1 + np.exp(-x)))(
        z, name="s"
    )
    _, twin_result = checked(g, ops.sum(twin, name="L"))
    assert twin_result.blame == ["s"]
    assert result.nodes["s"].diagnosis == twin_result.nodes["s"].diagnosis
    assert result.nodes["s"].diagnosis[0].startswith("sign flipped")


def test_any_jax_function_is_checked_with_jax_own_vjp_and_keyword_constants():
    g = Graph()
    x = g.input("x", np.random.default_rng(0).standard_normal((3, 4)))
    y = jax_op(jax.nn.softmax)(x, axis=1, name="p")
    assert y.formula() == "p = softmax(x, axis=1)"
    trace, result = checked(g, ops.sum(ops.square(y), name="L"))
    np.testing.assert_allclose(trace.values["p"].sum(axis=1), 1.0)
    assert not result.failed
    assert_every_element_compared(trace, result)


def test_each_output_of_a_jax_function_is_its_node():
    g = Graph()
    x = g.input("x", [0.5, -1.0, 2.0])
    low, high = jax_op(lambda v: (jnp.minimum(v, 0.0), jnp.sin(v)), name="split", outputs=2)(x, name="parts")
    assert (low.name, high.name, low.op.name) == ("parts.0", "parts.1", "split")
    _, result = checked(g, ops.add(ops.sum(low), ops.sum(high), name="L"))
    assert not result.failed


def test_a_bwd_that_raises_is_blamed_with_its_own_file_and_line():
    @jax.custom_vjp
    def double(x):
        return 2 * x

    def fwd(x):
        return double(x), None

    def bwd(_, g):
        raise ValueError("not written yet")

    double.defvjp(fwd, bwd)
    g = Graph()
    trace, result = checked(g, ops.sum(jax_op(double)(g.input("x", [1.0, 2.0]), name="d")))
    assert result.blame == ["d"]
    assert "not written yet" in trace.failures["d"].message
    assert trace.failures["d"].origin.filename == __file__


def test_the_readme_jax_example_is_blamed_with_its_sign(tmp_path, capsys):
    import re

    from tui_backprop.cli.main import main

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "custom_vjp" in b]
    (tmp_path / "my_softplus.py").write_text(block)
    assert main(["check", str(tmp_path / "my_softplus.py")]) == 1
    out = capsys.readouterr().out
    assert "blamed: s" in out and "x: sign flipped: analytic is -1 × numeric" in out
