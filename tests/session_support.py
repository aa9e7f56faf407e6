"""A Session over a built-in or a scenario file, with its check done: the view tests' one builder."""

from __future__ import annotations

from tui_backprop.app.model.session import Session
from tui_backprop.check.gradcheck import CheckSettings, iter_check
from tui_backprop.core import scenarios


def session_of(spec: str, bug: str | None = None, checked: bool = True) -> Session:
    """The session the app would hold once the check has finished (or before it starts)."""
    scenario = scenarios.load(spec)
    trace = scenarios.trace_scenario(scenario, bug)
    settings = CheckSettings.for_dtype("float64")
    session = Session(scenario, bug, "float64", trace, settings)
    if checked:
        for node_check in iter_check(trace, settings):
            session.record(node_check)
        session.check_complete = True
    return session
