"""The recorded API spec's ``/run_sse`` events and links, in Schemathesis: a contract run checks each event of a
stream (a documented stream passes, a wrong event fails), and the stateful links resolve."""

from __future__ import annotations

import json
import typing
from collections.abc import AsyncIterator

import pytest
import schemathesis
from schemathesis.checks import response_schema_conformance
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi.stateful import collect_transitions
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from nemo_contract import protocol

from .test_specs import MAIN, META, SEGMENT, Json

# ---------------------------------------------------------------------------------------------- stream events


INVOCATION = "e-6a1f0c2e-8d4b-4f7a-9c3e-2b5d7f9a1c04"


def _adk(parts: list[Json], *, role: str = "model", state_delta: Json = None, **extra: Json) -> Json:
    return {
        "content": {"parts": parts, "role": role},
        "invocationId": INVOCATION,
        "author": protocol.APP_NAME,
        "actions": {"stateDelta": state_delta or {}, "artifactDelta": {}, "requestedAuthConfigs": {}},
        "id": "4f2c9a71",
        "timestamp": 1773914100.25,
        **extra,
    }


def _data(event: Json) -> bytes:
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


CALL = {"functionCall": {"id": "adk-1", "name": "edit_multitrack", "args": {"volume": 0.35}}}
RESULT = {"functionResponse": {"id": "adk-1", "name": "edit_multitrack", "response": {"status": "success"}}}
DRAFT = {"t": [{"tt": 1, "sg": [dict(SEGMENT, n="Lo-fi", v=0.35)]}], "d": 10000, "m": META}

GOOD_STREAMS = {
    "adk-turn": [
        _data(_adk([{"text": "Adding music now."}])),
        _data(_adk([CALL], longRunningToolIds=[])),
        b"data:\n\n",
        b": ping - 2026-03-19 09:15:15.000000+00:00\n\n",
        _data({"type": "heartbeat"}),
        _data(_adk([RESULT], role="user", state_delta={"draft": DRAFT, "canvas_config": {}})),
        _data(_adk([{"text": "Done! Preview it in the timeline."}])),
    ],
    "typed-turn": [
        _data({"type": "text", "content": "Adding music now."}),
        _data({"type": "tool_call", "name": "edit_multitrack", "args": {}}),
        _data({"type": "heartbeat"}),
        _data({"type": "tool_result", "name": "edit_multitrack", "result": {"status": "success"}}),
    ],
    "failed-turn": [_data(_adk([CALL])), _data({"error": "I encountered a temporary issue"})],
    "silent-close": [_data(_adk([CALL])), b"data:\n\n", _data(_adk([RESULT], role="user", state_delta={"draft": {}}))],
}

BAD_STREAMS = {
    "timestamp-as-string": ([_data(_adk([{"text": "hi"}])), _data(_adk([{"text": "hi"}], timestamp="soon"))], 1),
    "unknown-role": ([_data(_adk([{"text": "hi"}], role="assistant"))], 0),
    "bad-draft-in-state-delta": ([_data(_adk([RESULT], role="user", state_delta={"draft": {"t": "x"}}))], 0),
    "typed-text-without-content": ([_data({"type": "heartbeat"}), _data({"type": "text"})], 1),
    "not-json": ([b"data: hello\n\n"], 0),
    "named-event": ([b"event: done\ndata: {}\n\n"], 0),
}


def _sse_app(chunks: list[bytes]) -> Starlette:
    async def run_sse(request: Request) -> StreamingResponse:
        async def stream() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        return StreamingResponse(stream(), media_type="text/event-stream")

    return Starlette(routes=[Route(protocol.PATHS.run_sse, run_sse, methods=["POST"])])


def _call_run_sse(chunks: list[bytes]) -> tuple[schemathesis.Case[typing.Any], schemathesis.Response]:
    schema = schemathesis.openapi.from_path(MAIN)
    schema.app = _sse_app(chunks)
    case = schema[protocol.PATHS.run_sse]["POST"].Case(
        body={
            "app_name": protocol.APP_NAME,
            "session_id": "7301846529173640192",
            "new_message": {"parts": [{"text": "hi"}]},
        },
        headers={"Authorization": "Bearer nmv_usr_test"},
    )
    response = case.call()
    assert response.status_code == 200
    assert response.headers["content-type"][0].startswith("text/event-stream")
    return case, response


@pytest.mark.parametrize("chunks", GOOD_STREAMS.values(), ids=GOOD_STREAMS.keys())
def test_schemathesis_accepts_documented_streams(chunks: list[bytes]) -> None:
    case, response = _call_run_sse(chunks)
    case.validate_response(response, checks=[response_schema_conformance])


@pytest.mark.parametrize(("chunks", "index"), BAD_STREAMS.values(), ids=BAD_STREAMS.keys())
def test_schemathesis_rejects_a_wrong_stream_event(chunks: list[bytes], index: int) -> None:
    case, response = _call_run_sse(chunks)
    with pytest.raises(FailureGroup) as raised:
        case.validate_response(response, checks=[response_schema_conformance])
    failures = raised.value.exceptions
    assert len(failures) == 1
    failure = failures[0]
    assert isinstance(failure, JsonSchemaError)
    assert failure.title == "SSE event violates schema"
    assert failure.message.startswith(f"Event #{index}:")


# ---------------------------------------------------------------------------------------------- stateful links


def test_links_resolve_in_schemathesis() -> None:
    schema = schemathesis.openapi.from_path(MAIN)
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results)
    transitions = collect_transitions(operations)
    declared = {
        (link.source.definition.raw["operationId"], link.target.definition.raw["operationId"])
        for outgoing in transitions.operations.values()
        for link in outgoing.outgoing
        if not link.is_inferred
    }
    assert {
        ("anonymousToken", "createSession"),
        ("createSession", "upload"),
        ("createSession", "getState"),
        ("createSession", "runSse"),
        ("getState", "startRender"),
        ("startRender", "getRender"),
        ("startRender", "cancelRender"),
        ("startRender", "downloadRender"),
        ("getRender", "getRenderFile"),
    } <= declared
    schema.as_state_machine()
