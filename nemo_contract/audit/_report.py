"""The audit's reports: a terminal table, JSON (``specs/audit-report.schema.json``) and JUnit XML.

The table is read in a minute: a line per scenario (its exit status, how long it ran, a mark per rule), the first
piece of evidence of each failure right under its scenario, then a line per rule with where it held and broke.
JUnit XML is built with the standard library's ElementTree: a test suite per scenario, a test case per rule
(failed, or skipped when not exercised), which CI systems show as they show test results.
"""

from __future__ import annotations

import typing
import xml.etree.ElementTree as ET

from ..__version__ import __version__

if typing.TYPE_CHECKING:
    from ._verdicts import ScenarioResult, Verdict, Verdicts

__all__ = ["MARKS", "REPORT_VERSION", "as_dict", "as_junit", "table"]

REPORT_VERSION = 1
#: A cell of the table: held, broken, not exercised, missed (not exercised where the scenario exists to
#: exercise it), judged through envelope-decides (an always200 twin).
MARKS: typing.Final = {"pass": "✓", "fail": "✗", "not_exercised": "·", "missed": "!", "twin": "="}
_RED, _GREEN, _DIM, _RESET = "\033[31m", "\033[32m", "\033[2m", "\033[0m"


def _mark(verdict: Verdict, twin: bool) -> str:
    if verdict.missed:
        return "missed"
    if twin and verdict.status == "not_exercised" and verdict.rule != "envelope-decides":
        return "twin"
    return verdict.status


def _paint(text: str, kind: str, color: bool) -> str:
    if not color:
        return text
    shade = {"fail": _RED, "missed": _RED, "pass": _GREEN}.get(kind, _DIM)
    return f"{shade}{text}{_RESET}"


def _exit(result: ScenarioResult) -> str:
    return "timeout" if result.timed_out else str(result.exit_status)


def table(verdicts: Verdicts, *, color: bool = False) -> str:
    rules = [rule.name for rule in verdicts.rules]
    width = max([len("scenario"), *(len(r.scenario.name) for r in verdicts.results)])
    command = " ".join(verdicts.command)
    command = command if len(command) <= 60 else command[:57] + "..."
    lines = [
        f"nemo-contract audit of {command}: {len(verdicts.results)} scenarios, {len(rules)} rules, "
        f"{verdicts.wall_time:.1f} s",
        "",
        f"{'scenario':<{width}}     exit    time  " + "".join(f"{n:>3}" for n in range(1, len(rules) + 1)),
    ]
    for result in verdicts.results:
        twin = result.scenario.compare_with is not None
        cells = "".join("  " + _paint(MARKS[_mark(v, twin)], _mark(v, twin), color) for v in result.verdicts)
        lines.append(f"{result.scenario.name:<{width}}  {_exit(result):>7}  {result.duration:5.1f}s{cells}")
        for verdict in result.verdicts:
            if verdict.broken:
                sign = _paint(MARKS["missed" if verdict.missed else "fail"], "fail", color)
                lines.append(f"    {sign} {verdict.rule}: {verdict.first_evidence()}")
        lines += [f"    note: {note}" for note in result.notes]
    lines += [
        "",
        "rules (✓ held, ✗ broken, · not exercised, ! missed: not exercised where required,"
        " = judged by envelope-decides):",
    ]
    name_width = max(len(r) for r in rules)
    for number, rule in enumerate(rules, 1):
        mine = [v for v in verdicts if v.rule == rule]
        held = sum(v.status == "pass" for v in mine)
        broken = [v.scenario for v in mine if v.broken]
        status = verdicts.rule_status(rule)
        kind = "fail" if broken else status
        parts = [f"held in {held}"] if held else []
        if broken:
            more = f" and {len(broken) - 4} more" if len(broken) > 4 else ""
            parts.append(f"broken in {', '.join(broken[:4])}{more}")
        summary = "; ".join(parts) or "never exercised"
        mark = _paint(MARKS["fail" if broken else status], kind, color)
        lines.append(f"{number:>3} {rule:<{name_width}}  {mark} {summary}")
    failures = verdicts.failures
    verdict_line = (
        "PASSED: every rule held in every scenario"
        if verdicts.passed
        else (
            f"FAILED: {len(failures)} broken verdicts in "
            f"{len({v.scenario for v in failures})} of {len(verdicts.results)} scenarios"
        )
    )
    lines += ["", _paint(verdict_line, "pass" if verdicts.passed else "fail", color)]
    return "\n".join(lines)


def as_dict(verdicts: Verdicts) -> dict[str, typing.Any]:
    return dict(
        version=REPORT_VERSION,
        tool="nemo-contract audit",
        tool_version=__version__,
        command=list(verdicts.command),
        passed=verdicts.passed,
        wall_time=round(verdicts.wall_time, 3),
        rules=[
            dict(
                name=rule.name,
                judges=rule.judges,
                quote=rule.quote,
                source=rule.source,
                status=verdicts.rule_status(rule.name),
            )
            for rule in verdicts.rules
        ],
        scenarios=[
            dict(
                name=result.scenario.name,
                description=result.scenario.description,
                expected_outcome=result.scenario.expect.outcome,
                compare_with=result.scenario.compare_with,
                exit_status=result.exit_status,
                timed_out=result.timed_out,
                duration=round(result.duration, 3),
                requests=result.requests,
                passed=result.passed,
                notes=list(result.notes),
                verdicts=[
                    dict(rule=v.rule, status=v.status, required=v.required, evidence=list(v.evidence))
                    for v in result.verdicts
                ],
            )
            for result in verdicts.results
        ],
    )


def as_junit(verdicts: Verdicts) -> str:
    broken = sum(v.broken for v in verdicts)
    skipped = sum(v.status == "not_exercised" and not v.missed for v in verdicts)
    root = ET.Element(
        "testsuites",
        name="nemo-contract audit",
        tests=str(sum(len(r.verdicts) for r in verdicts.results)),
        failures=str(broken),
        skipped=str(skipped),
        time=f"{verdicts.wall_time:.3f}",
    )
    for result in verdicts.results:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=result.scenario.name,
            tests=str(len(result.verdicts)),
            failures=str(sum(v.broken for v in result.verdicts)),
            skipped=str(sum(v.status == "not_exercised" and not v.missed for v in result.verdicts)),
            time=f"{result.duration:.3f}",
        )
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="exit_status", value=_exit(result))
        ET.SubElement(properties, "property", name="expected_outcome", value=result.scenario.expect.outcome)
        for verdict in result.verdicts:
            case = ET.SubElement(suite, "testcase", classname=f"audit.{result.scenario.name}", name=verdict.rule)
            if verdict.broken:
                failure = ET.SubElement(case, "failure", message=verdict.first_evidence())
                failure.text = "\n".join(verdict.evidence) or verdict.first_evidence()
            elif verdict.status == "not_exercised":
                ET.SubElement(case, "skipped", message=verdict.first_evidence() or "not exercised")
        if result.notes:
            ET.SubElement(suite, "system-out").text = "\n".join(result.notes)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
