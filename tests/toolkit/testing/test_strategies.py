"""Each strategy of ``nemo_contract.testing.strategies`` draws what its docstring promises: held to the recorded
specs, the reference client's routing and the emulator."""

from __future__ import annotations

import functools
import random
import re
import typing

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from mock_server import Config
from mock_server._agent import plan_turn
from nemo_contract import Intent, classify
from nemo_contract._text import mask_quotes
from nemo_contract.protocol import MAX_UPLOAD_BYTES, Code, file_type_for
from nemo_contract.protocol.shapes import draft_is_exportable
from nemo_contract.protocol.specs import ADMIN_SPEC, schema_validator
from nemo_contract.testing import Emulated
from nemo_contract.testing import strategies as s

DRAFT = schema_validator("#/components/schemas/Draft")
FAULT_RULE = schema_validator("#/components/schemas/FaultRule", ADMIN_SPEC)
CONFIG_PATCH = schema_validator("#/components/schemas/ConfigPatch", ADMIN_SPEC)
HAN = re.compile(r"[\u4e00-\u9fff]")
KEYWORDS = [word for words in s.ROUTING_KEYWORDS.values() for word in words]
FAST = settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def emulated() -> typing.Iterator[Emulated]:
    with Emulated(seed=1) as made:
        yield made


def _has_keyword(text: str) -> bool:
    unquoted = mask_quotes(text).lower()
    return any(re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", unquoted) for word in KEYWORDS)


@pytest.mark.parametrize("language", ["en", "zh"])
@FAST
@given(data=st.data())
def test_user_messages_are_in_the_language_asked(language: s.Language, data: st.DataObject) -> None:
    text = data.draw(s.user_messages(language=language))
    assert text.isascii() if language == "en" else bool(HAN.search(text))


@FAST
@given(s.user_messages(routing=True))
def test_messages_with_routing_keywords_are_routed_away_from_the_agent(text: str) -> None:
    assert _has_keyword(text)
    assert classify(text) is not Intent.TURN


@FAST
@given(s.user_messages(routing=False))
def test_messages_without_them_go_to_the_agent(text: str) -> None:
    assert not _has_keyword(text)
    assert classify(text) is Intent.TURN


GENERATED = plan_turn(
    "generate a 10-second video of ocean waves",
    {},
    language="en",
    rng=random.Random(1),
    silent_close_rate=0.0,
    durations=Config().turn_durations,
    cdn_base="http://x",
)
TIMELINE = {"draft": GENERATED.steps[-1].state_delta["draft"]}


def _kind(text: str, state: dict[str, typing.Any]) -> str:
    durations = Config().turn_durations
    return plan_turn(
        text,
        state,
        language=None,
        rng=random.Random(1),
        silent_close_rate=0.0,
        durations=durations,
        cdn_base="http://x",
    ).kind


@pytest.mark.parametrize("kind", ["generation", "edit", "chat"])
@FAST
@given(data=st.data())
def test_the_kinds_of_message_are_what_the_agent_makes_of_them(kind: s.Kind, data: st.DataObject) -> None:
    text = data.draw(s.user_messages(kind=kind))
    on_empty, on_timeline = _kind(text, {}), _kind(text, TIMELINE)
    if kind == "generation":
        assert on_empty == on_timeline == "generation"
    elif kind == "edit":
        assert on_empty == "chat" and on_timeline in ("edit", "chat")  # "generate first", or nothing to change
    else:
        assert on_empty == on_timeline == "chat"
    assert classify(text) is Intent.TURN


def test_kind_is_for_the_agents_messages_only() -> None:
    with pytest.raises(ValueError, match="kind"):
        s.user_messages(routing=True, kind="edit")


@FAST
@given(s.drafts())
def test_drafts_are_valid_exportable_and_a_minute_long_at_most(draft: dict[str, typing.Any]) -> None:
    assert DRAFT.is_valid(draft), [e.message for e in DRAFT.iter_errors(draft)]
    assert draft_is_exportable(draft)
    assert draft["d"] <= 60_000
    ends = [seg["st"] + seg["d"] for track in draft["t"] for seg in track["sg"]]
    assert draft["d"] == max(ends)


def test_drafts_may_be_longer_when_asked_and_never_past_30_minutes() -> None:
    long = find(s.drafts(max_duration_ms=1_800_000), lambda d: d["d"] > 60_000)
    assert DRAFT.is_valid(long)
    with pytest.raises(ValueError, match="max_duration_ms"):
        s.drafts(max_duration_ms=1_800_001)


@FAST
@given(s.nearly_valid_drafts())
def test_nearly_valid_drafts_are_refused_by_the_schema(draft: dict[str, typing.Any]) -> None:
    assert not DRAFT.is_valid(draft)


@FAST
@given(s.upload_files())
def test_upload_files_say_what_the_api_answers(file: s.UploadFile) -> None:
    assert file.file_type == file_type_for(file.name)
    assert file.too_large == (file.size > MAX_UPLOAD_BYTES)
    if file.too_large:
        assert file.expected_code is Code.FILE_TOO_LARGE
    else:
        assert file.expected_code is (Code.SUCCESS if file.file_type else Code.UNSUPPORTED_FILE_TYPE)


def _sized(size: int, file: s.UploadFile) -> bool:
    return file.size == size


def test_upload_files_come_around_the_limit_and_may_be_pinned() -> None:
    for size in (0, MAX_UPLOAD_BYTES, MAX_UPLOAD_BYTES + 1):
        assert find(s.upload_files(), functools.partial(_sized, size)).size == size
    assert find(s.upload_files(accepted=True), lambda file: file.name != file.name.lower()).file_type is not None
    assert find(s.upload_files(too_large=True), lambda file: True).too_large
    assert not find(s.upload_files(too_large=False), lambda file: True).too_large
    assert find(s.upload_files(accepted=False), lambda file: True).file_type is None


@settings(max_examples=15, deadline=None)
@given(s.upload_files(accepted=False, too_large=False))
def test_refused_names_are_refused_by_the_emulator(emulated: Emulated, file: s.UploadFile) -> None:
    with emulated.client() as http:
        token = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "strategies"}).json()["data"]["token"]
        auth = {"Authorization": f"Bearer {token}"}
        session = http.post("/api/tasks/me/with-session/nemo_agent", json={"task_name": "p"}, headers=auth)
        path = f"/api/upload-video/nemo_agent/me/{session.json()['data']['session_id']}"
        answer = http.post(
            path, files={"files": (file.name, b"x" * min(file.size, 64), file.content_type)}, headers=auth
        )
    assert answer.json()["code"] == file.expected_code == Code.UNSUPPORTED_FILE_TYPE


@FAST
@given(s.fault_rules(realistic=False), s.fault_rules())
def test_fault_rules_are_what_the_emulator_takes(
    emulated: Emulated, anything: dict[str, typing.Any], realistic: dict[str, typing.Any]
) -> None:
    for rule in (anything, realistic):
        assert FAULT_RULE.is_valid(rule), rule
    emulated.call(emulated.emulator.configure, faults=[anything, realistic])
    assert realistic.get("latency", 0) <= 30 and realistic.get("times", 1) <= 3
    assert max(realistic.get("cut_after", 0), realistic.get("error_after", 0)) <= 10


@FAST
@given(s.knob_sets(realistic=False), s.knob_sets())
def test_knob_sets_are_what_the_emulator_takes(
    emulated: Emulated, anything: dict[str, typing.Any], realistic: dict[str, typing.Any]
) -> None:
    for knobs in (anything, realistic):
        assert CONFIG_PATCH.is_valid(knobs), [e.message for e in CONFIG_PATCH.iter_errors(knobs)]
        assert "faults" not in knobs and 1 <= len(knobs) <= 4
        emulated.call(emulated.emulator.configure, **knobs)
    assert realistic.get("journal_size", 1000) >= 1000 and realistic.get("token_lifetime", 86_400) >= 86_400
    assert all(high <= 600 for low, high in realistic.get("turn_durations", {}).values())
