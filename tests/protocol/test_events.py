"""The one encoder and the one classifier: every event the emulator can write reads back as what was meant."""

from __future__ import annotations

import json

import httpx
import httpx_sse
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nemo_contract.protocol import EventFormat, HeartbeatMode
from nemo_contract.protocol.events import EventKind, EventWriter, TurnEvent, classify
from nemo_contract.protocol.specs import API_SPEC, schema_validator

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_ARGS = st.dictionaries(st.text(min_size=1, max_size=8), _JSON, max_size=3)
_NAMES = st.sampled_from(["edit_multitrack", "generate_music", "understand_video", "generate_video_with_seedance"])
_WORDS = st.text(min_size=1, max_size=200).filter(str.strip)


def _writer(event_format: EventFormat, heartbeat: HeartbeatMode) -> EventWriter:
    return EventWriter(
        event_format, heartbeat, invocation_id="e-6f1c2a4b-8d3e-4f5a-9b7c-0d1e2f3a4b5c", new_id=lambda: "abcdefgh"
    )


def _read(frame: bytes) -> list[TurnEvent]:
    """Parse one frame as a client would (httpx-sse), a comment line standing for a heartbeat, then classify."""
    events: list[TurnEvent] = []
    text = frame.decode()
    if text.startswith(":"):
        return classify(None)
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=frame)
    for sse in httpx_sse.EventSource(response).iter_sse():
        events += classify(sse.data)
    return events


@st.composite
def _frames(draw: st.DrawFn) -> tuple[EventKind, str, bytes]:
    """(what is meant, the words or tool name a client must read, the frame a writer of any event format and
    heartbeat mode writes for it)."""
    kind = draw(st.sampled_from([k for k in EventKind if k is not EventKind.OTHER]))
    at = draw(st.floats(1e9, 2e9))
    writer = _writer(draw(st.sampled_from(EventFormat)), draw(st.sampled_from(HeartbeatMode)))
    if kind is EventKind.TEXT:
        words = draw(_WORDS)
        return kind, words, writer.text(words, at)
    if kind is EventKind.TOOL_CALL:
        name, args = draw(_NAMES), draw(_ARGS)
        return kind, name, writer.tool_call("adk-1", name, args, at)
    if kind is EventKind.TOOL_RESULT:
        name, response, delta = draw(_NAMES), draw(_ARGS), draw(_ARGS)
        return kind, name, writer.tool_result("adk-1", name, response, delta, at)
    if kind is EventKind.ERROR:
        reason = draw(_WORDS)
        return kind, reason, writer.error(reason)
    return kind, "", writer.heartbeat(at)


@given(_frames())
def test_every_event_the_encoder_writes_classifies_back_to_what_was_meant(
    written: tuple[EventKind, str, bytes],
) -> None:
    kind, text, frame = written
    assert frame.endswith(b"\n\n") and b"\n\n" not in frame[:-2]  # one event block
    assert _read(frame) == [TurnEvent(kind, text)]


@given(_frames())
def test_every_data_event_is_one_the_spec_describes(written: tuple[EventKind, str, bytes]) -> None:
    frame = written[2].decode()
    if frame.startswith(":") or frame == "data:\n\n":
        return  # a comment or a bare data line: heartbeats without JSON
    data = json.loads(frame.removeprefix("data: "))
    errors = [e.message for e in schema_validator("#/components/schemas/StreamEvent", API_SPEC).iter_errors(data)]
    assert not errors


@pytest.mark.parametrize(
    ("data", "read"),
    [
        ('{"content":{"parts":[{"text":"Hello"}],"role":"model"}}', [TurnEvent(EventKind.TEXT, "Hello")]),
        # a model's thought, and streaming chunks (the whole text follows), are not text for the user
        ('{"content":{"parts":[{"text":"thinking","thought":true}]}}', [TurnEvent(EventKind.OTHER)]),
        ('{"content":{"parts":[{"text":"Hel"}]},"partial":true}', [TurnEvent(EventKind.OTHER)]),
        ('{"errorCode":"UNKNOWN_ERROR","errorMessage":"model failed"}', [TurnEvent(EventKind.ERROR, "model failed")]),
        ('{"error": "agent run failed"}', [TurnEvent(EventKind.ERROR, "agent run failed")]),
        ('{"type":"heartbeat"}', [TurnEvent(EventKind.HEARTBEAT)]),
        ('{"type":"surprise"}', [TurnEvent(EventKind.OTHER)]),
        ("", [TurnEvent(EventKind.HEARTBEAT)]),
        (None, [TurnEvent(EventKind.HEARTBEAT)]),
        ("not json", [TurnEvent(EventKind.OTHER)]),
        ("[1, 2]", [TurnEvent(EventKind.OTHER)]),
        (
            '{"content":{"parts":[{"text":"a"},{"functionCall":{"name":"g","args":{}}}]}}',
            [TurnEvent(EventKind.TEXT, "a"), TurnEvent(EventKind.TOOL_CALL, "g")],
        ),
    ],
)
def test_what_other_servers_send_is_read_too(data: str | None, read: list[TurnEvent]) -> None:
    assert classify(data) == read


def test_a_broken_encoder_is_caught() -> None:
    """The round trip can fail: a tool call written with the text key reads back as text, not a tool call."""
    frame = b'data: {"content":{"parts":[{"text":"edit_multitrack"}],"role":"model"}}\n\n'
    assert _read(frame) != [TurnEvent(EventKind.TOOL_CALL, "edit_multitrack")]
