"""The CLI against hostile input: scenario files, paths, settings and terminals written to break it.

The contract (README, "Command line"): exit 0 all ok, 1 a mismatch or non-finite value, 2 bad usage or
a scenario that cannot be loaded, built or run with one line naming the file and line, 130 after a
real Ctrl-C; never a traceback, never a false PASS. Each class of bad input has a test of its own;
most run ``main`` in-process, the ones about the process itself (exit status, file descriptors,
signals, encodings, pipes) run it as a subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from plugin_support import install_plugins

from tui_backprop.check.gradcheck import CheckSettings, check
from tui_backprop.cli.main import PLUGIN_GROUP, main
from tui_backprop.core import scenarios
from tui_backprop.teach.handout import trace_markdown

CLI = [sys.executable, "-m", "tui_backprop"]
OK_BUILD = """
from tui_backprop import ops

def build(g, bug=None):
    x = g.input("x", [1.0, -2.0])
    return ops.sum(ops.square(x, name="sq"), name="L")
"""


def write(tmp_path: Path, name: str, source: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return str(path)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    """The one line the contract promises on stderr for exit 2."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def spawn(*argv: str, cwd: Path | None = None, env: dict[str, str] | None = None, **kw):
    return subprocess.run([*CLI, *argv], capture_output=True, text=True, timeout=60, cwd=cwd, env=env, **kw)


# ---------------------------------------------------------------- sys.exit / KeyboardInterrupt
ABORTS = {
    "sys.exit(0) at import": (
        "import sys\nsys.exit(0)\n",
        2,
        ":2: importing the scenario failed: SystemExit",
    ),
    "exit() at import": ("exit(3)\n", 2, ":1: importing the scenario failed: SystemExit: 3"),
    "KeyboardInterrupt at import": (
        "raise KeyboardInterrupt\n",
        2,
        ":1: importing the scenario failed: KeyboardInterrupt",
    ),
    "SystemExit in build": (
        "import sys\ndef build(g, bug=None):\n    sys.exit('bye')\n",
        2,
        ":3: build() failed: SystemExit: bye",
    ),
    "sys.exit in a forward": (
        "import sys\nfrom tui_backprop import ops, custom_op\n"
        "def fwd(x):\n    sys.exit(0)\n"
        "op = custom_op('quit', fwd, lambda u, out, x: u)\n"
        "def build(g, bug=None):\n    return ops.sum(op(g.input('x', [1.0]), name='q'), name='L')\n",
        2,
        ":4: forward of node 'q' (quit) on x[1] failed: SystemExit: 0",
    ),
    "KeyboardInterrupt in a forward": (
        "from tui_backprop import ops, custom_op\n"
        "def fwd(x):\n    raise KeyboardInterrupt\n"
        "op = custom_op('stop', fwd, lambda u, out, x: u)\n"
        "def build(g, bug=None):\n    return ops.sum(op(g.input('x', [1.0]), name='q'), name='L')\n",
        2,
        ":3: forward of node 'q' (stop) on x[1] failed: KeyboardInterrupt",
    ),
    "sys.exit in the check's probes": (
        "import sys\nimport numpy as np\nfrom tui_backprop import ops, custom_op\n"
        "calls = []\n"
        "def fwd(x):\n    calls.append(1)\n    if len(calls) > 1:\n        sys.exit(0)\n"
        "    return np.tanh(x)\n"
        "op = custom_op('once', fwd, lambda u, out, x: u * (1 - out**2))\n"
        "def build(g, bug=None):\n    return ops.sum(op(g.input('x', [1.0]), name='q'), name='L')\n",
        2,
        ":8: ",
    ),
}


@pytest.mark.parametrize("case", sorted(ABORTS))
def test_user_code_that_exits_or_interrupts_is_an_error_naming_its_line(tmp_path, capsys, case):
    source, expected_code, expected = ABORTS[case]
    path = write(tmp_path, "quitter.py", source)
    code, out, err = run_cli(capsys, "check", path)
    assert code == expected_code
    line = one_error_line(err)
    assert f"quitter.py{expected}" in line, line
    assert "PASS" not in out


def test_sys_exit_in_a_backward_is_that_nodes_failure_and_blamed(tmp_path, capsys):
    path = write(
        tmp_path,
        "quitter.py",
        """
        import sys
        from tui_backprop import custom_op, ops

        def back(u, out, x):
            sys.exit(0)

        op = custom_op("quit", lambda x: 2 * x, back)

        def build(g, bug=None):
            return ops.sum(op(g.input("x", [1.0]), name="q"), name="L")
        """,
    )
    code, out, _ = run_cli(capsys, "check", path, "--json")
    (doc,) = json.loads(out)
    assert code == 1
    assert doc["blame"] == ["q"]
    q = next(n for n in doc["nodes"] if n["name"] == "q")
    assert q["local_check"]["error"] == "SystemExit: 0"
    assert q["local_check"]["origin"].endswith("quitter.py:6")


def test_a_process_whose_scenario_exits_0_at_import_does_not_read_as_a_pass(tmp_path):
    path = write(tmp_path, "quitter.py", "import sys\nprint('bye')\nsys.exit(0)\n")
    done = spawn("check", path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines()[-1].endswith("quitter.py:3: importing the scenario failed: SystemExit: 0")


def test_atexit_hooks_and_endless_threads_of_a_scenario_change_neither_verdict_nor_exit(tmp_path):
    path = write(
        tmp_path,
        "sneaky.py",
        """
        import atexit, os, threading, time
        from tui_backprop import ops

        atexit.register(lambda: os._exit(0))
        threading.Thread(target=lambda: time.sleep(3600)).start()  # not a daemon: would block exit

        def build(g, bug=None):
            x = g.input("x", [1.0, -2.0])
            wrong = ops.square.with_backward(lambda u, out, x: u * x)  # the 2 forgotten
            return ops.sum(wrong(x, name="sq"), name="L")
        """,
    )
    done = spawn("check", path)
    assert done.returncode == 1
    assert "blamed: sq" in done.stdout


def test_os_exit_and_exec_from_a_scenario_are_refused_not_obeyed(tmp_path):
    # A subprocess: were the guard broken, os._exit(0) in-process would end pytest itself with 0.
    exits = write(
        tmp_path,
        "exits.py",
        """
        import os
        from tui_backprop import custom_op, ops

        def fwd(x):
            os._exit(0)

        def build(g, bug=None):
            return ops.sum(custom_op("q", fwd, lambda u, out, x: u)(g.input("x", [1.0]), name="q"), name="L")
        """,
    )
    execs = write(tmp_path, "execs.py", "import os\nos.execv('/bin/true', ['true'])\n")
    done = spawn("check", exits, execs)
    assert done.returncode == 2 and done.stdout == ""
    first, second = done.stderr.strip().splitlines()
    assert "exits.py:6: forward of node 'q' (q) on x[1] failed: ExitCalled: os._exit(0)" in first
    assert "execs.py:2: importing the scenario failed: ExitCalled: os.execv('/bin/true'" in second


def test_a_recursion_limit_lowered_at_import_does_not_break_the_check(tmp_path, capsys):
    path = write(tmp_path, "shallow.py", "import sys\nsys.setrecursionlimit(60)\n" + OK_BUILD)
    code, out, _ = run_cli(capsys, "check", path, "--json")
    assert code == 0 and json.loads(out)[0]["status"] == "pass"


def test_a_scenario_that_replaces_stderr_still_gets_its_one_line(tmp_path, capsys):
    path = write(
        tmp_path, "mute.py", "import io, sys\nsys.stderr = io.StringIO()\nraise ValueError('loud')\n"
    )
    code, _, err = run_cli(capsys, "check", path)
    assert code == 2 and "mute.py:3: importing the scenario failed: ValueError: loud" in one_error_line(err)


# ---------------------------------------------------------------- Ctrl-C
LOOPS = {
    "endless build": "while True:\n        pass",
    "endless build that swallows Ctrl-C": (
        "while True:\n        try:\n            while True:\n                pass\n"
        "        except KeyboardInterrupt:\n            pass"
    ),
}


@pytest.mark.parametrize("case", sorted(LOOPS))
def test_ctrl_c_on_a_scenario_that_never_returns_exits_130_with_one_line(tmp_path, case):
    path = tmp_path / "forever.py"
    path.write_text(
        "import sys\n"
        "def build(g, bug=None):\n"
        "    print('building', file=sys.stderr, flush=True)\n"
        f"    {LOOPS[case]}\n"
    )
    proc = subprocess.Popen(
        [*CLI, "check", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stderr.readline().strip() == "building"  # waits for the event, not a clock
        presses = 2 if "swallows" in case else 1
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
            if presses > 1:
                try:
                    proc.wait(timeout=0.5)  # the second press is only needed when the first is eaten
                except subprocess.TimeoutExpired:
                    continue
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert out == ""
    assert err.strip() == "backprop-tui: interrupted"


# ---------------------------------------------------------------- stdout stays ours
CHATTY = """
import os, sys, io
import numpy as np
from tui_backprop import custom_op, ops

print("at import")
os.write(1, b"fd-level junk\\n")
os.system("echo from a shell")
read = sys.stdin.read()
sys.stdout = io.StringIO()  # replaced for good: our JSON must still arrive

def fwd(x):
    print("in forward")
    return np.tanh(x)

def back(u, out, x):
    print("in backward", file=sys.__stdout__)
    return u * (1 - out**2)

def build(g, bug=None):
    sys.stdout = sys.__stdout__
    print("in build", read == "")
    x = g.input("x", [0.5, -1.0])
    return ops.sum(custom_op("t", fwd, back)(x, name="t"), name="L")
"""


@pytest.mark.parametrize("argv", [["check", "--json"], ["trace", "--format", "json"]])
def test_a_scenario_that_prints_reads_stdin_and_replaces_stdout_cannot_corrupt_the_json(tmp_path, argv):
    path = write(tmp_path, "chatty.py", CHATTY)
    done = subprocess.run(
        [*CLI, argv[0], path, *argv[1:]], capture_output=True, text=True, timeout=60, input="secret\n"
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc[0] if isinstance(doc, list) else doc)["status"] == "pass"
    for said in ["at import", "fd-level junk", "from a shell", "in build True", "in forward", "in backward"]:
        assert said in done.stderr


def test_a_scenario_thread_that_keeps_printing_cannot_reach_stdout_after_the_json(tmp_path):
    path = write(
        tmp_path,
        "ticker.py",
        """
        import os, sys, threading
        from tui_backprop import ops

        def tick():
            while True:
                print("tick")
                os.write(1, b"tock\\n")

        threading.Thread(target=tick, daemon=True).start()

        def build(g, bug=None):
            return ops.sum(ops.square(g.input("x", [1.0, 2.0]), name="sq"), name="L")
        """,
    )
    done = spawn("check", path, "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout)[0]["status"] == "pass"
    assert "tick" in done.stderr and "tock" in done.stderr


def test_input_from_a_scenario_reads_an_empty_stdin_and_fails_on_its_line(tmp_path, capsys):
    path = write(tmp_path, "asks.py", "answer = input('eps? ')\n")
    code, out, err = run_cli(capsys, "check", path, "--json")
    assert code == 2
    assert err.strip().endswith("asks.py:1: importing the scenario failed: EOFError: EOF when reading a line")
    (doc,) = json.loads(out)
    assert doc["error"].startswith("importing the scenario failed: EOFError")


# ---------------------------------------------------------------- Rich markup printed literally
MARKUP = '''
"""[bold]Title[/] with [/]

[red]description[/red] and [link=http://x]a link[/link] :smile:
"""
import numpy as np
from tui_backprop import custom_op, ops

BUGS = {"[/]": "[bold red]not markup[/]"}

def build(g, bug=None):
    x = g.input("[/]x", [1.0, 2.0])
    back = (lambda u, out, x: u) if bug else (lambda u, out, x: u * np.cos(x))
    op = custom_op("[magenta]op", np.sin, back, "{out} = [i]sin[/i]({0})")
    return ops.sum(op(x, name="[b]y[/b]"), name="L[/]")
'''


def test_markup_in_every_user_string_is_printed_literally(tmp_path, capsys):
    path = write(tmp_path, "markup.py", MARKUP)
    code, out, err = run_cli(capsys, "check", path)
    assert (code, err) == (0, "")
    for literal in ["[bold]Title[/] with [/]", "[/]x", "[magenta]op", "[b]y[/b]", "L[/]"]:
        assert literal in out
    code, out, err = run_cli(capsys, "check", path, "--bug", "[/]")
    assert code == 1 and "✗ blamed: [b]y[/b]" in out and "bug: [/]" in out
    assert "{out} = [i]sin[/i]" not in out and "[b]y[/b] = [i]sin[/i]([/]x)" in out


def test_markup_in_list_and_in_error_messages_is_printed_literally(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, "markup.py", MARKUP)
    plugin = install_plugins(tmp_path, monkeypatch, {"[red]odd": "markup_plugin"}, {"markup_plugin": MARKUP})
    assert plugin
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    assert "[bold]Title[/] with [/]" in out and "[bold red]not markup[/]" in out and ":smile:" in out
    boom = write(tmp_path, "boom.py", "def build(g, bug=None):\n    raise ValueError('[/] [bold]boom')\n")
    code, _, err = run_cli(capsys, "check", boom)
    assert code == 2 and "ValueError: [/] [bold]boom" in one_error_line(err)
    assert run_cli(capsys, "check", path)[0] == 0


def test_terminal_control_characters_in_a_message_cannot_reach_the_terminal(tmp_path, capsys):
    path = write(
        tmp_path, "escape.py", "def build(g, bug=None):\n    raise ValueError('\\x1b[2J\\x07gone')\n"
    )
    code, _, err = run_cli(capsys, "check", path)
    line = one_error_line(err)
    assert code == 2 and "\x1b" not in line and "\x07" not in line and "\\x1b[2J\\x07gone" in line


# ---------------------------------------------------------------- settings
@pytest.mark.parametrize(
    "argv",
    [
        ["--eps", "inf"],
        ["--eps", "1e400"],
        ["--eps", "nan"],
        ["--eps", "0"],
        ["--eps", "-1e-6"],
        ["--eps", "2"],
        ["--eps", "1e-9", "--dtype", "float32"],
        ["--eps", "1e-17"],
        ["--atol", "inf"],
        ["--atol", "nan"],
        ["--atol", "-1"],
        ["--rtol", "nan"],
        ["--rtol", "-0.1"],
        ["--rtol", "1"],
        ["--rtol", "1e300"],
        ["--sample", "0"],
        ["--sample", "-3"],
        ["--sample", "1.5"],
        ["--eps", "x"],
    ],
)
def test_non_finite_or_out_of_range_settings_are_refused_in_one_line(capsys, argv):
    code, out, err = run_cli(capsys, "check", "sigmoid-chain", *argv)
    assert code == 2 and out == ""
    line = one_error_line(err)
    assert argv[0] in line


def test_settings_at_their_limits_still_run(capsys):
    code, out, _ = run_cli(
        capsys,
        "check",
        "sigmoid-chain",
        "--eps",
        "1e-4",
        "--rtol",
        "0",
        "--atol",
        "0",
        "--sample",
        "1",
        "--json",
    )
    (doc,) = json.loads(out)
    assert doc["settings"] == {"eps": 1e-4, "rtol": 0.0, "atol": 0.0, "sample": 1}
    assert code in (0, 1)


# ---------------------------------------------------------------- paths
def _special_paths(tmp_path: Path) -> dict[str, tuple[str, str]]:
    loop = tmp_path / "loop.py"
    os.symlink(tmp_path / "loop2.py", loop)
    os.symlink(loop, tmp_path / "loop2.py")
    folder = tmp_path / "folder.py"
    folder.mkdir()
    binary = tmp_path / "binary.py"
    binary.write_bytes(b"x = 1\n\x00\x01\x02")
    latin = tmp_path / "latin.py"
    latin.write_bytes(b"x = 1\ntitle = '\xe9t\xe9'\n")
    bare = tmp_path / "scenario"
    bare.write_text(OK_BUILD)
    sock_path = tmp_path / "s.py"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock_path))
    return {
        "symlink loop": (str(loop), "a symlink loop"),
        "name too long": (str(tmp_path / ("n" * 300 + ".py")), "too long"),
        "path too long": ("/" + "/".join(["d" * 200] * 30) + "/x.py", "too long"),
        "directory": (str(folder), "is a directory"),
        "socket": (str(sock_path), "is a socket, not a regular file"),
        "device": ("/dev/null", "is a character device"),
        "binary": (str(binary), "binary.py:2: a binary file"),
        "not UTF-8": (str(latin), "latin.py:2: not utf-8 text"),
        "no .py suffix": (str(bare), "is not a .py file"),
        "missing": (str(tmp_path / "missing.py"), "no such scenario file"),
        "NUL in the path": ("a\x00b.py", "not a usable path"),
    }


def test_special_paths_are_refused_at_once_in_one_line(tmp_path, capsys):
    for case, (path, expected) in _special_paths(tmp_path).items():
        for argv in (["check", path], ["trace", path], [path]):
            code, _, err = run_cli(capsys, *argv)
            assert code == 2, (case, argv)
            line = one_error_line(err)
            assert expected in line, (case, line)
            assert len(line) < 400, case


def test_a_fifo_named_like_a_scenario_or_a_lesson_is_refused_without_blocking(tmp_path):
    scenario, lesson = tmp_path / "x.py", tmp_path / "x.toml"
    os.mkfifo(scenario)
    os.mkfifo(lesson)
    done = spawn("check", str(scenario), str(lesson))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"backprop-tui: error: {scenario} is a FIFO (named pipe), not a regular file",
        f"backprop-tui: error: {lesson} is a FIFO (named pipe), not a regular file",
    ]


def test_a_slug_wins_over_a_folder_of_the_same_name(tmp_path, capsys, monkeypatch):
    (tmp_path / "softmax").mkdir()
    monkeypatch.chdir(tmp_path)
    assert run_cli(capsys, "check", "softmax")[0] == 0
    (tmp_path / "my-file").write_text(OK_BUILD)
    code, _, err = run_cli(capsys, "check", "my-file")
    assert code == 2 and "is not a .py file" in err


# ---------------------------------------------------------------- tensors
TENSORS = {
    "empty leaf": ("g.input('x', [])", "input 'x': the value has no elements (shape [0])"),
    "empty matrix leaf": (
        "g.param('x', np.zeros((3, 0)))",
        "param 'x': the value has no elements (shape [3, 0])",
    ),
    "complex leaf": ("g.input('x', [1 + 2j, 3.0])", "input 'x': the value is complex (complex128)"),
    "complex scalar": ("g.param('x', 1j)", "param 'x': the value is complex"),
    "object leaf": ("g.input('x', np.array([object()]))", "input 'x': the value has dtype object"),
    "string leaf": ("g.input('x', '1.5')", "input 'x': the value is a string"),
    "string array": ("g.input('x', np.array(['1', '2']))", "input 'x': the value has dtype <U1"),
    "ragged leaf": ("g.input('x', [[1.0], [1.0, 2.0]])", "input 'x': the value is not an array of numbers"),
    "None leaf": ("g.input('x', None)", "input 'x': the value has dtype object"),
    "node as value": ("g.input('x', g.input('y', 1.0))", "the value is a graph node"),
    "masked leaf": ("g.input('x', np.ma.masked_array([1.0, 2.0], [0, 1]))", "a masked array"),
    "datetime leaf": ("g.input('x', np.array(['2020-01-01'], dtype='datetime64[D]'))", "datetime64"),
    "dict leaf": ("g.input('x', {'a': 1.0})", "the value has dtype object"),
}


def test_python_numbers_beyond_int64_are_numbers(tmp_path, capsys):
    path = write(
        tmp_path,
        "big.py",
        "from fractions import Fraction\nfrom tui_backprop import ops\n\n"
        "def build(g, bug=None):\n"
        "    x = g.input('x', [2**70, Fraction(1, 2)])\n"
        "    return ops.sum(ops.scale(x, 1e-21, name='s'), name='L')\n",
    )
    code, out, _ = run_cli(capsys, "trace", path)
    assert code == 0
    assert json.loads(out)["nodes"][0]["value"] == [2.0**70, 0.5]


@pytest.mark.parametrize("case", sorted(TENSORS))
def test_leaves_that_cannot_be_checked_are_refused_naming_node_and_line(tmp_path, capsys, case):
    make, expected = TENSORS[case]
    source = (
        "import numpy as np\nfrom tui_backprop import ops\n\n"
        f"def build(g, bug=None):\n    x = {make}\n    return ops.sum(x, name='L')\n"
    )
    path = write(tmp_path, "tensors.py", source)
    code, out, err = run_cli(capsys, "check", path)
    assert code == 2 and "PASS" not in out
    line = one_error_line(err)
    assert "tensors.py:5: could not build the graph: GraphError: " in line and expected in line, line


FORWARDS = {
    "complex": ("x + 1j", "the forward result is complex (complex128)"),
    "object": ("np.array([object()] * x.size)", "the forward result has dtype object"),
    "None": ("None", "the forward result is None"),
    "empty": ("x[:0]", "the forward result has no elements (shape [0])"),
    "strings": ("np.array(['a'])", "the forward result has dtype <U1"),
    "ragged": ("[[1.0], [1.0, 2.0]]", "the forward result is not an array of numbers"),
}


@pytest.mark.parametrize("case", sorted(FORWARDS))
def test_an_op_whose_forward_returns_no_real_array_is_refused_naming_node_and_line(tmp_path, capsys, case):
    returned, expected = FORWARDS[case]
    source = (
        "import numpy as np\nfrom tui_backprop import ops, custom_op\n\n"
        f"bad = custom_op('bad', lambda x: {returned}, lambda u, out, x: u)\n\n"
        "def build(g, bug=None):\n    x = g.input('x', [1.0, 2.0])\n"
        "    y = bad(x, name='y')\n    return ops.sum(y, name='L')\n"
    )
    path = write(tmp_path, "forwards.py", source)
    code, out, err = run_cli(capsys, "trace", path)
    assert code == 2 and json.loads(out)["origin"].endswith("forwards.py:8")  # JSON's error entry
    line = one_error_line(err)
    assert "forwards.py:8: forward of node 'y' (bad)" in line and expected in line, line


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        ("u + 1j", "complex"),
        ("object()", "not one gradient per input"),
        ("([[1.0], [1.0, 2.0]],)", "not an array"),
    ],
)
def test_a_backward_that_returns_no_real_array_is_blamed(tmp_path, capsys, returned, expected):
    source = (
        "import numpy as np\nfrom tui_backprop import ops, custom_op\n\n"
        f"bad = custom_op('bad', lambda x: 2 * x, lambda u, out, x: {returned})\n\n"
        "def build(g, bug=None):\n    return ops.sum(bad(g.input('x', [1.0, 2.0]), name='y'), name='L')\n"
    )
    path = write(tmp_path, "backwards.py", source)
    code, out, _ = run_cli(capsys, "check", path, "--json")
    (doc,) = json.loads(out)
    assert code == 1 and doc["blame"] == ["y"]
    y = next(n for n in doc["nodes"] if n["name"] == "y")
    assert expected in y["local_check"]["error"]


# ---------------------------------------------------------------- words and terminals
def test_an_unknown_word_is_a_usage_error_but_a_slug_or_a_file_still_opens(tmp_path, capsys):
    code, out, err = run_cli(capsys, "frobnicate")
    assert code == 2 and out == ""
    assert "unknown command or scenario 'frobnicate'" in one_error_line(err)
    for argv in (["w" * 5000], ["check", "w" * 5000]):  # an over-long word: still one short line
        code, _, err = run_cli(capsys, *argv)
        assert code == 2 and len(one_error_line(err)) < 500
    assert run_cli(capsys, "check", "-h")[0] == 0  # help is not an error
    path = write(tmp_path, "ok.py", OK_BUILD)
    for word in ("sigmoid-chain", path):  # accepted, then refused only for want of a terminal
        code, _, err = run_cli(capsys, word)
        assert code == 2 and "the app needs a terminal" in one_error_line(err)


def test_the_app_never_starts_without_a_terminal():
    done = spawn("sigmoid-chain", stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert done.stdout == ""  # not one escape code
    assert "use 'backprop-tui check SCENARIO'" in one_error_line(done.stderr)


# ---------------------------------------------------------------- plugins
PLUGINS = {
    "good-plugin": "good_plugin",
    "broken-plugin": "broken_plugin",
    "exiting-plugin": "exiting_plugin",
    "empty-plugin": "empty_plugin",
    "softmax": "good_plugin",
}
PLUGIN_SOURCES = {
    "good_plugin": '"""A good plugin\n\nIt works."""\n' + OK_BUILD,
    "broken_plugin": "import no_such_module_at_all\n",
    "exiting_plugin": "import sys\nsys.exit(1)\n",
    "empty_plugin": '"""No build here."""\n',
}


def test_a_plugin_that_fails_is_reported_in_one_line_and_the_rest_still_work(tmp_path, capsys, monkeypatch):
    assert PLUGIN_GROUP == scenarios.ENTRY_POINT_GROUP
    install_plugins(tmp_path, monkeypatch, PLUGINS, PLUGIN_SOURCES)
    code, out, err = run_cli(capsys, "list", "--json")
    assert code == 0
    slugs = [entry["slug"] for entry in json.loads(out)]
    assert slugs == [
        "sigmoid-chain",
        "l1-mse",
        "two-layer-net",
        "softmax",
        "deep-mlp",
        "digits",
        "good-plugin",
    ]
    problems = err.strip().splitlines()
    assert len(problems) == 4 and "Traceback" not in err
    assert "'broken-plugin' (broken_plugin) failed to import: ModuleNotFoundError" in problems[0]
    assert "broken_plugin.py:1" in problems[0]
    assert "'exiting-plugin' (exiting_plugin) failed to import: SystemExit: 1" in problems[1]
    assert "'empty-plugin': not a scenario" in problems[2]
    assert "'softmax' has the name of another scenario" in problems[3]

    assert run_cli(capsys, "check", "good-plugin")[0] == 0
    assert run_cli(capsys, "trace", "good-plugin")[0] == 0
    code, out, err = run_cli(capsys, "check", "--json", "--sample", "3")
    assert code == 2  # a scenario that cannot load: not everything was checked
    entries = json.loads(out)
    # --sample 3 leaves the larger tensors' other elements unchecked: incomplete, never fail
    statuses = {e["scenario"]: e["status"] for e in entries if "status" in e}
    assert statuses["sigmoid-chain"] == "pass" and statuses["deep-mlp"] == "incomplete"
    assert set(statuses.values()) == {"pass", "incomplete"} and len(statuses) == 7
    failed = [e["scenario"] for e in entries if "error" in e]
    assert failed == ["broken-plugin", "exiting-plugin", "empty-plugin", "softmax"]


# ---------------------------------------------------------------- markdown
def table_cells(row: str) -> list[str]:
    """Cells of a GitHub-flavoured Markdown table row: split on pipes that are not escaped."""
    cells, cell, escaped = [], "", False
    for c in row.strip()[1:]:
        if c == "|" and not escaped:
            cells.append(cell)
            cell = ""
        else:
            cell += c
        escaped = c == "\\" and not escaped
    return cells


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every table of a Markdown document, as rows of cells (runs of lines that start with ``|``)."""
    tables: list[list[list[str]]] = []
    previous = False
    for line in text.splitlines():
        is_row = line.startswith("|")
        if is_row and not previous:
            tables.append([])
        if is_row:
            tables[-1].append(table_cells(line))
        previous = is_row
    return tables


def assert_well_formed(text: str, context: object = None) -> int:
    """Every row of every table has as many cells as its header; returns the number of tables."""
    tables = markdown_tables(text)
    for table in tables:
        header, separator, *rows = table
        assert set("".join(separator)) <= set("-: "), (context, separator)
        assert len(separator) == len(header), context
        for row in rows:
            assert len(row) == len(header), (context, header, row)
    return len(tables)


def test_markdown_tables_are_well_formed_for_every_builtin_bug_and_dtype():
    seen = 0
    for scenario in scenarios.builtins():
        for bug in [None, *scenario.bugs]:
            for dtype in ("float64", "float32"):
                trace = scenarios.trace_scenario(scenario, bug, dtype)
                settings = CheckSettings.for_dtype(dtype, sample=1)  # the tables' shape, not the check
                text = trace_markdown(scenario, bug, trace, check(trace, settings))
                node_table = markdown_tables(text)[0]
                assert len(node_table) == 2 + len(trace.graph.nodes)
                assert assert_well_formed(text, (scenario.slug, bug, dtype)) > 1
                seen += 1
    assert seen == 2 * (6 + 12)


def test_markdown_escapes_pipes_and_backticks_in_user_strings(tmp_path, capsys):
    path = write(
        tmp_path,
        "pipes.py",
        '''
        """Title | with a pipe"""
        from tui_backprop import custom_op, ops
        import numpy as np

        def build(g, bug=None):
            x = g.input("x|`y`", [1.0, 2.0])
            op = custom_op("norm", np.abs, lambda u, out, x: u * np.sign(x), "{out} = |{0}|")
            return ops.sum(op(x, name="a|b"), name="L")
        ''',
    )
    code, out, _ = run_cli(capsys, "trace", path, "--format", "markdown")
    assert code == 0
    assert [len(row) for row in markdown_tables(out)[0]] == [7] * 5
    assert assert_well_formed(out) > 1
    assert "`` x\\|`y` ``" in out  # the pipe escaped, the backticks fenced


# ---------------------------------------------------------------- odd code in odd places
ODD = {
    "formula template that does not format": (
        "import numpy as np\nfrom tui_backprop import ops, custom_op\n"
        "op = custom_op('weird', np.sin, lambda u, out, x: u * np.cos(x), '{out} = {0!z} {1.x} {')\n"
        "def build(g, bug=None):\n    return ops.sum(op(g.input('x', [1.0]), name='y'), name='L')\n",
        0,
        "",
    ),
    "op name that is not a string": (
        "import numpy as np\nfrom tui_backprop import ops, custom_op\n"
        "op = custom_op(5, np.sin, lambda u, out, x: u * np.cos(x))\n"
        "def build(g, bug=None):\n    return ops.sum(op(g.input('x', [1.0]), name='y'), name='L')\n",
        2,
        "odd.py:5: could not build the graph: GraphError: an op's name must be a non-empty string, not 5",
    ),
    "async build": (
        "async def build(g, bug=None):\n    return None\n",
        2,
        "odd.py:1: build() must return the output node of the graph it was given, not coroutine",
    ),
    "exception whose message cannot be printed": (
        "class E(Exception):\n    def __str__(self):\n        raise ValueError('no')\n"
        "def build(g, bug=None):\n    raise E()\n",
        2,
        "odd.py:5: build() failed: E: (its message could not be printed)",
    ),
    "a megabyte of message": (
        "def build(g, bug=None):\n    raise ValueError('x' * 1_000_000)\n",
        2,
        "odd.py:2: build() failed: ValueError: xxx",
    ),
    "TITLE that is not a string": (
        "TITLE = 5\ndef build(g, bug=None):\n    pass\n",
        2,
        "TITLE must be a string",
    ),
    "BUGS with a description that is not a string": (
        "BUGS = {'b': None}\ndef build(g, bug=None):\n    pass\n",
        2,
        "BUGS must be a dict of bug name to one-line description",
    ),
}


@pytest.mark.parametrize("case", sorted(ODD))
def test_odd_scenario_code_gets_an_answer_not_a_traceback(tmp_path, capsys, case):
    source, expected_code, expected = ODD[case]
    path = write(tmp_path, "odd.py", source)
    for argv in (["check", path], ["trace", path], ["trace", path, "--format", "markdown"]):
        code, _, err = run_cli(capsys, *argv)
        assert code == expected_code, (argv, err)
        if expected:
            line = one_error_line(err)
            assert expected in line and len(line) < 800, line
        else:
            assert err == ""


# ---------------------------------------------------------------- no traceback, whatever happens
def test_deep_recursion_and_memory_errors_in_user_code_are_one_line(tmp_path, capsys):
    deep = write(tmp_path, "deep.py", "def f(n):\n    return f(n + 1)\n\ndef build(g, bug=None):\n    f(0)\n")
    code, _, err = run_cli(capsys, "check", deep)
    assert code == 2 and "deep.py:2: build() failed: RecursionError" in one_error_line(err)
    hungry = write(tmp_path, "hungry.py", "def build(g, bug=None):\n    raise MemoryError\n")
    code, _, err = run_cli(capsys, "check", hungry)
    assert code == 2 and "hungry.py:2: build() failed: MemoryError" in one_error_line(err)


def test_an_ascii_only_stdout_gets_replacement_characters_not_a_traceback():
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LANG": "C", "LC_ALL": "C"}
    for argv in (["check", "l1-mse"], ["trace", "l1-mse", "--format", "markdown", "--bug", "mse-missing-2"]):
        done = spawn(*argv, env=env)
        assert "Traceback" not in done.stderr and done.stderr == "", done.stderr
        assert done.returncode == (0 if argv[0] == "check" else 1)
    done = spawn("list", "--json", env=env)
    assert done.returncode == 0 and json.loads(done.stdout)[0]["slug"] == "sigmoid-chain"


def test_closed_standard_streams_do_not_confuse_our_own_output():
    done = spawn("check", "sigmoid-chain", "--bug", "reciprocal-sign", preexec_fn=lambda: os.close(0))
    assert (done.returncode, done.stderr) == (1, "")
    assert "blamed: f" in done.stdout
    done = spawn("check", "sigmoid-chain", "--bug", "reciprocal-sign", preexec_fn=lambda: os.close(1))
    assert (done.returncode, done.stderr) == (1, "")


def test_a_reader_that_goes_away_ends_the_command_quietly():
    proc = subprocess.Popen([*CLI, "trace", "two-layer-net"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # as `| head` does once it has read enough: every write now fails
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert proc.returncode == 141
    assert err == b""


def test_check_of_a_correct_scenario_probes_every_element(tmp_path, capsys):
    path = write(tmp_path, "ok.py", OK_BUILD)
    code, out, _ = run_cli(capsys, "check", path, "--json")
    (doc,) = json.loads(out)
    assert code == 0 and doc["status"] == "pass"
    for node in doc["nodes"]:
        assert node["check"]["probed"] == int(np.prod(node["shape"])), node["name"]
