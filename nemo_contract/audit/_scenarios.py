"""Scenarios are data: the file format ``audit --matrix`` reads, and the default matrix the package ships.

A matrix file (YAML or JSON; ``specs/audit-scenarios.schema.json`` is its JSON Schema) lists scenarios. Each says
how its emulator is set up (knobs, fault rules in force from the start, triggers that act while the program runs),
what a correct program's outcome is, which rules it exists to exercise, and, for an ``always200`` twin, the http
scenario it is compared with. Knobs and fault rules are checked against the emulator's own admin spec, so a bad
file gets one line naming the scenario and the problem, before anything runs.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.resources
import json
import os
import pathlib
import re
import typing

from ..protocol import StatusMode
from ..protocol.specs import ADMIN_SPEC, schema_validator, spec_path

if typing.TYPE_CHECKING:
    import jsonschema

__all__ = [
    "DEFAULT_MATRIX",
    "SCHEMA",
    "Expect",
    "Matrix",
    "Scenario",
    "ScenarioError",
    "Trigger",
    "default_matrix",
    "load_matrix",
]

#: The JSON Schema of a matrix file (under ``specs/``), and the default matrix (package data beside this module).
SCHEMA = "audit-scenarios.schema.json"
DEFAULT_MATRIX = "default-matrix.yaml"

Outcome = typing.Literal["finish", "stop", "either"]
Action = typing.Literal["reset", "expire_token", "add_faults"]
#: What a program's run does when nothing goes wrong, and what ``finish`` looks for in the traffic.
WORK: typing.Final = ("upload", "turn", "export")
_MERGED = ("turn_durations", "credit_costs")  # knob tables that merge by key, as PUT /__mock__/config does


class ScenarioError(ValueError):
    """A matrix file (or a scenario name) that cannot be used; the message is one line."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Trigger:
    """Do ``action`` once the ``count``-th request matching ``method`` and ``path`` has arrived or ended."""

    action: Action
    method: str | None = None
    path: str | None = None  # a glob, as fault rules take
    count: int = 1
    when: typing.Literal["request", "end"] = "end"
    faults: tuple[dict[str, typing.Any], ...] = ()

    def describe(self) -> str:
        what = {"reset": "reset the emulator", "expire_token": "expire the token", "add_faults": "add fault rules"}
        target = " ".join(part for part in (self.method, self.path) if part) or "any request"
        nth = "" if self.count == 1 else f" #{self.count}"
        return f"{what[self.action]} after {target}{nth} {'arrived' if self.when == 'request' else 'ended'}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Expect:
    """What a correct program's run ends in."""

    outcome: Outcome
    advice: tuple[str, ...] = ()  # regular expressions; {user_id} stands for one of the program's user ids
    work: tuple[str, ...] = WORK


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One run of the program against a fresh emulator set up this way."""

    name: str
    expect: Expect
    description: str = ""
    seed: int = 0
    knobs: dict[str, typing.Any] = dataclasses.field(default_factory=dict)
    faults: tuple[dict[str, typing.Any], ...] = ()
    triggers: tuple[Trigger, ...] = ()
    exercises: tuple[str, ...] = ()
    compare_with: str | None = None

    def config(self) -> dict[str, typing.Any]:
        """The emulator's configuration for this scenario (as ``Served(config=...)`` takes it)."""
        return {**copy.deepcopy(self.knobs), "faults": [dict(rule) for rule in self.faults]}

    @property
    def always200(self) -> bool:
        return self.knobs.get("status_mode") == StatusMode.ALWAYS200.value


@dataclasses.dataclass(frozen=True, slots=True)
class Matrix:
    """Scenarios in the order the file lists them, and where they came from."""

    scenarios: tuple[Scenario, ...]
    source: str = "<matrix>"

    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    def __getitem__(self, name: str) -> Scenario:
        for scenario in self.scenarios:
            if scenario.name == name:
                return scenario
        raise KeyError(name)

    def select(self, names: typing.Iterable[str] | None) -> Matrix:
        """The named scenarios (all when None), with the http scenario each chosen twin is compared with."""
        if names is None:
            return self
        wanted = list(dict.fromkeys(names))
        known = set(self.names())
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise ScenarioError(
                f"no scenario named {', '.join(map(repr, unknown))} in {self.source} "
                f"(it has: {', '.join(self.names())})"
            )
        chosen = set(wanted)
        chosen |= {t for n in wanted if (t := self[n].compare_with) is not None}
        return Matrix(tuple(s for s in self.scenarios if s.name in chosen), self.source)


# -- reading a file -------------------------------------------------------------------------------------------------


def default_matrix() -> Matrix:
    """The matrix shipped with the package (``nemo_contract/audit/default-matrix.yaml``)."""
    resource = importlib.resources.files(__package__).joinpath(DEFAULT_MATRIX)
    return parse_matrix(_parse_text(resource.read_text(encoding="utf-8"), DEFAULT_MATRIX, json_=False), DEFAULT_MATRIX)


def load_matrix(path: str | os.PathLike[str], *, rules: typing.Collection[str] = ()) -> Matrix:
    """A matrix file (YAML, or JSON by its ``.json`` suffix); ``ScenarioError`` names its first problem.

    ``rules``: the rule names a scenario may say it exercises (none checked when empty).
    """
    where = os.fspath(path)
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a UTF-8 text file"
        raise ScenarioError(f"cannot read the scenario file {where}: {reason}") from None
    data = _parse_text(text, where, json_=where.lower().endswith(".json"))
    return parse_matrix(data, where, rules=rules)


def _parse_text(text: str, where: str, *, json_: bool) -> typing.Any:
    try:
        if json_:
            return json.loads(text)
        import yaml

        return yaml.safe_load(text)
    except ValueError as exc:
        raise ScenarioError(f"the scenario file {where} is not valid JSON: {exc}") from None
    except Exception as exc:  # yaml.YAMLError and its kin: one line, never a traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ScenarioError(f"the scenario file {where} is not valid YAML: {first}") from None


def _where(error: jsonschema.ValidationError) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return path.lstrip(".") or "the top level"


def _message(error: jsonschema.ValidationError) -> str:
    text = error.message
    return text if len(text) <= 160 else text[:157] + "..."


def _check(data: typing.Any, where: str) -> None:
    import jsonschema

    with spec_path(SCHEMA).open(encoding="utf-8") as stream:
        schema = json.load(stream)
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise ScenarioError(f"{where}: {_where(error)}: {_message(error)}")


def _check_admin(value: typing.Any, schema: str, where: str, label: str) -> None:
    """Knobs and fault rules are the emulator's own: its admin spec says what they may be."""
    import jsonschema

    error = jsonschema.exceptions.best_match(
        schema_validator(f"#/components/schemas/{schema}", ADMIN_SPEC).iter_errors(value)
    )
    if error is not None:
        inner = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise ScenarioError(f"{where}: {label}{inner}: {_message(error)}")


def _merge(base: dict[str, typing.Any], over: dict[str, typing.Any]) -> dict[str, typing.Any]:
    merged = copy.deepcopy(base)
    for key, value in over.items():
        if key in _MERGED and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **copy.deepcopy(value)}
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _patterns(advice: list[str], where: str, label: str) -> tuple[str, ...]:
    for index, pattern in enumerate(advice):
        try:
            re.compile(pattern.replace("{user_id}", "x"))
        except re.error as exc:
            raise ScenarioError(f"{where}: {label}.expect.advice[{index}] is not a regular expression: {exc}") from None
    return tuple(advice)


def parse_matrix(data: typing.Any, where: str, *, rules: typing.Collection[str] = ()) -> Matrix:
    """A matrix from already parsed data (see ``load_matrix``)."""
    _check(data, where)
    base = data.get("defaults", {}).get("knobs", {})
    _check_admin(base, "ConfigPatch", where, "defaults.knobs")
    work = tuple(data.get("work", WORK))
    scenarios: list[Scenario] = []
    for index, item in enumerate(data["scenarios"]):
        label = f"scenarios[{index}] ({item['name']})"
        knobs = _merge(base, item.get("knobs", {}))
        _check_admin(knobs, "ConfigPatch", where, f"{label}.knobs")
        faults = tuple(item.get("faults", ()))
        for number, rule in enumerate(faults):
            _check_admin(rule, "FaultRule", where, f"{label}.faults[{number}]")
        triggers = []
        for number, raw in enumerate(item.get("triggers", ())):
            for rule_no, rule in enumerate(raw.get("faults", ())):
                _check_admin(rule, "FaultRule", where, f"{label}.triggers[{number}].faults[{rule_no}]")
            after = raw["after"]
            triggers.append(
                Trigger(
                    action=raw["do"],
                    method=after.get("method"),
                    path=after.get("path"),
                    count=after.get("count", 1),
                    when=after.get("when", "end"),
                    faults=tuple(raw.get("faults", ())),
                )
            )
        expect = item["expect"]
        scenarios.append(
            Scenario(
                name=item["name"],
                description=" ".join(item.get("description", "").split()),
                seed=item.get("seed", 0),
                knobs=knobs,
                faults=faults,
                triggers=tuple(triggers),
                expect=Expect(
                    outcome=expect["outcome"],
                    advice=_patterns(expect.get("advice", []), where, label),
                    work=tuple(expect.get("work", work)),
                ),
                exercises=tuple(item.get("exercises", ())),
                compare_with=item.get("compare_with"),
            )
        )
    matrix = Matrix(tuple(scenarios), where)
    _check_links(matrix, where, rules)
    return matrix


def _check_links(matrix: Matrix, where: str, rules: typing.Collection[str]) -> None:
    """Names are unique; a twin names an http scenario and is always200 itself; exercised rules exist."""
    seen: set[str] = set()
    for scenario in matrix.scenarios:
        if scenario.name in seen:
            raise ScenarioError(f"{where}: two scenarios are named {scenario.name!r}")
        seen.add(scenario.name)
    for scenario in matrix.scenarios:
        unknown = [name for name in scenario.exercises if rules and name not in rules]
        if unknown:
            raise ScenarioError(
                f"{where}: scenario {scenario.name!r} exercises no such rule: {', '.join(unknown)} "
                f"(the rules: {', '.join(sorted(rules))})"
            )
        if scenario.compare_with is None:
            continue
        if scenario.compare_with not in seen:
            raise ScenarioError(
                f"{where}: scenario {scenario.name!r} compares with {scenario.compare_with!r}, "
                "which the file does not have"
            )
        original = matrix[scenario.compare_with]
        if not scenario.always200 or original.always200 or original.compare_with is not None:
            raise ScenarioError(
                f"{where}: scenario {scenario.name!r} must run with status_mode always200 and compare with an "
                f"http scenario that is not itself a twin ({scenario.compare_with!r} is not)"
            )
