"""Each rule inside a check, shown with an answer that breaks it: streams, renders and statuses made up here as
they would arrive (chunk bytes and arrival times), judged by the same functions a run uses."""

from __future__ import annotations

import typing

import httpx
import pytest

from nemo_contract.protocol import Code, StatusMode
from nemo_contract.protocol import fields as f
from nemo_contract.protocol.shapes import read_render
from nemo_contract.verify._checks import RenderRun, judge_render, judge_retry_after, judge_statuses
from nemo_contract.verify._http import Answer, Masker, NotRun, Recorder, Seen, StreamRead
from nemo_contract.verify._stream import close, frames, heartbeats, streaming

ADK = (
    b'data: {"content":{"parts":[{"text":"Hi"}],"role":"model"},"invocationId":'
    b'"e-6a1f0c2e-8d4b-4f7a-9c3e-2b5d7f9a1c04","author":"nemo_agent","actions":{"stateDelta":{},'
    b'"artifactDelta":{},"requestedAuthConfigs":{}},"id":"x1","timestamp":1.5}\n\n'
)
TYPED = b'data: {"type":"text","content":"Hi"}\n\n'
MASK = Masker()


def stream(
    *chunks: tuple[float, bytes], end: typing.Literal["closed", "cut", "timeout"] = "closed", ended: float = 1.0
) -> StreamRead:
    body = b"".join(data for _, data in chunks)
    answer = Answer("POST /run_sse", 200, httpx.Headers({"content-type": "text/event-stream"}), body, None)
    return StreamRead(answer, list(chunks), ended, end, "" if end == "closed" else "what happened")


def notes(found: list[typing.Any]) -> list[str]:
    return [item.note for item in found]


def test_a_well_formed_stream_passes_every_stream_rule() -> None:
    read = stream((0.0, ADK), (0.3, b"data:\n\n"), (0.6, b"data:\n\n"), (1.0, ADK))
    assert frames(read, MASK) == heartbeats(read, MASK) == close(read, MASK) == streaming(read, MASK) == []


def test_crlf_line_ends_are_sse_too() -> None:
    read = stream((0.0, ADK.replace(b"\n", b"\r\n")), (0.5, b"data:\r\n\r\n"), (1.0, TYPED.replace(b"\n", b"\r\n")))
    assert notes(frames(read, MASK)) == ["ADK events and typed events in one stream: a stream uses one format"]


@pytest.mark.parametrize(
    ("chunk", "says"),
    [
        (b"id: 7\n" + ADK, "a field `id:`"),
        (b"retry: 10\n\n", "a field `retry:`"),
        (ADK[:-2] + b"\ndata: more\n\n", "an event of 2 lines"),
        (b"data: [DONE]\n\n", "the data is not JSON"),
        (b'data: {"content":"Hi"}\n\n', "not a StreamEvent of the spec"),
    ],
)
def test_frames_that_break_a_rule(chunk: bytes, says: str) -> None:
    (found,) = frames(stream((0.0, ADK), (0.5, chunk)), MASK)
    assert says in found.note and found.excerpt


def test_heartbeats_in_two_forms_or_none_of_three() -> None:
    mixed = stream((0.0, ADK), (0.2, b"data:\n\n"), (0.4, b": ping - 2026-03-13 00:00:15+00:00\n\n"))
    assert notes(heartbeats(mixed, MASK)) == ["heartbeats in 2 forms (comment, empty): a server uses one"]
    odd = stream((0.0, ADK), (0.2, b'data: {"type":"heartbeat","n":1}\n\n'))
    assert "none of the three forms" in notes(heartbeats(odd, MASK))[0]
    with pytest.raises(NotRun, match="no heartbeat"):
        heartbeats(stream((0.0, ADK)), MASK)


def test_a_stream_left_open_or_cut_does_not_end_by_closing() -> None:
    assert notes(close(stream((0.0, ADK), end="timeout"), MASK)) == ["the stream did not end: what happened"]
    (cut,) = notes(close(stream((0.0, ADK), end="cut"), MASK))
    assert cut.startswith("the connection broke before the answer ended")


def test_streaming_needs_time_to_tell() -> None:
    with pytest.raises(NotRun, match="too short"):
        streaming(stream((0.0, ADK), (0.01, ADK), ended=0.01), MASK)
    with pytest.raises(NotRun, match="did not end normally"):
        streaming(stream((0.0, ADK), end="cut"), MASK)
    (late,) = streaming(stream((0.995, ADK + ADK), ended=1.0), MASK)
    assert "buffered" in late.note


def _render(*bodies: dict[str, typing.Any], stopped: bool = False) -> RenderRun:
    seen = [
        (Answer("GET /api/render/proxy/lambda/r1", 200, httpx.Headers(), b"{}", body), read_render(body))
        for body in bodies
    ]
    return RenderRun(seen, seen[-1][0].evidence("the render had not ended", MASK) if stopped else None)


def _at(status: str, progress: int = 0) -> dict[str, typing.Any]:
    return {f.CODE: Code.SUCCESS, f.ID: "r1", f.STATUS: status, f.PROGRESS: progress}


def test_render_rules() -> None:
    assert (
        judge_render(_render(_at("pending"), _at("processing", 40), _at("completed", 100), _at("completed")), MASK)
        == []
    )
    assert notes(judge_render(_render(_at("processing", 50), _at("pending")), MASK)) == [
        "the render's status went from processing to pending"
    ]
    assert notes(judge_render(_render(_at("failed"), _at("completed")), MASK)) == [
        "the render's status went from failed to completed"
    ]
    assert notes(judge_render(_render(_at("processing", 50), _at("processing", 20)), MASK)) == [
        "the render's progress went from 50 to 20"
    ]
    assert "none of" in notes(judge_render(_render(_at("queued")), MASK))[0]
    assert notes(judge_render(_render(_at("processing"), stopped=True), MASK)) == ["the render had not ended"]


def _seen(status: int, code: int | None, retry_after: str | None = None) -> Seen:
    return Seen("GET /api/credits/balance/simple", status, code, retry_after, "")


def test_statuses_are_held_to_the_mode() -> None:
    answers = [_seen(401, Code.TOKEN_INVALID), _seen(404, Code.SESSION_NOT_FOUND), _seen(200, Code.SUCCESS)]
    assert judge_statuses(answers, StatusMode.HTTP) == []
    assert len(judge_statuses(answers, StatusMode.ALWAYS200)) == 2
    assert notes(judge_statuses([_seen(201, Code.SUCCESS)], StatusMode.HTTP)) == [
        "code 0 came with HTTP 201; under status_mode=http it is sent with 200"
    ]
    with pytest.raises(NotRun):
        judge_statuses([], None)


def test_the_mode_is_what_most_error_answers_show() -> None:
    recorder = Recorder(MASK)
    for status, code in ((200, Code.TOKEN_INVALID), (404, Code.SESSION_NOT_FOUND), (400, Code.BAD_REQUEST)):
        recorder.note(
            "GET /x",
            status,
            {"content-type": "application/json"},
            f'{{"code":{code},"message":"m","data":null}}'.encode(),
        )
    assert recorder.mode() is StatusMode.HTTP
    assert notes(judge_statuses(recorder.seen, recorder.mode())) == [
        "code 1001 came with HTTP 200; under status_mode=http it is sent with 401"
    ]


def test_retry_after_rules() -> None:
    assert judge_retry_after([_seen(429, Code.RATE_LIMITED, "30")]) == []
    assert notes(judge_retry_after([_seen(200, Code.RATE_LIMITED)])) == ["a 429 without Retry-After"]
    assert notes(judge_retry_after([_seen(429, None, "Wed, 21 Oct 2026 07:28:00 GMT")])) == [
        "Retry-After is 'Wed, 21 Oct 2026 07:28:00 GMT': integer seconds expected"
    ]
    with pytest.raises(NotRun, match="no answer was a 429"):
        judge_retry_after([_seen(401, Code.TOKEN_INVALID)])


def test_token_values_are_masked() -> None:
    masker = Masker()
    masker.add("secret-token-value")
    assert masker("a secret-token-value and nmv_usr_abc-123 here") == "a <token> and <token> here"
