"""The command line's edges past the scenario file: flags over a lesson, lessons written to break the
reader, numpy's warnings, a Ctrl-C the scenario swallows, names that would break every view, and the
one rule for errors under ``--json`` (README "Command line" and "Lesson files")."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_backprop.cli.main import main
from tui_backprop.core.errors import ScenarioError
from tui_backprop.teach.lesson import LessonError, load

CLI = [sys.executable, "-m", "tui_backprop"]
F32 = 'scenario = "sigmoid-chain"\ndtype = "float32"\n'


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def lesson(tmp_path: Path, text: str, name: str = "lesson.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------- --bug and --dtype beside a lesson
def test_check_and_trace_apply_bug_and_dtype_over_the_lesson(tmp_path, capsys):
    path = lesson(tmp_path, F32)
    code, out, _ = run_cli(capsys, "check", path, "--json")
    assert code == 0 and json.loads(out)[0]["dtype"] == "float32"
    code, out, _ = run_cli(capsys, "check", path, "--bug", "reciprocal-sign", "--json")
    (checked,) = json.loads(out)
    assert code == 1 and checked["bug"] == "reciprocal-sign" and checked["blame"] == ["f"]
    code, out, _ = run_cli(capsys, "trace", path, "--dtype", "float64")
    assert code == 0 and json.loads(out)["dtype"] == "float64"
    code, out, _ = run_cli(capsys, "trace", path, "--format", "markdown", "--bug", "reciprocal-sign")
    assert code == 1 and "- bug: `reciprocal-sign`" in out
    f64 = lesson(tmp_path, 'scenario = "sigmoid-chain"\n', "f64.toml")
    code, out, _ = run_cli(capsys, "check", f64, "--dtype", "float32", "--json")
    assert code == 0 and json.loads(out)[0]["dtype"] == "float32"
    code, out, _ = run_cli(capsys, "check", f64, "--bug", "exp-uses-input", "--dtype", "float32", "--json")
    (both,) = json.loads(out)
    assert code == 1 and (both["bug"], both["dtype"]) == ("exp-uses-input", "float32")


def test_a_bug_the_lessons_scenario_lacks_is_refused_in_one_line(tmp_path, capsys):
    code, _, err = run_cli(capsys, "check", lesson(tmp_path, F32), "--bug", "nope")
    assert code == 2
    assert one_line(err) == (
        "backprop-tui: error: --bug: sigmoid-chain has no bug named 'nope' "
        "(its bugs: reciprocal-sign, exp-uses-input)"
    )


def test_eps_is_judged_against_the_lessons_own_dtype(tmp_path, capsys):
    code, _, err = run_cli(capsys, "check", lesson(tmp_path, F32), "--eps", "1e-9")
    assert code == 2 and "--eps 1e-09 is below what float32 (the lesson's dtype) can resolve" in one_line(err)
    assert run_cli(capsys, "check", lesson(tmp_path, F32), "--eps", "1e-9", "--dtype", "float64")[0] == 0


@pytest.mark.parametrize(
    ("argv", "handed"),
    [
        ([], (None, None)),
        (["--bug", "reciprocal-sign"], ("reciprocal-sign", None)),
        (["--dtype", "float64"], (None, "float64")),
    ],
)
def test_the_app_applies_bug_and_dtype_over_a_lesson(tmp_path, monkeypatch, argv, handed):
    opened = []
    monkeypatch.setenv("TEXTUAL_DRIVER", "headless")  # no terminal needed to get as far as opening it
    path = lesson(tmp_path, F32)
    assert main([path, *argv], open_app=lambda *args: opened.append(args) or 0) == 0
    assert opened == [(path, *handed, False, None, False)]  # None: the lesson's own


def test_serve_applies_bug_dtype_and_mystery_over_a_lesson_and_refuses_a_bug_it_lacks(tmp_path, capsys):
    from tui_backprop.cli.serve import app_argv

    code, out, err = run_cli(capsys, "serve", lesson(tmp_path, F32), "--bug", "nope")
    assert code == 2 and out == "" and "--bug: sigmoid-chain has no bug named 'nope'" in one_line(err)
    argv = app_argv("class.toml", "2", None, False, mystery=True)
    assert argv[3:] == ["class.toml", "--guest", "--bug", "2", "--mystery"]  # the lesson's own dtype
    assert app_argv("sigmoid-chain", None, "float32", True)[3:] == [
        "sigmoid-chain",
        "--guest",
        "--dtype",
        "float32",
        "--quiz",
    ]


# ---------------------------------------------------------------- lessons written to break the reader
HOSTILE = {
    "a 400-digit integer": ("[values]\nx = " + "9" * 400 + "\n", 3, "too large for a float"),
    "a 5000-digit integer": ("[values]\nx = " + "9" * 5000 + "\n", 3, "thousands of digits"),
    "arrays 3000 deep": ("[values]\nx = " + "[" * 3000 + "]" * 3000 + "\n", 3, "nested more than 32 deep"),
    "tables 3000 deep": ("[values]\nx = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n", 3, ""),
    "arrays 300 deep": ("[values]\nx = " + "[" * 300 + "]" * 300 + "\n", 3, "nested more than 32 deep"),
    "brackets in strings and comments do not count": (
        '# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\nbug = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["\n'
        "[values]\nx = " + "[" * 3000 + "]" * 3000 + "\n",
        5,
        "nested more than 32 deep",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_lesson_is_one_line_naming_the_file_and_line(tmp_path, capsys, case):
    text, line, message = HOSTILE[case]
    code, out, err = run_cli(capsys, "check", lesson(tmp_path, 'scenario = "sigmoid-chain"\n' + text))
    assert code == 2 and out == ""
    assert re.search(rf"lesson\.toml:{line}: .*{re.escape(message)}", one_line(err)), err


def test_a_nul_in_the_scenario_is_refused_on_its_line(tmp_path, capsys):
    code, _, err = run_cli(capsys, "check", lesson(tmp_path, 'bug = "x"\nscenario = "go\\u0000od.py"\n'))
    assert code == 2
    assert one_line(err).endswith(
        "lesson.toml:2: scenario 'go\\x00od.py' holds a control character: not a slug or a path"
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "scenario = ",
                '"sigmoid-chain"',
                "[values]",
                "x = ",
                "[",
                "]",
                "{a = ",
                "}",
                "1e308",
                "9" * 400,
                '"\\u0000"',
                "[[bookmarks]]",
                "step = ",
                "note = ",
                "start = ",
                "\n",
                ", ",
                "#",
            ]
        ),
        max_size=40,
    )
)
def test_any_lesson_text_opens_or_is_a_lesson_error(tmp_path_factory, parts):
    path = tmp_path_factory.mktemp("lessons") / "fuzz.toml"
    path.write_text("".join(parts), encoding="utf-8")
    try:
        load(path)
    except LessonError as exc:
        assert exc.origin is not None and Path(exc.origin.filename).name == "fuzz.toml", exc
    except ScenarioError:
        pass  # the scenario's own error (none of these texts names a file that breaks)


# ---------------------------------------------------------------- numpy's warnings
def test_numpys_floating_point_warnings_are_one_line_of_ours(tmp_path):
    path = lesson(tmp_path, 'scenario = "sigmoid-chain"\n[values]\nx = 1e308\n')
    done = subprocess.run([*CLI, "check", path], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "RuntimeWarning" not in done.stderr and "numpy" in one_line(done.stderr)
    assert one_line(done.stderr).startswith("backprop-tui: warning: numpy met ")


def test_other_warnings_of_a_scenario_still_reach_stderr(tmp_path):
    path = tmp_path / "warns.py"
    path.write_text(
        textwrap.dedent(
            """
            import warnings
            from tui_backprop import ops

            def build(g, bug=None):
                warnings.warn("the author's own warning")
                return ops.sum(ops.square(g.input("x", [1.0, -2.0]), name="sq"), name="L")
            """
        )
    )
    done = subprocess.run([*CLI, "check", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "the author's own warning" in done.stderr


# ---------------------------------------------------------------- a Ctrl-C the scenario swallows
SWALLOWS = """
import sys, time
import numpy as np
from tui_backprop import custom_op, ops

calls = 0

def forward(x):
    global calls
    try:
        calls += 1
        if calls == 70:  # past the trace's own 60 forwards: the check is probing
            print("checking", file=sys.stderr, flush=True)
        time.sleep(0.05)
    except KeyboardInterrupt:
        pass  # the author's code eats the interrupt
    return np.tanh(x)


slow = custom_op("slow", forward, lambda u, out, x: u * (1 - out**2))

def build(g, bug=None):
    x = g.input("x", [0.5, -0.25])
    for k in range(60):
        x = slow(x, name=f"t{k}")
    return ops.sum(x, name="L")
"""


def test_one_ctrl_c_ends_the_check_with_130_even_when_the_scenario_swallows_it(tmp_path):
    path = tmp_path / "swallows.py"
    path.write_text(SWALLOWS)
    proc = subprocess.Popen(
        [*CLI, "check", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stderr.readline().strip() == "checking"  # the check is probing its forwards
        proc.send_signal(signal.SIGINT)  # once: the forward swallows it, the check must still stop
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert out == "" and err.strip() == "backprop-tui: interrupted"


# ---------------------------------------------------------------- names that would break every view
UNPRINTABLE_NAMES = {
    "a line break in a leaf's name": ("g.param('w\\nw', 3.0)", "the node name 'w\\nw'"),
    "a heading in an op node's name": (
        "ops.mul(x, x, name='a\\n### injected')",
        "the node name 'a\\n### injected'",
    ),
    "an escape sequence in a name": ("ops.square(x, name='\\x1b[31msq')", "the node name '\\x1b[31msq'"),
    "a line break in an op's name": ("custom_op('s\\nq', np.sin, np.cos)(x)", "the op name 's\\nq'"),
    "a line break in a formula": (
        "custom_op('sq', np.sin, np.cos, '{out} = sin({0})\\n# x')(x)",
        "the formula '{out} = sin({0})\\n# x' of op 'sq'",
    ),
}


@pytest.mark.parametrize("case", sorted(UNPRINTABLE_NAMES))
def test_a_name_with_a_control_character_is_refused_on_its_line(tmp_path, capsys, case):
    made, named = UNPRINTABLE_NAMES[case]
    path = tmp_path / "names.py"
    path.write_text(
        "import numpy as np\nfrom tui_backprop import custom_op, ops\n\n"
        "def build(g, bug=None):\n"
        "    x = g.input('x', 2.0)\n"
        f"    y = {made}\n"
        "    return ops.sum(y, name='L')\n"
    )
    for argv in (["check", str(path)], ["trace", str(path), "--format", "markdown"]):
        code, out, err = run_cli(capsys, *argv)
        assert code == 2 and out == "" and "\x1b" not in err
        assert one_line(err).endswith(
            f"names.py:6: could not build the graph: GraphError: {named} holds a control character "
            "(a line break, a tab, an escape): every view shows a name on one line"
        )


def test_a_node_name_longer_than_every_view_shows_is_refused_on_its_line(tmp_path, capsys):
    path = tmp_path / "long.py"
    source = "from tui_backprop import ops\n\ndef build(g, bug=None):\n    x = g.input({name!r}, 2.0)\n"
    path.write_text(source.format(name="x" * 80) + "    return ops.square(x, name='L')\n")
    assert run_cli(capsys, "check", str(path))[0] == 0
    path.write_text(source.format(name="x" * 81) + "    return ops.square(x, name='L')\n")
    code, out, err = run_cli(capsys, "check", str(path))
    assert code == 2 and out == ""
    assert one_line(err).endswith(
        "long.py:4: could not build the graph: GraphError: the node name 'xxxxxxxxxxxxxxxxxxxx'… "
        "has 81 characters: at most 80, so that every view shows it whole"
    )


SCENARIO_TEXTS = {
    "TITLE": ('TITLE = "Bad\\n# title"', "TITLE 'Bad\\n# title' holds a control character (a line break"),
    "a bug name": ('BUGS = {"b\\x1b[2Jug": "flips"}', "a bug name 'b\\x1b[2Jug' holds a control character"),
    "BUGS": ('BUGS = {"bug": "\\x1b[31mred"}', "BUGS '\\x1b[31mred' holds a control character"),
    "DESCRIPTION": ('DESCRIPTION = "a\\tb"', "DESCRIPTION 'a\\tb' holds a control character (a tab"),
}


@pytest.mark.parametrize("case", sorted(SCENARIO_TEXTS))
def test_a_title_or_bug_with_a_control_character_is_refused_in_one_line(tmp_path, capsys, case):
    assignment, said = SCENARIO_TEXTS[case]
    path = tmp_path / "texts.py"
    path.write_text(
        f'"""Title\n\nA description\nover two lines."""\nfrom tui_backprop import ops\n{assignment}\n\n'
        "def build(g, bug=None):\n    return ops.sum(ops.square(g.input('x', [1.0, 2.0])), name='L')\n"
    )
    code, out, err = run_cli(capsys, "check", str(path))
    assert code == 2 and out == "" and "\x1b" not in err
    assert f"texts.py:1: {said}" in one_line(err)


def test_a_description_over_several_lines_is_kept(tmp_path, capsys):
    path = tmp_path / "texts.py"
    path.write_text(
        'DESCRIPTION = "first line\\nsecond line"\nfrom tui_backprop import ops\n\n'
        "def build(g, bug=None):\n    return ops.sum(ops.square(g.input('x', [1.0, 2.0])), name='L')\n"
    )
    assert run_cli(capsys, "check", str(path))[0] == 0


# ---------------------------------------------------------------- one rule for errors under --json
def test_a_scenario_that_cannot_run_is_an_entry_in_the_json_a_usage_error_prints_nothing(capsys):
    code, out, err = run_cli(capsys, "check", "no-such", "--json")
    assert code == 2 and json.loads(out)[0]["error"].startswith("unknown scenario 'no-such'")
    assert one_line(err).startswith("backprop-tui: error: unknown scenario")
    code, out, err = run_cli(capsys, "trace", "no-such")
    assert code == 2 and json.loads(out)["error"].startswith("unknown scenario 'no-such'")
    assert one_line(err).startswith("backprop-tui: error: unknown scenario")
    code, out, err = run_cli(capsys, "trace", "no-such", "--format", "markdown")
    assert code == 2 and out == ""
    for argv in (["check", "sigmoid-chain", "--json", "--eps", "nan"], ["check", "--json", "--nope"]):
        code, out, err = run_cli(capsys, *argv)
        assert code == 2 and out == "" and one_line(err).startswith("backprop-tui check: ")
