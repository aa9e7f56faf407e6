"""``check --junit-xml FILE``: the check as JUnit XML, which CI servers read (GitLab, Jenkins, GitHub's
test reporters): one test case per scenario, each node's status among its properties, a failure whose
message is the blame and whose text is ``check``'s report (README, "In your test suite")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui_backprop.cli.report import verdict_line

SUITE = "backprop-tui check"


@dataclass(frozen=True)
class Case:
    """One scenario checked: passed, failed (``failure``: message and report) or not run (``error``)."""

    name: str
    seconds: float
    properties: list[tuple[str, str]] = field(default_factory=list)
    failure: tuple[str, str] | None = None
    error: str | None = None


def case_name(scenario: str, bug: str | None, dtype: str) -> str:
    return f"{scenario} [{f'bug {bug}, ' if bug else ''}{dtype}]"


def checked_case(entry: dict[str, Any], report: str, seconds: float) -> Case:
    """The case of one scenario's JSON trace (README, "Command line") and its text report."""
    properties = [("dtype", entry["dtype"]), ("bug", entry["bug"] or "")]
    blamed = set(entry["blame"])
    for node in entry["nodes"]:
        said = [node.get("check", {}).get("status", "")]
        if "local_check" in node:
            said.append(f"its backward {node['local_check']['status']}")
        if node["name"] in blamed:
            said.append("blamed")
        properties.append((f"node {node['name']}", ", ".join(said)))
    name = case_name(entry["scenario"], entry["bug"], entry["dtype"])
    if entry["status"] == "pass":
        return Case(name, seconds, properties)
    return Case(name, seconds, properties, failure=(verdict_line(entry), report))


def error_case(scenario: str, bug: str | None, dtype: str, message: str, seconds: float) -> Case:
    """A scenario that could not be loaded, built or run (exit 2)."""
    return Case(case_name(scenario, bug, dtype), seconds, error=message)


def junit_xml(cases: list[Case]) -> bytes:
    """The JUnit XML document of ``cases``, UTF-8."""
    failures = sum(1 for c in cases if c.failure)
    errors = sum(1 for c in cases if c.error)
    total = f"{sum(c.seconds for c in cases):.3f}"
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": str(errors), "time": total}
    import xml.etree.ElementTree as ET  # here: only --junit-xml pays for it

    root = ET.Element("testsuites", {"name": SUITE, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE, **counts})
    for case in cases:
        element = ET.SubElement(
            suite, "testcase", {"classname": SUITE, "name": _text(case.name), "time": f"{case.seconds:.3f}"}
        )
        if case.properties:
            held = ET.SubElement(element, "properties")
            for key, value in case.properties:
                ET.SubElement(held, "property", {"name": _text(key), "value": _text(value)})
        if case.failure:
            message, report = case.failure
            failure = ET.SubElement(
                element, "failure", {"message": _text(message), "type": "GradientCheckFailure"}
            )
            failure.text = _text(report)
        if case.error:
            ET.SubElement(element, "error", {"message": _text(case.error), "type": "ScenarioError"})
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _text(value: str) -> str:
    """Characters XML 1.0 cannot hold (control characters but tab and line breaks, surrogates, U+FFFE
    and U+FFFF) written as escapes."""
    return "".join(c if _allowed(c) else c.encode("unicode_escape").decode("ascii") for c in value)


def _allowed(c: str) -> bool:
    code = ord(c)
    return c in "\t\n\r" or (0x20 <= code < 0xD800) or (0xE000 <= code < 0xFFFE) or code >= 0x10000
