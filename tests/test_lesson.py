"""Lesson files: read exactly, refused with the file and line of what is wrong, saved and read back;
the Markdown handout of a scenario and of a lesson's bookmarked steps."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tui_backprop.cli.main import main
from tui_backprop.teach.lesson import Bookmark, Lesson, LessonError, dumps, load, save

FILES = Path(__file__).parent / "scenario_files"

GOOD = """\
# the sign bug, at x = 2.5
scenario = "sigmoid-chain"
bug = "reciprocal-sign"
start = "backward f"

[values]
x = 2.5

[[bookmarks]]
step = 7
note = "the sign of d(1/e)/de | is where it goes wrong"

[[bookmarks]]
step = "backward a"
note = "x gets w0 times the upstream"
"""


def write(tmp_path: Path, text: str, name: str = "lesson.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_lesson_is_read_exactly(tmp_path):
    lesson, scenario, trace = load(write(tmp_path, GOOD))
    assert (scenario.slug, lesson.bug, lesson.dtype, lesson.view) == (
        "sigmoid-chain",
        "reciprocal-sign",
        "float64",
        "debugger",
    )
    assert lesson.start == trace.backward_index["f"] == 6
    assert [b.step for b in lesson.bookmarks] == [6, 11]
    assert float(trace.values["x"]) == 2.5 and float(trace.values["a"]) == 7.5


BAD = [
    ("scenario = [1,\n", 1, "not valid TOML"),
    ('scenario = "sigmoid-chain"\ndtype = 64\n', 2, "dtype must be float64 or float32, not an integer"),
    ('scenario = "nope"\n', 1, "unknown scenario 'nope'"),
    ('scenario = "sigmoid-chain"\nbug = "zzz"\n', 2, "has no bug named 'zzz'"),
    ('scenario = "sigmoid-chain"\n\n[values]\nw0 = 1\nx = [1, 2]\n', 5, "values.x has shape [2]"),
    ('scenario = "sigmoid-chain"\n[values]\na = 1\n', 3, "a is computed by an op"),
    ('scenario = "sigmoid-chain"\n[values]\nx = "two"\n', 3, "must be a number"),
    (
        'scenario = "sigmoid-chain"\n[[bookmarks]]\nstep = 1\nnote = "a"\n'
        '[[bookmarks]]\nnote = "b"\nstep = 99\n',
        7,
        "bookmark 2: there is no step 99",
    ),
    ('scenario = "sigmoid-chain"\nstart = "backward zz"\n', 2, "no backward step for a node named 'zz'"),
    ('scenario = "sigmoid-chain"\nview = "3d"\n', 2, "view must be one of"),
    ('scenario = "sigmoid-chain"\nspeed = 2\n', 2, "unknown key 'speed'"),
    ('bug = "x"\n', 1, "names no scenario"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD)
def test_a_malformed_lesson_is_refused_naming_the_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, text)
    with pytest.raises(LessonError) as caught:
        load(path)
    assert caught.value.origin is not None and caught.value.origin.lineno == line
    assert Path(caught.value.origin.filename).name == "lesson.toml"
    assert message in caught.value.message


def test_the_cli_refuses_a_broken_lesson_with_exit_2_and_one_line(tmp_path, capsys):
    path = write(tmp_path, BAD[3][0])
    assert main(["trace", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(r"lesson\.toml:2: .*no bug named 'zzz'", err)


def test_a_saved_lesson_reads_back_the_same(tmp_path):
    scenario = str((FILES / "softplus_ok.py").resolve())
    lesson = Lesson(
        scenario,
        dtype="float32",
        start=2,
        quiz=True,
        values={"x": np.array([[0.1, -2.0, 1e-7]])},
        bookmarks=[Bookmark(1, 'say "why" \\ here'), Bookmark(3, "tab\tand ünïcode")],
    )
    (tmp_path / "softplus_ok.py").write_text((FILES / "softplus_ok.py").read_text())
    lesson.scenario = str(tmp_path / "softplus_ok.py")
    path = save(lesson, tmp_path / "saved")
    assert path.name == "saved.toml" and 'scenario = "softplus_ok.py"' in path.read_text()
    again, _, _ = load(path)
    assert again.scenario == lesson.scenario and again.dtype == "float32" and again.quiz
    assert again.start == 2 and again.bookmarks == lesson.bookmarks
    np.testing.assert_array_equal(again.values["x"], lesson.values["x"])
    assert dumps(again, tmp_path) == path.read_text()


def test_the_handout_works_every_step_out_in_well_formed_tables(capsys):
    assert main(["trace", "l1-mse", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "### Step 1 · forward · `pred = X @ W`" in out
    assert "`sq = diff²`" in out
    assert "| `W` |" in out  # abs_W = |W| sends W ... in a table row
    for line in out.splitlines():
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line)[1:-1]
            assert len(cells) in (5, 7), line
    assert "| `abs_W` | abs_W = \\|W\\| |" in out


def test_a_lessons_handout_keeps_to_its_bookmarks_with_their_notes(tmp_path, capsys):
    path = write(tmp_path, GOOD)
    assert main(["trace", str(path), "--format", "markdown"]) == 1  # the lesson's bug is on
    out = capsys.readouterr().out
    steps = re.findall(r"^### Step (\d+)", out, flags=re.M)
    assert steps == ["7", "12"]
    assert "> the sign of d(1/e)/de \\| is where it goes wrong" in out
    assert "- `x` = 2.5" in out
    assert "- `dL/dx += dL/da · ∂a/∂x = -0.02845 · 3 = -0.08536`" in out
    assert main(["trace", str(path)]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["bug"] == "reciprocal-sign" and payload["lesson"]["values"] == {"x": 2.5}
    assert main(["check", str(path), "--json"]) == 1
    (checked,) = json.loads(capsys.readouterr().out)
    assert checked["bug"] == "reciprocal-sign" and checked["blame"] == ["f"]
