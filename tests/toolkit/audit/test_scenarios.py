"""Scenarios are data: the shipped matrix covers what the issue lists, and a bad scenario file gets one line."""

from __future__ import annotations

import json
import pathlib

import jsonschema
import pytest
import yaml

from nemo_contract.audit import RULES, ScenarioError, default_matrix, load_matrix
from nemo_contract.audit._scenarios import DEFAULT_MATRIX, SCHEMA
from nemo_contract.protocol.specs import spec_path

RULE_NAMES = [rule.name for rule in RULES]


def test_the_schemas_are_valid_json_schemas() -> None:
    for name in (SCHEMA, "audit-report.schema.json"):
        jsonschema.Draft202012Validator.check_schema(json.loads(spec_path(name).read_text(encoding="utf-8")))


def test_the_default_matrix_has_every_scenario_the_issue_asks_for() -> None:
    matrix = default_matrix()
    knobs = {s.name: s.knobs for s in matrix.scenarios}
    by_name = {s.name: s for s in matrix.scenarios}
    assert knobs["baseline"].get("status_mode", "http") == "http"
    assert any(k.get("status_mode") == "always200" and by_name[n].compare_with == "baseline" for n, k in knobs.items())
    for knob, values in (
        ("render_shape", {"wrapped"}),
        ("event_format", {"typed"}),
        ("heartbeat", {"comment", "json"}),
    ):
        assert values <= {k.get(knob) for k in knobs.values()}, knob  # the defaults are the baseline's
    assert knobs["silent-edits"]["silent_close_rate"] == 1
    assert by_name["token-expires"].triggers[0].action == "expire_token"
    assert by_name["server-reset"].triggers[0].action == "reset"
    assert by_name["session-lost"].faults[0]["code"] == 1002 and by_name["session-lost"].faults[0]["times"] == 1
    assert [f["times"] for f in by_name["rate-limited-once"].faults + by_name["rate-limited-twice"].faults] == [1, 2]
    assert knobs["rate-limited-once"]["retry_after"] < 30  # "waited what it was told" needs no 30 s
    assert "error_after" in by_name["mid-stream-error"].faults[0]
    assert "cut_after" in by_name["stream-cut"].triggers[0].faults[0]
    assert knobs["out-of-credits"]["initial_credits"] == 0
    assert knobs["export-blocked"]["export_allowed"] is False
    assert {f["code"] for n in ("upload-unsupported", "upload-too-large") for f in by_name[n].faults} == {4001, 4002}
    generation = knobs["long-generation"]["turn_durations"]["generation"]
    assert min(generation) > 60 > knobs["long-generation"]["heartbeat_interval"]  # heartbeats only, for a minute
    for scenario in matrix.scenarios:
        assert scenario.description and scenario.expect.outcome in ("finish", "stop", "either")
        assert set(scenario.exercises) <= set(RULE_NAMES)
        if (
            scenario.expect.outcome == "stop"
            and scenario.compare_with is None
            and scenario.name
            not in (
                "rate-limited-twice",
                "mid-stream-error",
            )
        ):
            assert scenario.expect.advice, scenario.name  # a stop says what the user should do
    # Every rule is the reason of some scenario: none is exercised only by chance.
    assert {r for s in matrix.scenarios for r in s.exercises} == set(RULE_NAMES)


def test_the_shipped_matrix_is_valid_by_the_published_schema() -> None:
    text = (pathlib.Path(__file__).parents[3] / "nemo_contract" / "audit" / DEFAULT_MATRIX).read_text(encoding="utf-8")
    schema = json.loads(spec_path(SCHEMA).read_text(encoding="utf-8"))
    jsonschema.validate(yaml.safe_load(text), schema)


def test_choosing_a_twin_brings_its_http_scenario() -> None:
    chosen = default_matrix().select(["token-expires-always200"])
    assert chosen.names() == ["token-expires", "token-expires-always200"]
    with pytest.raises(ScenarioError, match="no scenario named 'nope'"):
        default_matrix().select(["baseline", "nope"])


ONE: dict[str, object] = {"name": "one", "expect": {"outcome": "finish"}}
GOOD = {"version": 1, "scenarios": [ONE]}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"version": 2}, "version: 1 was expected"),
        ({"scenarios": [{"name": "one"}]}, "'expect' is a required property"),
        ({"scenarios": [{"name": "One!", "expect": {"outcome": "finish"}}]}, "scenarios[0].name"),
        ({"scenarios": [{"name": "one", "expect": {"outcome": "finished"}}]}, "scenarios[0].expect.outcome"),
        ({"surprise": True}, "'surprise' was unexpected"),
        (
            {"scenarios": [{"name": "one", "knobs": {"status_mode": "sometimes"}, "expect": {"outcome": "stop"}}]},
            "scenarios[0] (one).knobs.status_mode: 'sometimes' is not one of",
        ),
        (
            {"scenarios": [{"name": "one", "knobs": {"faults": []}, "expect": {"outcome": "stop"}}]},
            "scenarios[0].knobs",
        ),
        (
            {"scenarios": [{"name": "one", "faults": [{"code": 9999}], "expect": {"outcome": "stop"}}]},
            "scenarios[0] (one).faults[0].code: 9999 is not one of",
        ),
        (
            {
                "scenarios": [
                    {"name": "one", "triggers": [{"after": {}, "do": "add_faults"}], "expect": {"outcome": "stop"}}
                ]
            },
            "'faults' is a required property",
        ),
        (
            {
                "scenarios": [
                    {"name": "one", "triggers": [{"after": {}, "do": "explode"}], "expect": {"outcome": "stop"}}
                ]
            },
            "'explode' is not one of",
        ),
        (
            {"scenarios": [{"name": "one", "expect": {"outcome": "stop", "advice": ["(unclosed"]}}]},
            "expect.advice[0] is not a regular expression",
        ),
        (
            {"scenarios": [{"name": "one", "exercises": ["be-nice"], "expect": {"outcome": "stop"}}]},
            "exercises no such rule: be-nice",
        ),
        ({"scenarios": [ONE, ONE]}, "two scenarios are named 'one'"),
        (
            {"scenarios": [{"name": "two", "compare_with": "one", "expect": {"outcome": "stop"}}]},
            "compares with 'one', which the file does not have",
        ),
        (
            {
                "scenarios": [
                    ONE,
                    {"name": "two", "compare_with": "one", "expect": {"outcome": "stop"}},
                ]
            },
            "must run with status_mode always200",
        ),
    ],
)
def test_a_bad_scenario_file_gets_one_line_naming_its_problem(
    tmp_path: pathlib.Path, change: dict[str, object], problem: str
) -> None:
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps({**GOOD, **change}), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_matrix(path, rules=RULE_NAMES)
    message = str(caught.value)
    assert problem in message and "\n" not in message and message.startswith(str(path))


def test_files_that_are_not_yaml_or_json_or_not_there(tmp_path: pathlib.Path) -> None:
    (tmp_path / "bad.yaml").write_text("scenarios: [unclosed\n", encoding="utf-8")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    for name, problem in (
        ("bad.yaml", "is not valid YAML"),
        ("bad.json", "is not valid JSON"),
        ("gone.yaml", "cannot read"),
    ):
        with pytest.raises(ScenarioError, match=problem) as caught:
            load_matrix(tmp_path / name)
        assert "\n" not in str(caught.value)


def test_a_yaml_matrix_with_defaults_merges_knobs_by_key(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "matrix.yaml"
    path.write_text(
        "version: 1\n"
        "work: [turn]\n"
        "defaults: {knobs: {turn_durations: {text: [1, 2], edit: [1, 2]}, retry_after: 3}}\n"
        "scenarios:\n"
        "  - name: mine\n"
        "    knobs: {turn_durations: {edit: [5, 6]}}\n"
        "    triggers: [{after: {method: get, path: /api/credits/*, count: 2, when: request}, do: reset}]\n"
        "    expect: {outcome: either, advice: ['(?i)busy']}\n",
        encoding="utf-8",
    )
    (scenario,) = load_matrix(path).scenarios
    assert scenario.knobs == {"turn_durations": {"text": [1, 2], "edit": [5, 6]}, "retry_after": 3}
    assert scenario.expect.work == ("turn",) and scenario.expect.advice == ("(?i)busy",)
    (trigger,) = scenario.triggers
    assert (trigger.action, trigger.method, trigger.count, trigger.when) == ("reset", "get", 2, "request")
    assert scenario.config()["faults"] == []
