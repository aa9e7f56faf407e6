"""README stays true: its example scenario runs as written, and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

from tui_backprop.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_readme_scenario_example_passes_and_its_bug_is_blamed(tmp_path, capsys):
    (example,) = [b for b in python_blocks() if "def build" in b and "layers" not in b and "interop" not in b]
    path = tmp_path / "tiny.py"
    path.write_text(example)
    assert main(["check", str(path)]) == 0
    assert main(["check", str(path), "--bug", "square-missing-2"]) == 1
    assert "blamed: L" in capsys.readouterr().out


def test_readme_layer_example_blames_the_wrong_sigmoid(tmp_path, capsys):
    (example,) = [b for b in python_blocks() if "from tui_backprop.layers import" in b]
    path = tmp_path / "my_net.py"
    path.write_text(example)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "blamed: sigmoid" in out
    assert out.count("blamed:") == 1
    fixed = tmp_path / "my_net_fixed.py"
    fixed.write_text(example.replace("return dy * self.out  #", "return dy * self.out * (1 - self.out)  #"))
    assert main(["check", str(fixed)]) == 0


def test_ci_runs_the_test_command_readme_gives():
    command = re.search(r"\*\*Set up and run the tests\*\*:\n\n    (.+)\n", README).group(1)
    assert command in (ROOT / ".ci" / "run").read_text()


def test_check_help_names_every_exit_code_of_readmes_table(capsys):
    """Graders read ``check --help``: each code of README's exit-code table is there (3, incomplete,
    was missing: a grader could take it for a crash)."""
    table = re.search(r"Exit codes \(for CI and graders\):\n\n(.*?)\n\n", README, flags=re.S)
    assert table is not None
    codes = re.findall(r"^\| (\d) \| ", table.group(1), flags=re.M)
    assert codes == ["0", "1", "2", "3"]
    main(["check", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for words in ("Exit 0 every", "1 a mismatch", "2 a scenario", "3 incomplete"):
        assert words in text, words
