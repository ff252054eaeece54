"""What an audit says: a verdict per rule and scenario, with its evidence, and the whole result.

``Verdict.status`` is ``pass``, ``fail`` or ``not_exercised``. A rule a scenario exists to exercise (its
``exercises`` list) that the run did not exercise is *missed*: it fails the audit like a broken rule, since a
program that never reached the fault was not shown to survive it. ``Verdicts`` is the whole audit: ``passed``,
the broken verdicts, the reports (``report()``, ``to_json()``, ``to_junit()``) and ``raise_for_failures()``.
"""

from __future__ import annotations

import dataclasses
import typing

if typing.TYPE_CHECKING:
    from ._facts import Run
    from ._scenarios import Scenario

__all__ = [
    "MAX_EVIDENCE",
    "AuditFailed",
    "Judgement",
    "Rule",
    "ScenarioResult",
    "Status",
    "Verdict",
    "Verdicts",
    "judged",
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
        from ._report import table

        return table(self, color=color)

    def to_dict(self) -> dict[str, typing.Any]:
        """The JSON report (``specs/audit-report.schema.json``)."""
        from ._report import as_dict

        return as_dict(self)

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_junit(self) -> str:
        """A JUnit XML report: a test suite per scenario, a test case per rule."""
        from ._report import as_junit

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
