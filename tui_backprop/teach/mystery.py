"""Mystery-bug mode: a room that cannot read the answer off the screen (README: "Teaching with it").

With the mode on, a scenario's bugs are "bug 1", "bug 2" (their order in ``BUGS``), with no name and
no description, wherever a bug is shown: ``list``, ``check`` and ``trace`` (text and JSON), the
handout, and every screen of the app. Every view asks :func:`bug_label` and :func:`bug_description`
rather than reading ``scenario.bugs`` itself, so none can leak a name by accident. A bug may be
switched on by its public label too (``--bug 2`` or ``--bug "bug 2"``), so even the command a
lecturer types on the projector says nothing.
"""

from __future__ import annotations

from tui_backprop.core.errors import ScenarioError
from tui_backprop.core.scenarios import Scenario

PREFIX = "bug"


def bug_number(scenario: Scenario, bug: str) -> int:
    """The bug's place in the scenario's ``BUGS``, counted from 1."""
    return list(scenario.bugs).index(bug) + 1


def bug_label(scenario: Scenario, bug: str | None, mystery: bool) -> str | None:
    """What a view may call the bug: its name, or ``bug N`` in mystery mode (None: no bug on)."""
    if bug is None:
        return None
    if mystery and bug in scenario.bugs:
        return f"{PREFIX} {bug_number(scenario, bug)}"
    return bug


def bug_description(scenario: Scenario, bug: str | None, mystery: bool) -> str:
    """What a view may say the bug does: its one-line description, nothing in mystery mode."""
    if bug is None or mystery:
        return ""
    return scenario.bugs.get(bug, "")


def public_bugs(scenario: Scenario, mystery: bool) -> list[tuple[str, str]]:
    """Every bug of the scenario as (label, description), in ``BUGS`` order: for lists and pickers."""
    return [
        (bug_label(scenario, b, mystery) or b, bug_description(scenario, b, mystery)) for b in scenario.bugs
    ]


def resolve_bug(scenario: Scenario, text: str | None, mystery: bool = False) -> str | None:
    """The bug's name from what was typed: a name, ``bug N`` or ``N`` (1-based, in ``BUGS`` order).

    Raises ``ScenarioError`` for anything else, listing the bugs as the mode may show them.
    """
    if text is None or text == "":
        return None
    if text in scenario.bugs:
        return text
    words = text.split()
    number = words[-1] if len(words) == 2 and words[0].lower() == PREFIX else text.strip()
    if number.isdigit() and 1 <= int(number) <= len(scenario.bugs):
        return list(scenario.bugs)[int(number) - 1]
    known = ", ".join(label for label, _ in public_bugs(scenario, mystery)) or "none"
    raise ScenarioError(f"{scenario.slug} has no bug named {text!r} (its bugs: {known})")
