"""Where a node was defined: the author's line (the built-ins' own files too), never ours or a thread's."""

from __future__ import annotations

import threading
from pathlib import Path

import tui_backprop
from tui_backprop.core import scenarios
from tui_backprop.core.graph import Graph

PACKAGE = Path(tui_backprop.__file__).resolve().parent


def _built_from(filename: str, in_thread: bool) -> Graph:
    """Build a one-leaf graph from code compiled as if it lived in ``filename``."""
    g = Graph()
    code = compile("g.input('x', 1.0)\n", filename, "exec")
    if in_thread:  # the app builds in a worker thread: the frame outside is threading.py's
        worker = threading.Thread(target=exec, args=(code, {"g": g}))
        worker.start()
        worker.join()
    else:
        exec(code, {"g": g})
    return g


def test_a_node_made_by_an_installed_builtin_points_at_the_builtin():
    # Installed, the built-ins live inside the package (tui_backprop/builtin/), in site-packages.
    fake = str(PACKAGE / "builtin" / "sigmoid_chain.py")
    g = _built_from(fake, in_thread=True)
    assert str(g["x"].origin) == f"{fake}:1"


def test_a_node_made_by_the_package_itself_in_a_thread_has_no_origin():
    g = _built_from(str(PACKAGE / "teach" / "not_a_scenario.py"), in_thread=True)
    assert g["x"].origin is None  # not threading.py:982


def test_every_builtin_node_points_into_its_scenario_file():
    for scenario in scenarios.builtins():
        graph, _ = scenarios.build(scenario)
        for node in graph.nodes:
            assert node.origin is not None and node.origin.filename == scenario.source, node.name
