"""``nemo-contract audit``: exit 0 only when every rule held, 1 when one broke, 2 for a usage error or a program
that could not start (one line, never a traceback); the table, ``--json`` (valid by its schema) and ``--junit``."""

from __future__ import annotations

import io
import json
import pathlib
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from nemo_contract._cli import main
from nemo_contract._cli._audit import DEFAULT_TIMEOUT as CLI_TIMEOUT
from nemo_contract.audit import DEFAULT_TIMEOUT, RULES, default_matrix
from nemo_contract.protocol.specs import spec_path

from .conftest import probe


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(["audit", *argv], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def quiet_matrix(tmp_path: pathlib.Path) -> pathlib.Path:
    """Two scenarios that ask nothing of the program (the second with a trigger and a fault)."""
    path = tmp_path / "matrix.yaml"
    path.write_text(
        "version: 1\n"
        "scenarios:\n"
        "  - {name: calm, expect: {outcome: either, work: []}}\n"
        "  - name: busy\n"
        "    knobs: {retry_after: 2}\n"
        "    faults: [{path: /api/credits/*, code: 429, times: 1}]\n"
        "    expect: {outcome: either, work: []}\n"
        "    exercises: [after-429]\n",
        encoding="utf-8",
    )
    return path


def test_the_cli_and_the_api_share_the_default_timeout() -> None:
    assert CLI_TIMEOUT == DEFAULT_TIMEOUT


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        ((), "no program to audit"),
        (("--", "/no/such/program"), "cannot start /no/such/program: no such file"),
        (("--scenario", "nope", "--", "true"), "no scenario named 'nope'"),
        (("--timeout", "0", "--", "true"), "a timeout must be a finite number above 0"),
        (("--parallel", "many", "--", "true"), "a count is not a number"),
        (("--matrix", "/no/such/matrix.yaml", "--", "true"), "cannot read the scenario file"),
        (("--json", "/no/such/folder/report.json", "--", "true"), "the folder /no/such/folder does not exist"),
        (("--bogus", "--", "true"), "unrecognized arguments"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv: tuple[str, ...], problem: str) -> None:
    status, out, err = _run(*argv)
    assert status == 2 and out == ""
    assert problem in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_program_that_holds_every_rule_exits_0_and_writes_both_reports(
    quiet_matrix: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    report, junit = tmp_path / "audit.json", tmp_path / "audit.xml"
    argv = ("--matrix", str(quiet_matrix), "--json", str(report), "--junit", str(junit), "--parallel", "2", "--")
    status, out, err = _run(*argv, *probe("token", "credits", "sleep:2.1", "credits"))
    assert status == 0, out + err
    assert "PASSED: every rule held in every scenario" in out
    assert sorted(line.split(" (")[0] for line in err.splitlines()) == ["✓ busy", "✓ calm"]
    data = json.loads(report.read_text(encoding="utf-8"))
    jsonschema.validate(data, json.loads(spec_path("audit-report.schema.json").read_text(encoding="utf-8")))
    assert data["passed"] is True and [s["name"] for s in data["scenarios"]] == ["calm", "busy"]
    busy = {v["rule"]: v for v in data["scenarios"][1]["verdicts"]}
    assert busy["after-429"] == dict(rule="after-429", status="pass", required=True, evidence=[])
    assert [r["name"] for r in data["rules"]] == [r.name for r in RULES]
    assert all(r["quote"] and r["source"] for r in data["rules"])
    suites = ET.fromstring(junit.read_text(encoding="utf-8"))
    assert suites.get("failures") == "0" and [s.get("name") for s in suites] == ["calm", "busy"]
    assert len(suites[0].findall("testcase")) == len(RULES)


def test_a_broken_rule_exits_1_with_its_evidence_in_the_table(tmp_path: pathlib.Path) -> None:
    report = tmp_path / "audit.json"
    status, out, err = _run("--scenario", "baseline", "--json", str(report), "--", "true")
    assert status == 1
    lines = out.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("baseline "))
    assert lines[row].split()[1] == "0"  # its exit status
    under = [line.strip() for line in lines[row + 1 : lines.index("", row)]]  # the row's evidence, up to a blank
    assert under[0] == "! bearer-token: not exercised: this scenario exists to exercise it"
    assert under[-1].startswith("✗ outcome: expected the work done and exit status 0; the program exited 0, but")
    assert out.rstrip().endswith("of 1 scenarios")
    assert err.startswith("✗ baseline (exit 0,")
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["passed"] is False
    outcome = next(v for v in data["scenarios"][0]["verdicts"] if v["rule"] == "outcome")
    assert outcome["status"] == "fail" and outcome["evidence"]


def test_the_list_names_every_scenario_and_rule() -> None:
    status, out, _ = _run("--list")
    assert status == 0
    for name in default_matrix().names() + [r.name for r in RULES]:
        assert f"  {name} " in out
