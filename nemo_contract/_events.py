"""Reading a turn's event stream: SSE framing, the two event formats, heartbeats, and the GUI words.

Framing is httpx-sse's standards-compliant decoder, fed here chunk by chunk rather than through its
``EventSource`` iterator: that iterator drops comment lines before the caller sees them, and a comment
(``: ping``) is one of the heartbeat forms the client must notice. A bare ``data:`` line decodes to an event with
empty data, which is the documents' own heartbeat.

Two event formats exist (knob ``event_format``): ADK Event JSON (``content.parts`` with ``text``,
``functionCall``, ``functionResponse``; ``actions.stateDelta``) and the typed one (``{"type": "text" |
"tool_call" | "tool_result" | "heartbeat"}``). ``data: {"error": "..."}`` is a failure reported mid-stream.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import typing

from httpx_sse import ServerSentEvent

# The decoders behind httpx-sse's iterators (stable since 0.4); see the module docstring for why.
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

__all__ = ["EventKind", "GuiAction", "StreamReader", "TurnEvent", "interpret", "translate"]


class EventKind(enum.Enum):
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


_COMMENT = object()
_HEARTBEAT = TurnEvent(EventKind.HEARTBEAT)
_OTHER = TurnEvent(EventKind.OTHER)


class StreamReader:
    """Decoded text in, SSE events (and comment markers) out, as soon as each is complete."""

    def __init__(self) -> None:
        self._lines = SSELineDecoder()
        self._events = SSEDecoder()

    def _decode(self, lines: list[str]) -> list[ServerSentEvent | object]:
        found: list[ServerSentEvent | object] = []
        for line in lines:
            if line.startswith(":"):
                found.append(_COMMENT)
                continue
            event = self._events.decode(line)
            if event is not None:
                found.append(event)
        return found

    def feed(self, text: str) -> list[ServerSentEvent | object]:
        return self._decode(self._lines.decode(text)) if text else []

    def close(self) -> list[ServerSentEvent | object]:
        """The end of the stream: a last line without its newline, and an event without its blank line."""
        return self._decode([*self._lines.flush(), ""])


def _adk(event: dict[str, typing.Any]) -> list[TurnEvent]:
    found: list[TurnEvent] = []
    if isinstance(event.get("errorCode"), str) or isinstance(event.get("errorMessage"), str):
        found.append(TurnEvent(EventKind.ERROR, str(event.get("errorMessage") or event.get("errorCode"))))
    content = event.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    if event.get("partial") is True:
        return found  # streaming chunks: the whole text follows in one non-partial event
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str) and not part.get("thought"):
            found.append(TurnEvent(EventKind.TEXT, part["text"]))
        elif isinstance(part.get("functionCall"), dict):
            found.append(TurnEvent(EventKind.TOOL_CALL, str(part["functionCall"].get("name", ""))))
        elif isinstance(part.get("functionResponse"), dict):
            found.append(TurnEvent(EventKind.TOOL_RESULT, str(part["functionResponse"].get("name", ""))))
    return found


def _typed(event: dict[str, typing.Any]) -> list[TurnEvent]:
    kind = event.get("type")
    if kind == "text" and isinstance(event.get("content"), str):
        return [TurnEvent(EventKind.TEXT, event["content"])]
    if kind == "tool_call":
        return [TurnEvent(EventKind.TOOL_CALL, str(event.get("name", "")))]
    if kind == "tool_result":
        return [TurnEvent(EventKind.TOOL_RESULT, str(event.get("name", "")))]
    if kind == "heartbeat":
        return [_HEARTBEAT]
    return [_OTHER]


def interpret(item: ServerSentEvent | object) -> list[TurnEvent]:
    """What one decoded SSE item means for the turn."""
    if not isinstance(item, ServerSentEvent) or not item.data.strip():
        return [_HEARTBEAT]  # a comment, or an empty data: line
    try:
        event = json.loads(item.data)
    except ValueError:
        return [_OTHER]
    if not isinstance(event, dict):
        return [_OTHER]
    if "error" in event and "content" not in event and "type" not in event:
        return [TurnEvent(EventKind.ERROR, str(event["error"]))]
    if isinstance(event.get("type"), str) and not isinstance(event.get("content"), dict):
        return _typed(event)  # ADK's content is an object; the typed format's is a string
    return _adk(event) or [_OTHER]


