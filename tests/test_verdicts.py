"""The check's verdicts on code users write: what is blamed, what is a kink, what cannot be judged."""

from __future__ import annotations

import json
from pathlib import Path

from tui_backprop import scenarios
from tui_backprop.cli import main
from tui_backprop.gradcheck import CheckSettings, check

FILES = Path(__file__).parent / "scenario_files"


def checked_file(name: str, bug: str | None = None, dtype: str = "float64"):
    scenario = scenarios.load(str(FILES / name))
    return check(scenarios.trace_scenario(scenario, bug, dtype), CheckSettings.for_dtype(dtype))


def run_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["check", *args, "--json"])
    (doc,) = json.loads(capsys.readouterr().out)
    return code, doc


def test_a_backward_that_sends_nan_for_a_finite_upstream_is_blamed(capsys):
    code, doc = run_json(capsys, str(FILES / "l1_penalty_nan.py"))
    assert code == 1
    assert doc["blame"] == ["absW"]
    node = next(n for n in doc["nodes"] if n["name"] == "absW")
    assert node["local_check"]["status"] == "nonfinite"
    assert "sends a non-finite gradient to W" in node["check"]["note"]


def test_a_correct_transpose_of_a_3d_tensor_passes():
    result = checked_file("transpose_3d.py")
    assert not result.failed and result.blame == []
    assert result.nodes["x"].grad.n_probed == 24
