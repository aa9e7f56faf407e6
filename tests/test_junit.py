"""``check --junit-xml FILE``: JUnit XML that CI servers read, parsed back with the standard library."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from tui_backprop.cli.junit import Case, junit_xml
from tui_backprop.cli.main import main

FILES = Path(__file__).parent / "scenario_files"


def cases_of(path: Path) -> tuple[ET.Element, dict[str, ET.Element]]:
    root = ET.parse(path).getroot()
    return root, {case.get("name"): case for case in root.iter("testcase")}


def test_one_case_per_scenario_passed_or_not_run(tmp_path, capsys):
    out = tmp_path / "report.xml"
    broken = str(FILES / "syntax_error.py")
    assert main(["check", "sigmoid-chain", "l1-mse", broken, "--junit-xml", str(out)]) == 2
    root, cases = cases_of(out)
    assert list(cases) == ["sigmoid-chain [float64]", "l1-mse [float64]", f"{broken} [float64]"]
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "0", "1")
    assert cases["sigmoid-chain [float64]"].find("failure") is None
    error = cases[f"{broken} [float64]"].find("error")
    assert "syntax error" in error.get("message")
    assert "sigmoid-chain" in capsys.readouterr().out  # the table is still printed


def test_a_failure_carries_the_blame_as_its_message_and_the_report_as_its_text(tmp_path):
    out = tmp_path / "report.xml"
    assert (
        main(["check", "sigmoid-chain", "--bug", "reciprocal-sign", "--json", "--junit-xml", str(out)]) == 1
    )
    root, cases = cases_of(out)
    assert root.find("testsuite").get("failures") == "1"
    case = cases["sigmoid-chain [bug reciprocal-sign, float64]"]
    failure = case.find("failure")
    assert failure.get("message") == "blamed: f = 1 / e: e: sign flipped: analytic is -1 × numeric"
    assert "✗ blamed: f" in failure.text and "FAIL" in failure.text
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["node f"] == "ok, its backward mismatch, blamed"
    assert properties["node x"] == "mismatch"
    assert properties["bug"] == "reciprocal-sign"
    assert float(case.get("time")) >= 0


def test_text_xml_cannot_hold_is_escaped_and_the_file_parses():
    document = junit_xml([Case("odd \x1b[31mname\ud800", 0.5, [("node \x00", "ok")], failure=("m\x07", "t"))])
    root = ET.fromstring(document)
    case = root.find("testsuite/testcase")
    assert case.get("name") == "odd \\x1b[31mname\\ud800"
    assert case.find("properties/property").get("name") == "node \\x00"


def test_a_file_that_cannot_be_written_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["check", "sigmoid-chain", "--junit-xml", str(tmp_path / "missing" / "r.xml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write the JUnit XML" in err[0]
