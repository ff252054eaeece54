"""What a verification run finds: an outcome per check, with the evidence a person needs to see the fault.

A check ends in one of four outcomes. ``passed`` and ``failed`` are what they say; ``error`` means the check
could not be carried out because the server misbehaved on the way to it (a session it would not create, a
stream it would not start), which fails the run too; ``not_run`` means the server offers no way to check it (it
ignores ``X-Mock-Fault``, so no 429 can be provoked) or the account cannot pay for it: never a pass, and not a
failure either unless the run is strict.
"""

from __future__ import annotations

import dataclasses
import enum
import typing

__all__ = ["SCHEMATHESIS_RUN", "CheckResult", "Evidence", "Outcome", "Report", "Source"]

#: Where a check comes from: our protocol checks, or a check Schemathesis ran.
Source = typing.Literal["protocol", "schemathesis"]
#: The name of the result that stands for the Schemathesis run itself, beside one result per check it ran.
SCHEMATHESIS_RUN = "schemathesis"


class Outcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    NOT_RUN = "not_run"


@dataclasses.dataclass(frozen=True, slots=True)
class Evidence:
    """One answer that shows a fault: the request, its HTTP status, the offending bytes, what is wrong with them.

    Token values never appear here: they are masked as ``<token>`` before anything is stored.
    """

    request: str  # "GET /api/state/nemo_agent/me/7301846529173640192/latest"
    status: int | None
    note: str  # what is wrong, in one line
    excerpt: str = ""  # the offending bytes as text, cut to a few hundred characters
    reproduce: str = ""  # a command that sends the request again (Schemathesis's curl line)

    def to_dict(self) -> dict[str, typing.Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    description: str  # one line: what holds when the check passes
    outcome: Outcome
    source: Source = "protocol"
    reason: str = ""  # one line: why it failed, errored or did not run
    evidence: tuple[Evidence, ...] = ()
    #: How many answers (or, for Schemathesis, test cases) the check judged; 0 when not counted.
    count: int = 0
    #: Real seconds the check took (for ours; the things it shares, a turn say, count for the first that asks).
    seconds: float = 0.0

    def to_dict(self) -> dict[str, typing.Any]:
        found = dataclasses.asdict(self)
        found["outcome"] = self.outcome.value
        found["evidence"] = [item.to_dict() for item in self.evidence]
        return found


@dataclasses.dataclass(frozen=True, slots=True)
class Report:
    """Every check of one run against one server."""

    url: str
    seed: int
    status_mode: str | None  # the mode the server showed (or was given): "http", "always200"; None if unknown
    phases: tuple[str, ...]  # the Schemathesis phases run (empty: none)
    results: tuple[CheckResult, ...]
    seconds: float

    def outcomes(self, outcome: Outcome) -> list[str]:
        """The names of the checks with this outcome, in report order."""
        return [result.name for result in self.results if result.outcome is outcome]

    @property
    def failed(self) -> list[str]:
        return self.outcomes(Outcome.FAILED)

    def result(self, name: str) -> CheckResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def holds(self, *, strict: bool = False) -> bool:
        """Whether every check held: none failed or errored (nor, when ``strict``, went unchecked)."""
        bad = {Outcome.FAILED, Outcome.ERROR} | ({Outcome.NOT_RUN} if strict else set())
        return not any(result.outcome in bad for result in self.results)

    def to_dict(self) -> dict[str, typing.Any]:
        counts = {outcome.value: len(self.outcomes(outcome)) for outcome in Outcome}
        return dict(
            url=self.url,
            seed=self.seed,
            status_mode=self.status_mode,
            phases=list(self.phases),
            holds=self.holds(),
            counts=counts,
            seconds=round(self.seconds, 3),
            checks=[result.to_dict() for result in self.results],
        )
