"""A run's report three ways: a summary for a terminal, JUnit XML for CI, and JSON for scripts.

The JUnit file has one test suite per source (``protocol``, ``schemathesis``) and one test case per check:
a failed check is a ``<failure>``, an errored one an ``<error>``, one that did not run ``<skipped>``; the
evidence is the element's text. It is written with ``xml.etree.ElementTree`` (escaping included), the shape
the JUnit plugins of CI systems read.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from ._model import SCHEMATHESIS_RUN, CheckResult, Evidence, Outcome, Report

__all__ = ["junit_xml", "report_json", "text_summary"]

_LABEL = {Outcome.PASSED: "PASS", Outcome.FAILED: "FAIL", Outcome.ERROR: "ERROR", Outcome.NOT_RUN: "NOT RUN"}
_TITLES = {"protocol": "Protocol checks", "schemathesis": "Schemathesis (the recorded spec)"}


def _evidence_lines(item: Evidence, indent: str) -> list[str]:
    status = "" if item.status is None else f" -> HTTP {item.status}"
    lines = [f"{indent}{item.request}{status}: {item.note}" if item.request else f"{indent}{item.note}"]
    if item.excerpt:
        lines += [f"{indent}  | {line}" for line in item.excerpt.splitlines()[:6]]
    if item.reproduce:
        lines.append(f"{indent}  reproduce: {' '.join(item.reproduce.split())}")
    return lines


def _counts(report: Report) -> str:
    words = {Outcome.FAILED: "failed", Outcome.ERROR: "errored", Outcome.NOT_RUN: "not run", Outcome.PASSED: "passed"}
    return ", ".join(f"{len(report.outcomes(outcome))} {word}" for outcome, word in words.items())


def text_summary(report: Report, *, evidence: int = 3) -> str:
    """The report for people: every check on a line, and under each one that did not pass, why (with up to
    ``evidence`` offending answers)."""
    mode = report.status_mode or "unknown"
    phases = ", ".join(report.phases) or "none"
    lines = [
        f"nemo-contract verify {report.url}",
        f"seed {report.seed}, status mode {mode}, Schemathesis phases: {phases}",
    ]
    width = max((len(result.name) for result in report.results), default=0)
    for source, title in _TITLES.items():
        chosen = [result for result in report.results if result.source == source]
        if not chosen:
            continue
        lines += ["", title]
        for result in chosen:
            label = _LABEL[result.outcome]
            unit = "cases" if result.name == SCHEMATHESIS_RUN else "checked"
            counted = f" ({result.count} {unit})" if result.count and result.source == "schemathesis" else ""
            lines.append(f"  {label:<7}  {result.name:<{width}}  {result.description}{counted}")
            if result.outcome is Outcome.PASSED:
                continue
            indent = " " * 11
            if result.reason:
                lines.append(f"{indent}{result.reason}")
            for item in result.evidence[:evidence]:
                lines += _evidence_lines(item, indent + "  ")
            if len(result.evidence) > evidence:
                lines.append(f"{indent}  ... {len(result.evidence) - evidence} more in the JSON report")
    verdict = "HOLDS" if report.holds() else "DOES NOT HOLD"
    lines += ["", f"{verdict}: {_counts(report)} in {report.seconds:.1f} s"]
    return "\n".join(lines)


def _case(result: CheckResult) -> ET.Element:
    classname = f"nemo_contract.verify.{result.source}"
    case = ET.Element("testcase", name=result.name, classname=classname, time=f"{result.seconds:.3f}")
    if result.outcome is Outcome.PASSED:
        return case
    tag = {Outcome.FAILED: "failure", Outcome.ERROR: "error", Outcome.NOT_RUN: "skipped"}[result.outcome]
    element = ET.SubElement(case, tag, message=result.reason or result.description)
    body = [line for item in result.evidence for line in _evidence_lines(item, "")]
    if body:
        element.text = "\n".join(body)
    return case


def junit_xml(report: Report) -> str:
    """The report as JUnit XML: a suite per source, a case per check."""
    root = ET.Element("testsuites", name="nemo-contract verify", time=f"{report.seconds:.3f}")
    for source in _TITLES:
        chosen = [result for result in report.results if result.source == source]
        if not chosen:
            continue

        def count(outcome: Outcome, chosen: list[CheckResult] = chosen) -> str:
            return str(sum(result.outcome is outcome for result in chosen))

        suite = ET.SubElement(
            root,
            "testsuite",
            name=source,
            tests=str(len(chosen)),
            failures=count(Outcome.FAILED),
            errors=count(Outcome.ERROR),
            skipped=count(Outcome.NOT_RUN),
        )
        properties = ET.SubElement(suite, "properties")
        for name, value in (("url", report.url), ("seed", str(report.seed)), ("status_mode", report.status_mode or "")):
            ET.SubElement(properties, "property", name=name, value=value)
        suite.extend(_case(result) for result in chosen)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def report_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
