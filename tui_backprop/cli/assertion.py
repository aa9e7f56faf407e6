"""``assert_gradients_ok``: the check as a test assertion, for a project's own test suite.

It fails the way ``numpy.testing`` does: an ``AssertionError`` whose message says what is wrong in one
line (the blamed node, its formula, the diagnosis), then ``check``'s report: every node's status, the
elements that differ (README, "In your test suite"). A scenario that cannot be built raises its
``ScenarioError`` instead: an error in the test, not a failed assertion.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

from tui_backprop.core.scenarios import Scenario

ScenarioLike = Scenario | ModuleType | str | os.PathLike[str] | Callable[..., Any]


def assert_gradients_ok(
    scenario: ScenarioLike,
    *,
    bug: str | None = None,
    dtype: str = "float64",
    eps: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    exhaustive: bool = False,
    allow_incomplete: bool = False,
) -> None:
    """Check every gradient of ``scenario`` (a module, a path or slug, or a ``build(g, bug=None)``
    function) with one of its ``bug``s on, in ``dtype``; raise ``AssertionError`` unless it passes.

    ``eps``, ``rtol``, ``atol``: as for ``check`` (default: the dtype's). ``exhaustive``: every element
    one by one. ``allow_incomplete``: pass a check that found nothing wrong but could not judge
    every element (``check``'s exit 3).
    """
    from tui_backprop.check.export import trace_json
    from tui_backprop.check.gradcheck import CheckSettings, check
    from tui_backprop.cli.report import check_text, verdict_line
    from tui_backprop.core.scenarios import as_scenario, trace_scenario

    found = as_scenario(scenario)
    trace = trace_scenario(found, bug, dtype)
    settings = CheckSettings.for_dtype(dtype, eps=eps, rtol=rtol, atol=atol, exhaustive=exhaustive)
    result = check(trace, settings)
    entry = trace_json(found, bug, trace, result)
    if entry["status"] == "pass" or (allow_incomplete and entry["status"] == "incomplete"):
        return
    raise AssertionError(
        f"\nGradients of {found.slug} are not right: {verdict_line(entry)}\n\n"
        f"{check_text(found, bug, trace, result)}"
    )
