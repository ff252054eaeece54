"""The events of a ``/run_sse`` stream: the one encoder (what the emulator writes) and the one classifier (how a
client reads them).

Every event is one ``data: <JSON>`` line and a blank line; the stream ends by closing. Two formats exist (knob
``event_format``): ADK ``Event`` JSON (``content.parts`` with ``text``, ``functionCall``, ``functionResponse``;
``actions.stateDelta``) and the typed one (``{"type": "text" | "tool_call" | "tool_result" | "heartbeat"}``).
Heartbeats take one of three forms (knob ``heartbeat``): a bare ``data:`` line, a ``: ping - <time>`` comment, or
``data: {"type":"heartbeat"}``. A failure mid-stream is ``data: {"error": "..."}``, written as ADK writes it.

The bytes are written here rather than by sse-starlette's encoder because the protocol fixes them exactly.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import typing

from . import APP_NAME, EventFormat, HeartbeatMode
from . import fields as f
from .shapes import dumps

__all__ = [
    "AdkActions",
    "AdkContent",
    "AdkEvent",
    "AdkPart",
    "EventKind",
    "EventWriter",
    "FunctionCall",
    "FunctionResponse",
    "StreamError",
    "TurnEvent",
    "TypedEvent",
    "TypedResult",
    "classify",
    "comment_frame",
    "data_frame",
]

JSON = typing.Any


# -- the shapes of an event's JSON ------------------------------------------------------------------------------


class FunctionCall(typing.TypedDict):
    id: str
    name: str
    args: dict[str, JSON]


class FunctionResponse(typing.TypedDict):
    id: str
    name: str
    response: dict[str, JSON]


class AdkPart(typing.TypedDict, total=False):
    text: str
    thought: bool
    functionCall: FunctionCall
    functionResponse: FunctionResponse


class AdkContent(typing.TypedDict):
    parts: list[AdkPart]
    role: str


class AdkActions(typing.TypedDict, total=False):
    stateDelta: dict[str, JSON]
    artifactDelta: dict[str, JSON]
    requestedAuthConfigs: dict[str, JSON]


class AdkEvent(typing.TypedDict, total=False):
    """One ADK ``Event`` as the stream carries it (camelCase, ``exclude_none``)."""

    content: AdkContent
    invocationId: str
    author: str
    actions: AdkActions
    longRunningToolIds: list[str]
    id: str
    timestamp: float
    partial: bool
    errorCode: str
    errorMessage: str


class TypedResult(typing.TypedDict, total=False):
    """A typed tool result's ``result``: the tool's response keys, and the state change under ``state_delta``."""

    state_delta: dict[str, JSON]


class TypedEvent(typing.TypedDict, total=False):
    """One event of the typed format (``event_format=typed``)."""

    type: typing.Required[str]
    content: str
    name: str
    args: dict[str, JSON]
    result: TypedResult


class StreamError(typing.TypedDict):
    """``data: {"error": "..."}``: a failure mid-stream."""

    error: str


# -- writing -----------------------------------------------------------------------------------------------------


class EventKind(enum.StrEnum):
    """What an event is to a client; the first four are also the typed format's ``type`` values."""

    TEXT = "text"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    HEARTBEAT = "heartbeat"
    ERROR = "error"
    OTHER = "other"


@dataclasses.dataclass(frozen=True, slots=True)
class TurnEvent:
    kind: EventKind
    text: str = ""  # TEXT: the words; ERROR: the reported failure; TOOL_*: the tool's name


def data_frame(data: bytes) -> bytes:
    """One event block: ``data: <data>`` and the blank line that ends it (a bare ``data:`` when empty)."""
    return b"data: " + data + b"\n\n" if data else b"data:\n\n"


def comment_frame(text: str) -> bytes:
    return f": {text}\n\n".encode()


class EventWriter:
    """The bytes of one turn's events, in the format and heartbeat form the knobs say.

    ``new_id`` draws the 8-character id of each ADK event (from the turn's seeded RNG); the typed format has none.
    """

    def __init__(
        self,
        event_format: EventFormat,
        heartbeat: HeartbeatMode,
        *,
        invocation_id: str,
        new_id: typing.Callable[[], str],
    ) -> None:
        self.event_format = event_format
        self.heartbeat_mode = heartbeat
        self.invocation_id = invocation_id
        self._new_id = new_id

    def _adk(self, parts: list[dict[str, JSON]], at: float, *, role: str, extra: dict[str, JSON]) -> bytes:
        state_delta = extra.pop(f.STATE_DELTA, {})
        event = {
            f.CONTENT: {f.PARTS: parts, f.ROLE: role},
            f.INVOCATION_ID: self.invocation_id,
            f.AUTHOR: APP_NAME,
            f.ACTIONS: {f.STATE_DELTA: state_delta, f.ARTIFACT_DELTA: {}, f.REQUESTED_AUTH_CONFIGS: {}},
            **extra,
            f.ID: self._new_id(),
            f.TIMESTAMP: round(at, 6),
        }
        return data_frame(dumps(event))

    def text(self, words: str, at: float) -> bytes:
        if self.event_format is EventFormat.TYPED:
            return data_frame(dumps({f.TYPE: EventKind.TEXT.value, f.CONTENT: words}))
        return self._adk([{f.TEXT: words}], at, role="model", extra={})

    def tool_call(self, call_id: str, name: str, args: dict[str, JSON], at: float) -> bytes:
        if self.event_format is EventFormat.TYPED:
            return data_frame(dumps({f.TYPE: EventKind.TOOL_CALL.value, f.NAME: name, f.ARGS: args}))
        part = {f.FUNCTION_CALL: {f.ID: call_id, f.NAME: name, f.ARGS: args}}
        return self._adk([part], at, role="model", extra={f.LONG_RUNNING_TOOL_IDS: []})

    def tool_result(
        self, call_id: str, name: str, response: dict[str, JSON], state_delta: dict[str, JSON], at: float
    ) -> bytes:
        if self.event_format is EventFormat.TYPED:
            result = {**response, f.TYPED_STATE_DELTA: state_delta} if state_delta else response
            return data_frame(dumps({f.TYPE: EventKind.TOOL_RESULT.value, f.NAME: name, f.RESULT: result}))
        part = {f.FUNCTION_RESPONSE: {f.ID: call_id, f.NAME: name, f.RESPONSE: response}}
        return self._adk([part], at, role="user", extra={f.STATE_DELTA: state_delta})

    def heartbeat(self, at: float) -> bytes:
        if self.heartbeat_mode is HeartbeatMode.COMMENT:
            return comment_frame(f"ping - {datetime.datetime.fromtimestamp(at, tz=datetime.UTC)}")
        if self.heartbeat_mode is HeartbeatMode.JSON:
            return data_frame(dumps({f.TYPE: EventKind.HEARTBEAT.value}))
        return data_frame(b"")

    @staticmethod
    def error(reason: str) -> bytes:
        # ADK writes this one with json.dumps defaults (a space after the colon).
        return data_frame(json.dumps({f.ERROR: reason}).encode())


# -- reading ------------------------------------------------------------------------------------------------------


_HEARTBEAT = TurnEvent(EventKind.HEARTBEAT)
_OTHER = TurnEvent(EventKind.OTHER)


def _adk_events(event: dict[str, JSON]) -> list[TurnEvent]:
    found: list[TurnEvent] = []
    code, reason = event.get(f.ERROR_CODE), event.get(f.ERROR_MESSAGE)
    if isinstance(code, str) or isinstance(reason, str):
        found.append(TurnEvent(EventKind.ERROR, str(reason or code)))
    if event.get(f.PARTIAL) is True:
        return found  # streaming chunks: the whole text follows in one non-partial event
    content = event.get(f.CONTENT)
    parts = content.get(f.PARTS) if isinstance(content, dict) else None
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict):
            continue
        call, response = part.get(f.FUNCTION_CALL), part.get(f.FUNCTION_RESPONSE)
        if isinstance(part.get(f.TEXT), str) and not part.get(f.THOUGHT):
            found.append(TurnEvent(EventKind.TEXT, part[f.TEXT]))
        elif isinstance(call, dict):
            found.append(TurnEvent(EventKind.TOOL_CALL, str(call.get(f.NAME, ""))))
        elif isinstance(response, dict):
            found.append(TurnEvent(EventKind.TOOL_RESULT, str(response.get(f.NAME, ""))))
    return found


def _typed_events(event: dict[str, JSON]) -> list[TurnEvent]:
    kind = event.get(f.TYPE)
    if kind == EventKind.TEXT and isinstance(event.get(f.CONTENT), str):
        return [TurnEvent(EventKind.TEXT, event[f.CONTENT])]
    if kind in (EventKind.TOOL_CALL, EventKind.TOOL_RESULT):
        return [TurnEvent(EventKind(kind), str(event.get(f.NAME, "")))]
    if kind == EventKind.HEARTBEAT:
        return [_HEARTBEAT]
    return [_OTHER]


def classify(data: str | None) -> list[TurnEvent]:
    """What one SSE event means for a turn. ``data`` is the event's data; None stands for a comment line.

    A comment, an empty ``data:`` and ``{"type":"heartbeat"}`` are heartbeats; ``{"error": ...}`` alone is a
    failure; an ADK event may hold several parts (a text and a tool call, say), hence a list.
    """
    if data is None or not data.strip():
        return [_HEARTBEAT]
    try:
        event = json.loads(data)
    except ValueError:
        return [_OTHER]
    if not isinstance(event, dict):
        return [_OTHER]
    if f.ERROR in event and f.CONTENT not in event and f.TYPE not in event:
        return [TurnEvent(EventKind.ERROR, str(event[f.ERROR]))]
    if isinstance(event.get(f.TYPE), str) and not isinstance(event.get(f.CONTENT), dict):
        return _typed_events(event)  # ADK's content is an object; the typed format's is a string
    return _adk_events(event) or [_OTHER]
