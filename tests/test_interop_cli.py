"""``--torch package.module:Thing --input-shape 4x8`` in ``check`` and the app; torch and jax stay
optional extras."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from app_support import settle, sync

from tui_backprop.cli.main import main
from tui_backprop.core.errors import not_installed
from tui_backprop.interop.extras import installed

FILES = Path(__file__).parent / "scenario_files"
needs_torch = pytest.mark.skipif(not installed("torch"), reason=f"needs torch: {not_installed('torch')}")


def run_python(code: str, cwd: Path = FILES) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_the_package_and_the_headless_commands_never_import_torch_or_jax():
    done = run_python(
        "import sys\n"
        "import tui_backprop, tui_backprop.testing, tui_backprop.interop\n"
        "from tui_backprop.cli.main import main\n"
        "main(['list']); main(['check', 'softmax']); main(['trace', 'sigmoid-chain'])\n"
        "from tui_backprop import ops, Graph\n"
        "heavy = [m for m in ('torch', 'jax') if sys.modules.get(m) is not None]\n"
        "assert not heavy, f'imported: {heavy}'\n"
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["check", "--torch", "torch_gelu:GELU", "--input-shape", "4"], "--torch: PyTorch is not installed"),
        (["--torch", "torch_gelu:GELU", "--input-shape", "4"], "--torch: PyTorch is not installed"),
        (["check", "jax_softplus.py"], "JAX is not installed"),
    ],
)
def test_without_the_extra_the_command_says_what_to_install_in_one_line_and_exits_2(argv, says):
    done = run_python(
        "import sys\n"
        "sys.modules['torch'] = sys.modules['jax'] = None  # as if neither were installed\n"
        "from tui_backprop.cli.main import main\n"
        f"sys.exit(main({argv!r}))\n"
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and says in lines[0], lines
    assert "pip install 'backprop-tui[" in lines[0]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["check", "--input-shape", "4x8", "softmax"], "--input-shape: only with --torch"),
        (["check", "--torch", "m:F", "--input-shape", "4x0"], "a shape is sizes joined by x"),
        (["--torch", "m:F", "softmax"], "either a scenario or a --torch target"),
    ],
)
def test_torch_arguments_that_make_no_sense_are_usage_errors(argv, says, capsys):
    assert main(argv) == 2
    assert says in capsys.readouterr().err


def checked_json(argv: list[str], monkeypatch, capsys, cwd: Path = FILES) -> tuple[int, dict]:
    monkeypatch.chdir(cwd)
    code = main(["check", *argv, "--json"])
    (doc,) = json.loads(capsys.readouterr().out)
    return code, doc


@needs_torch
def test_check_builds_a_model_target_by_itself_and_blames_the_one_wrong_function(monkeypatch, capsys):
    code, doc = checked_json(
        ["--torch", "torch_model:TwoFunctionNet", "--input-shape", "4x8"], monkeypatch, capsys
    )
    assert code == 1
    assert doc["scenario"] == "torch_model:TwoFunctionNet"
    assert doc["blame"] == ["feature_mean"]
    by_name = {n["name"]: n for n in doc["nodes"]}
    assert by_name["x"]["shape"] == [4, 8] and by_name["x"]["kind"] == "input"
    assert by_name["fc1.weight"]["kind"] == "param"
    assert "summed where it should average?" in by_name["feature_mean"]["local_check"]["diagnosis"]


@needs_torch
@pytest.mark.parametrize(
    ("argv", "code", "blame"),
    [
        (["--torch", "torch_gelu:GELU", "--input-shape", "4x8"], 0, []),
        (["--torch", "torch_gelu:GELUWrongConstant", "--input-shape", "4x8"], 1, ["GELUWrongConstant"]),
        (
            ["--torch", "torch_linear_relu:LinearReLUMissingTranspose"]
            + ["--input-shape", "3x5", "--input-shape", "5x5", "--input-shape", "5"],
            1,
            ["LinearReLUMissingTranspose"],
        ),
    ],
)
def test_check_builds_a_custom_function_target_with_inputs_of_the_given_shapes(
    argv, code, blame, monkeypatch, capsys
):
    got, doc = checked_json(argv, monkeypatch, capsys)
    assert (got, doc["blame"]) == (code, blame)


@needs_torch
def test_a_target_fed_the_wrong_number_of_shapes_is_one_line_naming_its_inputs(monkeypatch, capsys):
    monkeypatch.chdir(FILES)
    assert main(["check", "--torch", "torch_linear_relu:LinearReLU", "--input-shape", "3x5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "takes 3 tensor input(s) (x, W, b); give one --input-shape for each" in err[0]


@needs_torch
def test_the_app_is_handed_the_same_target_with_the_same_arguments(monkeypatch):
    monkeypatch.chdir(FILES)
    monkeypatch.setenv("TEXTUAL_DRIVER", "headless")  # no terminal needed to get as far as opening it
    opened = []

    def open_app(scenario, bug, dtype, quiz, loader, *more):
        opened.append((scenario, bug, dtype, quiz, loader))
        return 0

    assert main(["--torch", "torch_model:TwoFunctionNet", "--input-shape", "4x8"], open_app=open_app) == 0
    ((spec, bug, dtype, quiz, loader),) = opened
    assert (spec, bug, dtype, quiz) == ("torch_model:TwoFunctionNet", None, "float64", False)
    assert loader(spec).slug == spec and loader("softmax").slug == "softmax"


@needs_torch
@sync
async def test_the_app_steps_blames_lists_elements_and_draws_the_circuit_of_a_torch_model(monkeypatch):
    from tui_backprop.app.app import make_app
    from tui_backprop.app.circuit.view import CircuitView
    from tui_backprop.app.engine import Engine
    from tui_backprop.app.inspector.tensor_screen import TensorScreen
    from tui_backprop.app.inspector.text_view import TextView
    from tui_backprop.cli.args import build_parsers
    from tui_backprop.cli.commands import scenario_loader

    monkeypatch.chdir(FILES)
    args = build_parsers()["app"].parse_args(
        ["--torch", "torch_model:TwoFunctionNet", "--input-shape", "4x8"]
    )
    app = make_app(args.torch, engine=Engine(scenario_loader(args)))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        session = app.model.session
        assert session.scenario.slug == "torch_model:TwoFunctionNet"
        await pilot.press("c")  # continue: stops at the blamed node's backward step
        assert session.current.node == "feature_mean" and session.phase == "backward"
        inspector = app.debugger.query_one(TextView).plain
        assert "BLAMED" in inspector and "summed where it should average?" in inspector
        await pilot.press("v")
        assert isinstance(app.screen, TensorScreen)
        titles = []
        for _ in range(8):  # every tensor of the step: value, gradient, what it sends ...
            titles.append(str(app.screen.query_one("#tensor-title").render()))
            await pilot.press("tab")
        assert any("24 mismatch" in t for t in titles), titles
        await pilot.press("escape", "g")
        circuit = app.debugger.query_one(CircuitView)
        assert circuit.display
        assert set(circuit.layout_.gates) >= {"fc1", "gelu", "fc2", "tanh", "feature_mean"}
        await pilot.press("p", "n")  # one step back and forth again
        assert session.current.node == "feature_mean"


@needs_torch
def test_a_plain_function_and_a_setup_context_function_are_targets_too(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_code.py").write_text(
        "import torch\n"
        "\n"
        "class Cube(torch.autograd.Function):\n"
        "    @staticmethod\n"
        "    def forward(x, scale=1.0):\n"
        "        return scale * x**3\n"
        "\n"
        "    @staticmethod\n"
        "    def setup_context(ctx, inputs, output):\n"
        "        ctx.save_for_backward(inputs[0])\n"
        "\n"
        "    @staticmethod\n"
        "    def backward(ctx, grad):\n"
        "        (x,) = ctx.saved_tensors\n"
        "        return grad * 3 * x, None  # wrong: 3 x² is the derivative\n"
        "\n"
        "def gated(x, y):\n"
        "    return torch.tanh(x) * torch.sigmoid(y) + Cube.apply(x).mean()\n"
    )
    code, doc = checked_json(["--torch", "my_code:Cube", "--input-shape", "5"], monkeypatch, capsys, tmp_path)
    assert (code, doc["blame"]) == (1, ["Cube"])
    assert [n["name"] for n in doc["nodes"] if n["kind"] == "input"] == ["x", "r"]
    shapes = ["--input-shape", "2x3", "--input-shape", "2x3"]
    code, doc = checked_json(["--torch", "my_code:gated", *shapes], monkeypatch, capsys, tmp_path)
    assert code == 1 and doc["blame"] == ["cube"]
    ops_used = [n["op"] for n in doc["nodes"] if n["kind"] == "op"]
    assert ops_used[:5] == ["tanh", "sigmoid", "mul", "Cube", "mean"]
