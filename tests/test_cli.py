"""The command line as graders and CI use it: exit codes, one clear line on bad input, JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tui_backprop.cli.main import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, name: str, source: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return str(path)


def test_list_json_gives_every_builtin_with_its_bugs(capsys):
    code, out, _ = run_cli(capsys, "list", "--json")
    assert code == 0
    listed = {entry["slug"]: entry for entry in json.loads(out)}
    assert {"sigmoid-chain", "l1-mse", "two-layer-net", "softmax", "deep-mlp"} <= set(listed)
    chain = listed["sigmoid-chain"]
    assert set(chain) == {"slug", "title", "description", "source", "bugs"}
    assert {"name": "reciprocal-sign", "description": chain["bugs"][0]["description"]} in chain["bugs"]
    assert Path(chain["source"]).name == "sigmoid_chain.py"


def test_check_every_builtin_passes(capsys):
    code, out, _ = run_cli(capsys, "check")
    assert code == 0
    assert out.count("PASS") == 6
    code, out, _ = run_cli(capsys, "check", "--json")
    docs = json.loads(out)
    assert code == 0 and [d["status"] for d in docs] == ["pass"] * 6
    for doc in docs:  # a pass counts only if every element was compared
        sizes = {n["name"]: int(np.prod(n["shape"])) for n in doc["nodes"]}
        for n in doc["nodes"]:
            assert n["check"]["probed"] == sizes[n["name"]], (doc["scenario"], n["name"])
            for parent, local in n.get("local_check", {}).get("inputs", {}).items():
                assert local["probed"] == sizes[parent], (doc["scenario"], n["name"], parent)
            if n["kind"] == "op":
                assert set(n["local_check"]["inputs"]) == set(n["inputs"]), n["name"]


def test_check_with_a_bug_exits_1_and_names_the_blamed_node(capsys):
    code, out, _ = run_cli(capsys, "check", "sigmoid-chain", "--bug", "reciprocal-sign")
    assert code == 1
    assert "blamed: f" in out


def test_check_json_is_a_list_of_trace_objects(capsys):
    code, out, _ = run_cli(capsys, "check", "softmax", "l1-mse", "--bug", "mse-missing-2", "--json")
    assert code == 2  # softmax has no bug of that name: bad usage
    code, out, _ = run_cli(capsys, "check", "l1-mse", "--bug", "mse-missing-2", "--json")
    (result,) = json.loads(out)
    assert code == 1
    assert result["blame"] == ["sq"]
    assert result["status"] == "fail"


def test_trace_json_follows_the_contract(capsys):
    code, out, _ = run_cli(capsys, "trace", "sigmoid-chain")
    assert code == 0
    doc = json.loads(out)
    assert doc["scenario"] == "sigmoid-chain" and doc["bug"] is None and doc["dtype"] == "float64"
    assert doc["title"] == "Sigmoid chain" and doc["status"] == "pass"
    assert doc["settings"] == {"eps": 1e-6, "rtol": 1e-5, "atol": 1e-8, "sample": None}
    assert doc["output"] == {"name": "f", "value": pytest.approx(0.8807970779778823)}
    nodes = {n["name"]: n for n in doc["nodes"]}
    x = nodes["x"]
    assert (x["kind"], x["op"], x["inputs"], x["shape"], x["value"]) == ("input", None, [], [], 2.0)
    assert x["grad"] == pytest.approx(0.3149807562105195)
    assert x["check"]["status"] == "ok"
    assert x["check"]["numeric_grad"] == pytest.approx(0.31498075621, rel=1e-8)
    a = nodes["a"]
    assert a["formula"] == "a = x · w0"
    assert a["contributions"] == {"x": pytest.approx(0.315, abs=1e-3), "w0": pytest.approx(0.21, abs=1e-3)}
    assert a["local_check"]["status"] == "ok"
    assert doc["steps"][0] == {"index": 0, "phase": "forward", "node": "a"}
    assert doc["steps"][6] == {"index": 6, "phase": "backward", "node": "f"}
    assert doc["blame"] == []


def test_trace_json_of_softmax_carries_the_local_jacobian(capsys):
    _, out, _ = run_cli(capsys, "trace", "softmax")
    s = next(n for n in json.loads(out)["nodes"] if n["name"] == "s")
    jac = s["local_jacobian"]["x"]
    np.testing.assert_allclose(jac["analytic"], jac["numeric"], atol=1e-8)
    assert (jac["status"], jac["mismatches"]) == ("ok", [])
    s_value = np.array(s["value"])
    np.testing.assert_allclose(jac["analytic"], np.diag(s_value) - np.outer(s_value, s_value))


def test_trace_markdown(capsys):
    code, out, _ = run_cli(capsys, "trace", "l1-mse", "--bug", "mse-missing-2", "--format", "markdown")
    assert code == 1
    assert out.startswith("# L1-regularised MSE")
    assert "| `sq` | sq = diff² |" in out
    assert "Blamed" in out and "`sq`" in out


BAD_FILES = {
    "syntax.py": ("def build(g, bug=None):\n    x = g.input('x', 1.0\n", "syntax.py:2: syntax error"),
    "nobuild.py": ('"""Just a module."""\nX = 1\n', "not a scenario"),
    "raises.py": (
        "def build(g, bug=None):\n    x = g.input('x', 1.0)\n    raise RuntimeError('boom')\n",
        "raises.py:3: build() failed: RuntimeError: boom",
    ),
    "shape.py": (
        "from tui_backprop import ops\n"
        "def build(g, bug=None):\n"
        "    W = g.param('W', [[1.0, 2.0]])\n"
        "    x = g.input('x', [[1.0, 2.0, 3.0]])\n"
        "    return ops.sum(ops.matmul(W, x, name='h'), name='L')\n",
        "shape.py:5: forward of node 'h' (matmul)",
    ),
    "returns_none.py": ("def build(g, bug=None):\n    g.input('x', 1.0)\n", "must return the output node"),
    "vector_output.py": (
        "from tui_backprop import ops\n"
        "def build(g):\n"
        "    return ops.relu(g.input('x', [1.0, 2.0]), name='y')\n",
        "must be a scalar loss",
    ),
    "import_error.py": ("import no_such_module_here\n", "ModuleNotFoundError"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_scenario_files_give_one_clear_line_and_exit_2(tmp_path, capsys, name):
    source, expected = BAD_FILES[name]
    path = write(tmp_path, name, source)
    code, out, err = run_cli(capsys, "check", path)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert expected in lines[0]
    assert "Traceback" not in err + out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["check", "/no/such/file.py"], "no such scenario file"),
        (["check", "no-such-scenario"], "unknown scenario"),
        (["check", "sigmoid-chain", "--bug", "nope"], "has no bug named 'nope'"),
        (["trace", "softmax", "--format", "yaml"], "invalid choice"),
        (["check", "--eps", "-1"], "must be a positive number"),
        (["check", "--dtype", "float16"], "invalid choice"),
    ],
)
def test_bad_usage_exits_2(capsys, argv, expected):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert expected in err


def test_not_a_python_file_exits_2(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    code, _, err = run_cli(capsys, "check", str(path))
    assert code == 2 and "not a .py file" in err


def test_nan_from_the_maths_is_reported_where_it_first_appears_and_exits_1(tmp_path, capsys):
    path = write(
        tmp_path,
        "logzero.py",
        """
        from tui_backprop import ops

        def build(g, bug=None):
            x = g.input("x", [0.0, 2.0])
            y = ops.log(x, name="y")
            z = ops.scale(y, 2.0, name="z")
            return ops.sum(z, name="L")
        """,
    )
    code, out, _ = run_cli(capsys, "check", path, "--json")
    (doc,) = json.loads(out)
    nodes = {n["name"]: n for n in doc["nodes"]}
    assert code == 1
    assert nodes["y"]["check"]["status"] == "nonfinite"
    assert nodes["y"]["value"] == ["-Infinity", pytest.approx(0.6931471805599453)]
    assert nodes["z"]["check"]["status"] == "unchecked"
    assert doc["output"]["value"] == "-Infinity"


def test_check_json_error_entry_for_a_file_that_does_not_run(tmp_path, capsys):
    path = write(tmp_path, "student.py", "def build(g, bug=None):\n    return 1 / 0\n")
    code, out, _ = run_cli(capsys, "check", path, "--json")
    assert code == 2
    (doc,) = json.loads(out)
    assert doc["error"].startswith("build() failed: ZeroDivisionError")
    assert doc["origin"].endswith("student.py:2")


def test_python_dash_m_runs_the_same_cli():
    done = subprocess.run(
        [sys.executable, "-m", "tui_backprop", "check", "softmax", "--bug", "eps-denominator"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "blamed: s" in done.stdout


def test_headless_commands_never_import_textual():
    code = (
        "import sys\n"
        "from tui_backprop.cli.main import main\n"
        "main(['list']); main(['check', 'softmax']); main(['trace', 'sigmoid-chain'])\n"
        "import tui_backprop, tui_backprop.check.gradcheck, tui_backprop.check.export\n"
        "assert 'textual' not in sys.modules, 'textual was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
