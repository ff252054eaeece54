"""Fault rules at run time: which requests they hit, how many times, with seeded probability."""

from __future__ import annotations

import dataclasses
import fnmatch
import typing

from ._config import FaultRule
from ._store import Ids

__all__ = ["FAULTS_KEY", "FaultPlan", "Faults", "faults_of"]

#: Where EmulatorMiddleware leaves the plan of the rules that fired on a request, for the handler to carry out.
FAULTS_KEY = "nemo_mock.faults"


@dataclasses.dataclass(slots=True)
class FaultPlan:
    """What the rules that fired on one request ask for, combined."""

    code: int | None = None
    latency: float = 0.0
    cut_after: int | None = None
    error_after: int | None = None
    fail_render: str | None = None

    def __bool__(self) -> bool:
        return bool(self.code is not None or self.latency or self.cut_after is not None) or bool(
            self.error_after is not None or self.fail_render is not None
        )


class Faults:
    def __init__(self, rules: tuple[FaultRule, ...], ids: Ids) -> None:
        self.rules = rules
        self._ids = ids
        self._remaining = [rule.times for rule in rules]
        self._matches = [0] * len(rules)
        self.needs_body = any(rule.body_contains for rule in rules)

    @staticmethod
    def _route_hits(rule: FaultRule, method: str, path: str) -> bool:
        if rule.method and rule.method.upper() != method:
            return False
        return not rule.path or fnmatch.fnmatchcase(path, rule.path)

    def _hits(self, rule: FaultRule, method: str, path: str, body: bytes | None) -> bool:
        if not self._route_hits(rule, method, path):
            return False
        return not rule.body_contains or (body is not None and rule.body_contains.encode() in body)

    def wants_body(self, method: str, path: str) -> bool:
        """Whether a rule needs this request's body to decide."""
        return self.needs_body and any(r.body_contains and self._route_hits(r, method, path) for r in self.rules)

    def plan(self, method: str, path: str, body: bytes | None) -> FaultPlan:
        """What the first rule that matches (and, with a probability, fires) asks of this request."""
        for index, rule in enumerate(self.rules):
            if self._remaining[index] == 0 or not self._hits(rule, method, path, body):
                continue
            self._matches[index] += 1
            if rule.probability is not None:
                # Keyed by the rule and how often it matched: the same requests draw the same faults.
                draw = self._ids.rng("fault", index, self._matches[index]).random()
                if draw >= rule.probability:
                    continue
            if self._remaining[index] is not None:
                self._remaining[index] -= 1  # type: ignore[operator]
            return FaultPlan(
                code=rule.code,
                latency=rule.latency or 0.0,
                cut_after=rule.cut_after,
                error_after=rule.error_after,
                fail_render=rule.fail_render,
            )
        return FaultPlan()

    def active(self) -> tuple[FaultRule, ...]:
        """The rules not yet used up: what ``GET /__mock__/config`` lists."""
        return tuple(rule for rule, left in zip(self.rules, self._remaining, strict=True) if left != 0)


_NONE = FaultPlan()


def faults_of(scope: typing.Mapping[str, typing.Any]) -> FaultPlan:
    """What the fault rules ask of this request (nothing, for most)."""
    plan: FaultPlan = scope.get(FAULTS_KEY, _NONE)
    return plan
