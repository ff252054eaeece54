"""The Python API of ``nemo_contract.verify``: its arguments, a token of one's own, the Schemathesis
configuration it shares, its reports, and what it never imports."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import typing
import xml.etree.ElementTree as ET

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from nemo_contract.protocol import PATHS, Code, Header
from nemo_contract.protocol import fields as f
from nemo_contract.verify import (
    CheckResult,
    Evidence,
    Outcome,
    Report,
    ServerUnreachable,
    api_schema,
    junit_xml,
    report_json,
    schemathesis_config,
    text_summary,
    verify,
)
from nemo_contract.verify._http import ATTRIBUTION
from nemo_contract.verify._schemathesis import clip

from .conftest import emulator_server


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"checks": ["sse_frames", "nonsense"]}, "unknown checks ['nonsense']"),
        ({"phases": ["examples", "turbo"]}, "unknown Schemathesis phases ['turbo']"),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"timeout": float("nan")}, "timeout must be a positive number"),
        ({"max_examples": 0}, "max_examples must be at least 1"),
        ({"status_mode": "sometimes"}, "'sometimes' is not a valid StatusMode"),
    ],
)
def test_bad_arguments_are_value_errors(options: dict[str, typing.Any], says: str) -> None:
    with pytest.raises(ValueError, match=says.replace("[", r"\[").replace("]", r"\]")):
        verify("http://127.0.0.1:9", **options)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.com", "must start with http:// or https://"),
        ("http://", "has no host name"),
        ("http://example.com/?x=1", "a base URL has no query or fragment"),
        ("http://[::1", "cannot be read as a URL"),
        ("http://\u2603.com", "cannot be read as a URL"),  # urllib takes it; httpx does not (not IDNA)
    ],
)
def test_a_url_that_is_no_base_url_is_a_value_error(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        verify(url, phases=())


def test_nothing_answering_is_server_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ServerUnreachable, match=f"nothing answers at http://127.0.0.1:{port}"):
        verify(f"http://127.0.0.1:{port}", phases=())
    assert issubclass(ServerUnreachable, ConnectionError)


def test_a_token_of_ones_own_is_used_and_never_shown() -> None:
    with emulator_server() as url:
        answer = httpx.post(url + PATHS.anonymous_token, headers={Header.CLIENT_ID: "mine", **ATTRIBUTION})
        token = answer.json()[f.DATA][f.TOKEN]
        before = httpx.get(url + PATHS.credits, headers={Header.AUTHORIZATION.value: f"Bearer {token}"}).json()[f.DATA]
        report = verify(url, token=token, phases=(), seed=3, timeout=10)
        after = httpx.get(url + PATHS.credits, headers={Header.AUTHORIZATION.value: f"Bearer {token}"}).json()[f.DATA]
    assert report.holds(strict=True), text_summary(report)
    assert after[f.AVAILABLE] < before[f.AVAILABLE]  # the generation was paid with this token
    assert token not in report_json(report) + text_summary(report, evidence=100)


def test_the_shared_configuration_loads_the_spec_with_real_clips_and_uploads_any_part() -> None:
    """What the project's own contract tests use: the upload's media types are serializable (numbers where the
    parts go still make a request) and generated parts are real clips."""
    with emulator_server() as url:
        schema = api_schema(token="nmv_usr_unknown", base_url=url, max_examples=5)
        upload = schema.find_operation_by_id("upload")
        case = upload.Case(
            body={"files": [1, 2]},
            media_type="multipart/form-data",
            path_parameters={"user": "me", "session_id": "1234567890123456789"},
            headers=dict(ATTRIBUTION),
        )
        assert case.call().json()[f.CODE] == Code.TOKEN_INVALID
    bodies: list[typing.Any] = []

    @settings(max_examples=3, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(upload.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def draw(case: typing.Any) -> None:
        bodies.append(case.body)

    draw()
    parts = [part for body in bodies if isinstance(body, dict) for part in body.get(f.FILES, [])]
    assert parts and all(part == clip() for part in parts)


def test_the_configuration_names_what_verify_runs_with() -> None:
    config = schemathesis_config(token="t", seed=5, phases=("examples",), max_examples=4)
    project = config.projects.default
    assert project.generation.max_examples == 4
    assert project.phases.examples.enabled and not project.phases.stateful.enabled
    with pytest.raises(ValueError, match="unknown Schemathesis phases"):
        schemathesis_config(phases=("nope",))


def _report(*results: CheckResult) -> Report:
    return Report(url="http://s", seed=1, status_mode="http", phases=(), results=results, seconds=1.0)


def test_the_reports_agree_on_outcomes() -> None:
    evidence = Evidence("GET /x", 500, "it broke <badly> & loudly", excerpt='{"a": "\\u0000"}', reproduce="curl x")
    report = _report(
        CheckResult("a", "first", Outcome.PASSED),
        CheckResult("b", "second", Outcome.FAILED, reason="no good", evidence=(evidence,)),
        CheckResult("c", "third", Outcome.ERROR, reason="could not"),
        CheckResult("d", "fourth", Outcome.NOT_RUN, reason="no way", source="schemathesis"),
    )
    assert not report.holds() and report.failed == ["b"]
    assert _report(CheckResult("d", "x", Outcome.NOT_RUN)).holds()
    assert not _report(CheckResult("d", "x", Outcome.NOT_RUN)).holds(strict=True)
    data = json.loads(report_json(report))
    assert data["counts"] == {"passed": 1, "failed": 1, "error": 1, "not_run": 1} and data["holds"] is False
    root = ET.fromstring(junit_xml(report))
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert suites["protocol"].get("failures") == "1" and suites["protocol"].get("errors") == "1"
    assert suites["schemathesis"].get("skipped") == "1"
    (failure,) = root.iter("failure")
    assert failure.get("message") == "no good" and "it broke <badly> & loudly" in (failure.text or "")
    text = text_summary(report)
    assert (
        "FAIL     b" in text
        and "reproduce: curl x" in text
        and text.endswith("DOES NOT HOLD: 1 failed, 1 errored, 1 not run, 1 passed in 1.0 s")
    )


def test_verify_imports_neither_the_emulator_nor_schemathesis_until_a_phase_runs() -> None:
    code = (
        "import sys\n"
        "import nemo_contract.verify, nemo_contract._cli\n"
        "from nemo_contract.verify import _checks, _http, _run, _stream, _report\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'mock_server', 'schemathesis', 'starlette'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_token_the_server_refuses_is_a_value_error() -> None:
    with emulator_server() as url, pytest.raises(ValueError, match="the server refuses the token given"):
        verify(url, token="nmv_usr_nobody", phases=())
