"""The check's verdicts on code users write: what is blamed, what is a kink, what cannot be judged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tui_backprop.check.gradcheck import KINK, MISMATCH, OK, UNCHECKED, CheckSettings, check
from tui_backprop.check.refine import TOO_COARSE
from tui_backprop.cli.main import main
from tui_backprop.core import scenarios

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


def local_codes(result, node: str, position: int = 0) -> list:
    return result.nodes[node].local[position].codes.reshape(-1).tolist()


def test_a_hand_written_relu_without_kink_hint_is_not_blamed_at_zero():
    result = checked_file("relu_no_hint.py")
    assert result.blame == [] and not result.failed
    # x = [[0, 1.5, -2], [3e-7, -4e-7, 0.5]]: at 0 and within eps of it, kinks found by themselves
    assert local_codes(result, "a") == [KINK, OK, OK, OK, KINK, OK]
    assert result.nodes["relu_layer"].status == "kink"


def test_a_wrong_relu_backward_is_still_blamed_away_from_its_kink():
    result = checked_file("relu_no_hint.py", "half-slope")
    assert result.blame == ["a"]
    assert local_codes(result, "a") == [KINK, MISMATCH, OK, MISMATCH, KINK, MISMATCH]


@pytest.mark.parametrize("name", ["log_near_zero.py", "bce_confident.py"])
def test_a_probe_that_leaves_the_domain_shrinks_its_step_and_judges_the_element(name):
    result = checked_file(name)
    assert not result.failed
    op_node = "y" if name.startswith("log") else "L"
    assert local_codes(result, op_node) == [OK, OK, OK]  # the first element sits at the edge


@pytest.mark.parametrize(
    ("name", "bug", "blamed"),
    [("log_near_zero.py", "three-times", "y"), ("bce_confident.py", "sign-flipped", "L")],
)
def test_a_wrong_backward_at_the_edge_of_the_domain_is_blamed(name, bug, blamed):
    result = checked_file(name, bug)
    assert result.blame == [blamed]
    assert local_codes(result, blamed)[0] == MISMATCH  # the element next to the domain's edge


def test_an_element_no_step_can_judge_is_unchecked_with_its_reason_never_ok(capsys):
    result = checked_file("sqrt_at_boundary.py")
    r = result.nodes["r"]
    assert r.status == "unchecked" and not result.failed
    assert local_codes(result, "r") == [UNCHECKED, OK]
    assert list(r.local[0].reasons) == [TOO_COARSE]
    code, doc = run_json(capsys, str(FILES / "sqrt_at_boundary.py"))
    assert code == 3  # incomplete: nothing found wrong, but an element could not be judged
    assert doc["status"] == "incomplete"
    node = next(n for n in doc["nodes"] if n["name"] == "r")
    assert node["check"]["status"] == "ok"
    assert node["local_check"]["status"] == "unchecked"
    assert node["local_check"]["inputs"]["x"]["unchecked"] == {TOO_COARSE: 1}
    assert (
        node["local_check"]["inputs"]["x"]["compared"],
        node["local_check"]["inputs"]["x"]["covered"],
    ) == (1, 0)
    assert main(["check", str(FILES / "sqrt_at_boundary.py")]) == 3
    text = " ".join(capsys.readouterr().out.split())
    assert "INCOMPLETE" in text and "PASS" not in text
    assert f"2 element(s) of x, r: {TOO_COARSE}" in text


@pytest.mark.parametrize("bug", [None, "stateful"])
def test_a_forward_that_is_not_deterministic_is_said_so_on_its_node(capsys, bug):
    args = [str(FILES / "dropout_fresh_mask.py")] + (["--bug", bug] if bug else [])
    code, doc = run_json(capsys, *args)
    assert code == 1 and doc["status"] == "fail"
    assert doc["blame"] == []  # not a backward verdict
    nodes = {n["name"]: n for n in doc["nodes"]}
    assert nodes["drop"]["local_check"]["status"] == "nondeterministic"
    assert nodes["drop"]["check"]["note"].startswith("forward is not deterministic: fix its seed or mask")
    # what is probed through it cannot be judged, and says why
    (reason,) = nodes["w"]["check"]["unchecked"]
    assert "pass through drop" in reason
    assert main(["check", *args]) == 1
    assert "forward is not deterministic" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("bug", "blamed", "words"),
    [
        ("refuses-probe", [], "the forward of y raised on a probed value: ValueError: input below 1e-7"),
        ("kink-raises", ["y"], "its kink= function raised NameError"),
        ("not-elementwise", ["y"], "elementwise=True, but its forward returns shape"),
    ],
)
def test_user_code_that_fails_under_a_probe_is_reported_on_its_node(capsys, bug, blamed, words):
    code, doc = run_json(capsys, str(FILES / "user_code_fails_under_probe.py"), "--bug", bug)
    assert doc["blame"] == blamed
    assert code == (1 if blamed else 3)  # a forward that refuses the probe leaves elements unchecked
    y = next(n for n in doc["nodes"] if n["name"] == "y")
    (reason,) = y["local_check"]["inputs"]["x"]["unchecked"]
    assert words in reason
    if blamed:
        assert words in y["local_check"]["error"]
    assert main(["check", str(FILES / "user_code_fails_under_probe.py"), "--bug", bug]) == code
    assert words in " ".join(capsys.readouterr().out.split())


def test_a_log_next_to_its_domain_edge_passes_when_correct():
    result = checked_file("user_code_fails_under_probe.py")
    assert not result.failed and result.n_unjudged == 0


@pytest.mark.parametrize(
    ("spec", "bug", "node", "parent", "words"),
    [
        (
            "course_mistakes.py",
            "db-mean",
            "dense1",
            "dense1.b",
            "1/5 × numeric (5: a size of the tensors here)",
        ),
        ("course_mistakes.py", "loss-sign", "loss", "dense2", "are prediction and target swapped?"),
        ("course_mistakes.py", "dx-dropped", "tanh", "dense1", "a path not propagated"),
        ("l1-mse", "mse-missing-2", "sq", "diff", "a factor 2 missing"),
        ("sigmoid-chain", "reciprocal-sign", "f", "e", "sign flipped"),
        ("two-layer-net", "matmul-grad-transposed", "z1", "W1", "analytic is numeric transposed"),
        ("softmax", "elementwise-derivative", "s", "x", "only the diagonal of the Jacobian is right"),
    ],
)
def test_the_diagnosis_says_what_is_wrong_in_words(capsys, spec, bug, node, parent, words):
    path = str(FILES / spec) if spec.endswith(".py") else spec
    code, doc = run_json(capsys, path, "--bug", bug)
    assert code == 1 and doc["blame"] == [node]
    local = next(n for n in doc["nodes"] if n["name"] == node)["local_check"]
    assert words in local["inputs"][parent]["diagnosis"]
    assert local["diagnosis"].startswith(f"{parent}: ")
    main(["check", path, "--bug", bug])
    assert words in " ".join(capsys.readouterr().out.split())


def test_a_sign_flip_outside_a_loss_does_not_ask_about_targets(capsys):
    _, doc = run_json(capsys, "sigmoid-chain", "--bug", "reciprocal-sign")
    local = next(n for n in doc["nodes"] if n["name"] == "f")["local_check"]
    assert "target" not in local["diagnosis"]


def test_plain_check_lists_the_differing_elements_of_a_blamed_node(capsys):
    assert main(["check", str(FILES / "course_mistakes.py"), "--bug", "loss-sign"]) == 1
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("[")]
    assert len(rows) == 5  # index, analytic, numeric, ratio: the first five of ten
    for _row, _col, analytic, numeric, ratio in rows:
        assert float(analytic) == pytest.approx(-float(numeric), rel=1e-6) and float(ratio) == -1
    assert "… 5 more" in out
    loss_row = next(line for line in out.splitlines() if line.lstrip().startswith("loss "))
    assert "2.0e+00 local" in loss_row  # the error that blamed it, not the global one


@pytest.mark.parametrize(
    ("bug", "blamed", "parent"),
    [(None, [], None), ("dW-wrong", ["fc1"], "fc1.W"), ("list-db-wrong", ["fc2"], "fc2.params[1]")],
)
def test_dict_and_list_held_parameters_are_checked(capsys, bug, blamed, parent):
    code, doc = run_json(capsys, str(FILES / "dict_params.py"), *(["--bug", bug] if bug else []))
    assert doc["blame"] == blamed and code == (1 if blamed else 0)
    names = [n["name"] for n in doc["nodes"]]
    assert {"fc1.W", "fc1.b", "fc2.params[0]", "fc2.params[1]"} <= set(names)
    if parent:
        node = next(n for n in doc["nodes"] if n["name"] == blamed[0])
        assert node["local_check"]["inputs"][parent]["status"] == "mismatch"


def test_a_layer_holding_an_unregistered_float_array_is_warned_about(capsys):
    code, doc = run_json(capsys, str(FILES / "dict_params.py"))
    assert code == 0
    (warning,) = doc["warnings"]
    assert warning.startswith("scaled (Scaled) holds float array(s) scale not registered as parameters")
    assert main(["check", str(FILES / "dict_params.py")]) == 0
    assert "⚠ warning: scaled (Scaled) holds float array(s) scale" in capsys.readouterr().out
    _, clean = run_json(capsys, "two-layer-net")
    assert clean["warnings"] == []


def test_a_penalty_on_a_layer_parameter_reaches_it_through_the_graph():
    result = checked_file("dict_params.py")
    trace = result.trace
    consumers = {c.name for c, _ in trace.consumers["fc1.W"]}
    assert consumers == {"fc1", "square1"}  # the layer and the L2 penalty on g["fc1.W"]
    w = trace.values["fc1.W"]
    assert np.allclose(trace.contributions["square1"][0], 0.02 * w)  # d(0.01·ΣW²)/dW
    assert result.nodes["fc1.W"].grad.status == "ok" and result.nodes["fc1.W"].grad.n_probed == w.size


@pytest.mark.parametrize(
    ("bug", "blamed", "words"),
    [
        (None, [], None),
        ("softmax-grad-diagonal", ["s"], "only the diagonal of the Jacobian"),
        ("target-first-sign", ["mse_r"], "are prediction and target swapped?"),
        ("linear-dW-transposed", ["linear"], None),
    ],
)
def test_course_code_styles_are_adapted_as_written(capsys, bug, blamed, words):
    code, doc = run_json(capsys, str(FILES / "course_styles.py"), *(["--bug", bug] if bug else []))
    assert doc["blame"] == blamed and code == (1 if blamed else 0)
    nodes = {n["name"]: n for n in doc["nodes"]}
    assert nodes["r"]["local_check"]["inputs"]["hs"]["kinks"] == 1  # cache_op's kink= at hs = 0
    if words:
        assert words in nodes[blamed[0]]["local_check"]["diagnosis"]


def sweep_draw(slug: str, k: int, bug: str | None, dtype: str):
    """Draw k of benchmarks/seed_sweep.py (the seed sweep run by hand) for one scenario."""
    import importlib.util
    from unittest import mock

    from tui_backprop.core.graph import Graph

    spec = importlib.util.spec_from_file_location(
        "seed_sweep", FILES.parent.parent / "benchmarks" / "seed_sweep.py"
    )
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)

    def shifted(seed=None):
        return sweep._real_rng(None if seed is None else [int(np.sum(seed)), k])

    with (
        mock.patch("numpy.random.default_rng", shifted),
        mock.patch.object(Graph, "param", sweep._jittered(k)),
    ):
        trace = scenarios.trace_scenario(scenarios.load(slug), bug, dtype)
        return check(trace, CheckSettings.for_dtype(dtype))


@pytest.mark.parametrize(("bug", "blamed"), [(None, []), ("relu-passes-negatives", ["a3"])])
def test_float32_log_softmax_output_moving_below_its_last_bit_is_no_false_alarm(bug, blamed):
    # Draw 9 of the sweep: a class probability ~2e-4, so nudging its logit moves the picked
    # log-probability by less than float32's last bit; that is round-off, not a wrong backward.
    result = sweep_draw("deep-mlp", 9, bug, "float32")
    assert result.blame == blamed


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_bug_in_a_tensor_of_small_gradients_is_caught_in_float32(dtype):
    assert not checked_file("float32_small_grads.py", dtype=dtype).failed
    assert checked_file("float32_small_grads.py", "tanh-1.5x", dtype).blame == ["t"]
