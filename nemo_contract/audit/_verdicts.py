"""What an audit says: a verdict per rule and scenario, with its evidence, and the whole result.

``Verdict.status`` is ``pass``, ``fail`` or ``not_exercised``. A rule a scenario exists to exercise (its
``exercises`` list) that the run did not exercise is *missed*: it fails the audit like a broken rule, since a
program that never reached the fault was not shown to survive it. ``Verdicts`` is the whole audit: ``passed``,
the broken verdicts, the reports (``report()``, ``to_json()``, ``to_junit()``) and ``raise_for_failures()``.

The terminal table is read in a minute: a line per scenario (its exit status, how long it ran, a mark per rule),
the first piece of evidence of each failure right under its scenario, then a line per rule with where it held and
broke. JSON follows ``specs/audit-report.schema.json``. JUnit XML is built with the standard library's
ElementTree: a test suite per scenario, a test case per rule (failed, or skipped when not exercised), which CI
systems show as they show test results.
"""

from __future__ import annotations

import dataclasses
import typing
import xml.etree.ElementTree as ET

from ..__version__ import __version__

if typing.TYPE_CHECKING:
    from ._facts import Run
    from ._scenarios import Scenario

__all__ = [
    "MARKS",
    "MAX_EVIDENCE",
    "REPORT_VERSION",
    "AuditFailed",
    "Judgement",
    "Rule",
    "ScenarioResult",
    "Status",
    "Verdict",
    "Verdicts",
    "as_dict",
    "as_junit",
    "judged",
    "table",
]

Status = typing.Literal["pass", "fail", "not_exercised"]
#: At most this many pieces of evidence are kept per verdict; the last one says how many more there were.
MAX_EVIDENCE = 10


@dataclasses.dataclass(frozen=True, slots=True)
class Judgement:
    """What one rule made of one run."""

    status: Status
    evidence: tuple[str, ...] = ()


def judged(exercised: object, problems: typing.Sequence[str]) -> Judgement:
    """``fail`` with the problems as evidence if there are any, else ``pass`` when the run gave the rule
    something to judge (``exercised`` is truthy), else ``not_exercised``."""
    if problems:
        kept = list(problems[:MAX_EVIDENCE])
        if len(problems) > MAX_EVIDENCE:
            kept[-1] = f"... and {len(problems) - MAX_EVIDENCE + 1} more"
        return Judgement("fail", tuple(kept))
    return Judgement("pass" if exercised else "not_exercised")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A named rule: what it judges, the sentence of the documents it enforces, and where that sentence is."""

    name: str
    judges: str
    quote: str
    source: str
    check: typing.Callable[[Run], Judgement] = dataclasses.field(repr=False, compare=False)

    def judge(self, run: Run) -> Judgement:
        """The rule's judgement of a run; a rule that breaks on it (a bug of the audit's) says so as a failure
        rather than losing every other verdict."""
        try:
            return self.check(run)
        except Exception as exc:
            return Judgement(
                "fail", (f"the audit could not judge this ({type(exc).__name__}: {exc}); please report it",)
            )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """One rule in one scenario."""

    scenario: str
    rule: str
    status: Status
    evidence: tuple[str, ...] = ()
    #: The scenario exists to exercise this rule: not exercised there is a failure of the audit.
    required: bool = False

    @property
    def missed(self) -> bool:
        return self.status == "not_exercised" and self.required

    @property
    def broken(self) -> bool:
        return self.status == "fail" or self.missed

    def first_evidence(self) -> str:
        if self.evidence:
            return self.evidence[0]
        return "not exercised: this scenario exists to exercise it" if self.missed else ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioResult:
    """One scenario's run and its verdicts."""

    scenario: Scenario
    exit_status: int | None  # None: stopped at the timeout
    timed_out: bool
    duration: float  # real seconds the program ran
    requests: int
    notes: tuple[str, ...]
    verdicts: tuple[Verdict, ...]
    stdout: str = dataclasses.field(default="", repr=False)
    stderr: str = dataclasses.field(default="", repr=False)

    @property
    def passed(self) -> bool:
        return not any(v.broken for v in self.verdicts)

    def verdict(self, rule: str) -> Verdict:
        for verdict in self.verdicts:
            if verdict.rule == rule:
                return verdict
        raise KeyError(rule)


class Verdicts:
    """The whole audit: every scenario's verdicts, rule by rule."""

    def __init__(
        self,
        *,
        command: typing.Sequence[str],
        rules: typing.Sequence[Rule],
        results: typing.Sequence[ScenarioResult],
        wall_time: float,
    ) -> None:
        self.command = tuple(command)
        self.rules = tuple(rules)
        self.results = tuple(results)
        self.wall_time = wall_time

    def __iter__(self) -> typing.Iterator[Verdict]:
        for result in self.results:
            yield from result.verdicts

    def __repr__(self) -> str:
        return f"<Verdicts {'passed' if self.passed else 'failed'}: {len(self.results)} scenarios>"

    @property
    def passed(self) -> bool:
        """Every rule held in every scenario, and every scenario exercised the rules it exists for."""
        return all(result.passed for result in self.results)

    @property
    def failures(self) -> list[Verdict]:
        """The broken verdicts (failed, or missed), scenario by scenario."""
        return [v for v in self if v.broken]

    def scenario(self, name: str) -> ScenarioResult:
        for result in self.results:
            if result.scenario.name == name:
                return result
        raise KeyError(name)

    def rule_status(self, rule: str) -> Status:
        """A rule over the whole audit: ``fail`` if it failed anywhere, ``pass`` if it held somewhere it was
        exercised, else ``not_exercised`` (never a pass)."""
        statuses = {v.status for v in self if v.rule == rule}
        if "fail" in statuses:
            return "fail"
        return "pass" if "pass" in statuses else "not_exercised"

    def failed_rules(self) -> set[str]:
        return {v.rule for v in self if v.status == "fail"}

    def report(self, *, color: bool = False) -> str:
        """The terminal table: scenario by rule, each failure's first evidence under its scenario."""
        return table(self, color=color)

    def to_dict(self) -> dict[str, typing.Any]:
        """The JSON report (``specs/audit-report.schema.json``)."""
        return as_dict(self)

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_junit(self) -> str:
        """A JUnit XML report: a test suite per scenario, a test case per rule."""
        return as_junit(self)

    def raise_for_failures(self) -> None:
        """Raise ``AuditFailed`` (an AssertionError: pytest shows it as a failed test) with the evidence."""
        if not self.passed:
            raise AuditFailed(self)


class AuditFailed(AssertionError):
    """The program broke a rule (or missed what a scenario exists to exercise); the message is the evidence."""

    def __init__(self, verdicts: Verdicts) -> None:
        self.verdicts = verdicts
        lines = [f"nemo-contract audit failed: {len(verdicts.failures)} broken verdicts"]
        for verdict in verdicts.failures:
            lines.append(f"  {verdict.scenario}: {verdict.rule}: {verdict.first_evidence()}")
            lines += [f"      {more}" for more in verdict.evidence[1:3]]
        super().__init__("\n".join(lines))


# -- the reports ------------------------------------------------------------------------------------------------

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
