"""Mystery-bug mode: no bug name or description in any output that is asked for mystery."""

from __future__ import annotations

import json

import pytest

from tui_backprop.cli.main import main
from tui_backprop.core import scenarios
from tui_backprop.core.errors import ScenarioError
from tui_backprop.teach.lesson import Lesson, dumps
from tui_backprop.teach.lesson import load as load_lesson
from tui_backprop.teach.mystery import bug_description, bug_label, public_bugs, resolve_bug

SIGMOID = scenarios.load("sigmoid-chain")
SECRETS = [text for s in scenarios.builtins() for name, desc in s.bugs.items() for text in (name, desc)]


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


def test_the_public_label_is_the_bugs_number_and_says_nothing_else():
    assert bug_label(SIGMOID, "exp-uses-input", mystery=True) == "bug 2"
    assert bug_label(SIGMOID, "exp-uses-input", mystery=False) == "exp-uses-input"
    assert bug_description(SIGMOID, "exp-uses-input", mystery=True) == ""
    assert public_bugs(SIGMOID, True) == [("bug 1", ""), ("bug 2", "")]
    assert bug_label(SIGMOID, None, True) is None


def test_a_bug_is_switched_on_by_name_or_number():
    assert resolve_bug(SIGMOID, "bug 2") == resolve_bug(SIGMOID, "2") == "exp-uses-input"
    assert resolve_bug(SIGMOID, "reciprocal-sign") == "reciprocal-sign"
    with pytest.raises(ScenarioError) as caught:
        resolve_bug(SIGMOID, "3", mystery=True)
    assert "bug 1, bug 2" in str(caught.value)
    assert_no_secret(str(caught.value))


def test_list_mystery_names_no_bug(capsys):
    assert main(["list", "--mystery"]) == 0
    out = capsys.readouterr().out
    assert "bug 1" in out
    assert_no_secret(out)
    assert main(["list", "--mystery", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["bugs"] == [{"name": "bug 1", "description": ""}, {"name": "bug 2", "description": ""}]


@pytest.mark.parametrize(
    "fmt", [["check"], ["check", "--json"], ["trace"], ["trace", "--format", "markdown"]]
)
def test_check_and_trace_in_mystery_mode_blame_the_node_but_never_name_the_bug(fmt, capsys):
    command, *rest = fmt
    assert main([command, "sigmoid-chain", "--bug", "2", "--mystery", *rest]) == 1
    out = capsys.readouterr().out
    assert "bug 2" in out and ("blamed" in out or '"blame"' in out)
    assert_no_secret(out)


def test_json_says_mystery_and_the_label(capsys):
    assert main(["trace", "sigmoid-chain", "--bug", "reciprocal-sign", "--mystery"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert (payload["bug"], payload["mystery"], payload["blame"]) == ("bug 1", True, ["f"])


def test_a_mystery_lesson_hides_its_bug_and_may_name_it_by_number(tmp_path, capsys):
    path = tmp_path / "mystery.toml"
    path.write_text('scenario = "sigmoid-chain"\nbug = "bug 2"\nmystery = true\n')
    lesson, _, _ = load_lesson(path)
    assert (lesson.bug, lesson.mystery) == ("exp-uses-input", True)
    assert "mystery = true" in dumps(Lesson("sigmoid-chain", mystery=True))
    assert main(["trace", str(path), "--format", "markdown"]) == 1
    out = capsys.readouterr().out
    assert "`bug 2`" in out
    assert_no_secret(out)


def test_open_app_is_handed_mystery(monkeypatch):
    seen = []

    def open_app(*args):
        seen.append(args)
        return 0

    monkeypatch.setenv("TEXTUAL_DRIVER", "headless-test")  # pass the terminal check: nothing is drawn
    assert main(["sigmoid-chain", "--mystery"], open_app=open_app) == 0
    assert seen == [("sigmoid-chain", None, "float64", False, None, True)]
