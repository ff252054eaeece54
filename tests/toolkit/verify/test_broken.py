"""Servers wrong in exactly one way make verify fail, naming that one check and showing the offending answer."""

from __future__ import annotations

import json
import re

import pytest

from nemo_contract.verify import Outcome, report_json, text_summary, verify

from .broken import BROKEN, Broken, UserIdRenamed
from .conftest import broken_server


@pytest.mark.parametrize("kind", BROKEN, ids=lambda kind: kind.__name__)
def test_a_server_wrong_in_one_way_fails_that_check_alone(kind: type[Broken]) -> None:
    # Our checks see each of these alone; a wrong field needs Schemathesis, whose examples phase sends a token
    # request from the spec's own example.
    phases = ("examples",) if kind is UserIdRenamed else ()
    with broken_server(kind) as url:
        report = verify(url, phases=phases, max_examples=3, seed=7, timeout=10)
    assert report.failed == [kind.breaks], text_summary(report)
    assert not report.holds()
    assert report.outcomes(Outcome.ERROR) == report.outcomes(Outcome.NOT_RUN) == [], text_summary(report)
    found = report.result(kind.breaks)
    assert found.evidence and found.evidence[0].request
    assert kind.shows in found.evidence[0].note + found.reason, text_summary(report)


def test_no_token_value_reaches_the_report() -> None:
    """The wrong token answer's body, shown as evidence, carries a token: the report masks it."""
    with broken_server(UserIdRenamed) as url:
        report = verify(url, phases=("examples",), max_examples=3, seed=7, timeout=10)
    text = report_json(report) + text_summary(report, evidence=100)
    assert re.search(r"nmv_usr_[A-Za-z0-9_-]", text) is None  # (the spec's pattern, quoted, may stay)
    assert "<token>" in json.dumps(report.result("response_schema_conformance").to_dict())
