"""``tui_backprop.testing.assert_gradients_ok``: a test suite's assertion, failing as numpy.testing does."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_backprop import Graph, ops
from tui_backprop.core.errors import ScenarioError
from tui_backprop.testing import assert_gradients_ok

FILES = Path(__file__).parent / "scenario_files"


def test_a_correct_scenario_passes_as_a_slug_a_path_or_a_module():
    import importlib

    assert_gradients_ok("sigmoid-chain")
    assert_gradients_ok(FILES / "softplus_ok.py")
    assert_gradients_ok(importlib.import_module("tui_backprop.builtin.softmax"), dtype="float32")


def test_a_buggy_scenario_fails_with_the_blame_the_diagnosis_and_the_elements():
    with pytest.raises(AssertionError) as failed:
        assert_gradients_ok("sigmoid-chain", bug="reciprocal-sign")
    message = str(failed.value)
    first = message.strip().splitlines()[0]
    assert first.startswith("Gradients of sigmoid-chain are not right: blamed: f = 1 / e: e: sign flipped")
    assert "✗ blamed: f" in message  # check's report follows: the table, the blame line ...
    assert "df→e" in message and "analytic" in message  # ... and the elements that differ
    assert "FAIL" in message


def test_a_build_function_is_a_scenario_and_its_docstring_its_title():
    def build(g: Graph, bug=None):
        """Half a square

        The backward of x² forgets the 2.
        """
        x = g.param("x", [1.0, -3.0])
        half = ops.square.with_backward(lambda upstream, out, x: upstream * x)
        return ops.sum(half(x, name="sq"), name="L")

    with pytest.raises(AssertionError, match=r"blamed: sq = .*: x: a factor 2 missing"):
        assert_gradients_ok(build)


def test_tolerances_are_the_checks_own():
    assert_gradients_ok("softmax", bug="eps-denominator", rtol=0.1)  # the bug is 3% off: within 10%


def test_a_scenario_that_cannot_be_built_is_an_error_not_a_failure():
    with pytest.raises(ScenarioError, match="syntax error"):
        assert_gradients_ok(FILES / "syntax_error.py")


def test_the_readme_test_file_fails_on_the_readme_net_and_passes_once_it_is_fixed(tmp_path, monkeypatch):
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    (net,) = [b for b in blocks if "from tui_backprop.layers import" in b]
    (test_file,) = [b for b in blocks if "assert_gradients_ok" in b]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(test_file, "test_gradients.py", "exec"), namespace)
    (tmp_path / "my_net.py").write_text(net)
    with pytest.raises(AssertionError, match="blamed: sigmoid"):
        namespace["test_my_net_gradients"]("float64")
    fixed = net.replace("return dy * self.out  #", "return dy * self.out * (1 - self.out)  #")
    (tmp_path / "my_net.py").write_text(fixed)
    namespace["test_my_net_gradients"]("float32")
