"""Every element is compared, covered or unchecked, and the exit code says which (README, exit codes).

A check that could not judge an element must never read PASS: exit 3 ("incomplete") when nothing
was found wrong but something was left unchecked; a projected tensor is "verified by projection",
never "ok" element by element.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from session_support import session_of

from tui_backprop.check.gradcheck import CheckSettings, check
from tui_backprop.check.verdict import COVERED
from tui_backprop.cli.main import main
from tui_backprop.core import scenarios

REFUSES_PROBE = '''
"""A forward that refuses any value but the one it was built with; its backward is 7x wrong"""
import numpy as np
import pytest
from tui_backprop import custom_op, ops

X0 = np.array([0.5, -1.0])


def forward(x):
    if not np.array_equal(x, X0):
        raise ValueError("only the built value")
    return np.tanh(x)


def build(g, bug=None):
    y = custom_op("picky", forward, lambda u, out, x: 7 * u * (1 - out**2))
    x = g.param("x", X0.copy())
    return ops.sum(y(x, name="y"), name="L")
'''

SOFTSIGN = '''
"""Softsign at scale, right"""
import numpy as np
from tui_backprop import custom_op, ops


def build(g, bug=None):
    softsign = custom_op(
        "softsign", lambda x: x / (1 + np.abs(x)), lambda u, out, x: u / (1 + np.abs(x)) ** 2,
    )
    x = g.param("x", np.linspace(-3, 3, 3000))
    return ops.sum(ops.square(softsign(ops.scale(x, 1.5, name="xs"), name="s"), name="q"), name="L")
'''


def run_json(capsys, *args: str) -> tuple[int, list]:
    code = main(["check", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_wrong_backward_the_probe_cannot_reach_is_incomplete_never_pass(tmp_path, capsys):
    path = tmp_path / "picky.py"
    path.write_text(REFUSES_PROBE)
    code, (doc,) = run_json(capsys, str(path))
    assert code == 3 and doc["status"] == "incomplete"
    y = next(n for n in doc["nodes"] if n["name"] == "y")
    sent = y["local_check"]["inputs"]["x"]
    assert (sent["compared"], sent["covered"], sum(sent["unchecked"].values())) == (0, 0, 2)
    assert main(["check", str(path)]) == 3
    text = " ".join(capsys.readouterr().out.split())
    assert "INCOMPLETE" in text and "PASS" not in text
    assert "2 element(s) of" in text and "raised on a probed value: ValueError: only the built value" in text


def test_sampled_elements_are_counted_as_not_sampled_and_the_check_is_incomplete(capsys):
    code, docs = run_json(capsys, "deep-mlp", "--sample", "4")
    assert code == 3 and docs[0]["status"] == "incomplete"
    w1 = next(n for n in docs[0]["nodes"] if n["name"] == "W1")["check"]
    size = w1["compared"] + w1["covered"] + sum(w1["unchecked"].values())
    assert w1["compared"] == w1["probed"] == 4 and w1["unchecked"] == {"not sampled (--sample 4)": size - 4}
    assert main(["check", "deep-mlp", "--sample", "4"]) == 3
    assert "not sampled (--sample 4)" in " ".join(capsys.readouterr().out.split())


def test_a_check_of_every_element_passes_with_exit_0_and_counts_each_element_once(capsys):
    code, docs = run_json(capsys, "two-layer-net")
    assert code == 0 and docs[0]["status"] == "pass"
    for node in docs[0]["nodes"]:
        size = 1
        for n in node["shape"]:
            size *= n
        assert (node["check"]["compared"], node["check"]["covered"], node["check"]["unchecked"]) == (
            size,
            0,
            {},
        )


@pytest.mark.usefixtures("no_colouring")
def test_projected_elements_are_covered_not_compared_and_never_read_ok(tmp_path, capsys):
    path = tmp_path / "softsign.py"
    path.write_text(SOFTSIGN)
    code, (doc,) = run_json(capsys, str(path))
    assert code == 0 and doc["status"] == "pass"  # covered counts as verified, within the stated bound
    s = next(n for n in doc["nodes"] if n["name"] == "s")
    sent = s["local_check"]["inputs"]["xs"]
    assert sent["method"] == "projection" and 0 < sent["bound"] < 1e-3
    assert (sent["probed"], sent["compared"], sent["covered"], sent["unchecked"]) == (0, 0, 3000, {})
    assert sent["max_rel_err"] == 0  # no element has a measured error of its own
    assert main(["check", str(path)]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "verified by projection" in rows["s"] and "✓ ok" not in rows["s"]

    trace = scenarios.trace_scenario(scenarios.load(str(path)), None)
    local = check(trace, CheckSettings.for_dtype("float64")).nodes["s"].local[0]
    assert (local.codes == COVERED).all() and not local.probed.any()


def test_the_app_status_line_says_incomplete_never_a_tick(tmp_path):
    from tui_backprop.app.debugger.status_text import status_line

    path = tmp_path / "picky.py"
    path.write_text(REFUSES_PROBE)
    line = status_line(session_of(str(path)), "picky", None).plain
    assert "incomplete" in line and "✓" not in line
    complete = session_of("two-layer-net")
    complete.show_all = True
    assert "✓ no mismatch" in status_line(complete, "two", None).plain


def test_a_mismatch_outranks_incomplete_over_several_scenarios(tmp_path, capsys):
    path = tmp_path / "picky.py"
    path.write_text(REFUSES_PROBE)
    wrong = Path(__file__).parent / "scenario_files" / "softplus_wrong.py"
    assert main(["check", str(path), str(wrong)]) == 1
    assert main(["check", str(wrong), str(path)]) == 1
    assert main(["check", str(path), "sigmoid-chain"]) == 3
