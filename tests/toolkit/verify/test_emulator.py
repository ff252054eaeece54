"""verify holds against the emulator under every value of the knobs that change what is on the wire."""

from __future__ import annotations

import enum
import typing

import pytest

from nemo_contract.protocol import EventFormat, HeartbeatMode, RenderShape, StatusMode
from nemo_contract.verify import CHECKS, Outcome, text_summary, verify

from .conftest import emulator_server

#: Every value of the four knobs appears in one variant at least (the defaults in the first).
VARIANTS: dict[str, dict[str, typing.Any]] = {
    "http-adk-empty-toplevel": {},
    "always200-typed-comment-wrapped": {
        "status_mode": "always200",
        "event_format": "typed",
        "heartbeat": "comment",
        "render_shape": "wrapped",
    },
    "json-heartbeats": {"heartbeat": "json"},
}
KNOBS: dict[str, type[enum.StrEnum]] = {
    "status_mode": StatusMode,
    "event_format": EventFormat,
    "heartbeat": HeartbeatMode,
    "render_shape": RenderShape,
}


def test_the_variants_cover_every_value_of_the_four_knobs() -> None:
    for knob, values in KNOBS.items():
        every = [member.value for member in values]
        shown = {variant.get(knob, every[0]) for variant in VARIANTS.values()}  # the first value is the default
        assert shown == set(every), knob


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_verify_holds_against_the_emulator(variant: str) -> None:
    knobs = VARIANTS[variant]
    with emulator_server(**knobs) as url:
        report = verify(url, max_examples=3, seed=7, timeout=30)
    assert report.holds(), text_summary(report)
    assert report.status_mode == knobs.get("status_mode", StatusMode.HTTP.value)
    # Every check of ours ran and passed; of Schemathesis's, only ignored_auth stands aside under always200.
    always200 = report.status_mode == StatusMode.ALWAYS200
    assert report.outcomes(Outcome.NOT_RUN) == (["ignored_auth"] if always200 else [])
    assert [r.name for r in report.results if r.source == "protocol"] == [check.name for check in CHECKS]
    assert report.result("schemathesis").count > 100
    assert report.result("response_schema_conformance").outcome is Outcome.PASSED
