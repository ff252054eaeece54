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


# -- GUI words ----------------------------------------------------------------------------------------------------


class GuiAction(enum.Enum):
    """What a GUI instruction of the backend becomes."""

    TIMELINE = "timeline"  # "open ..." / "preview in timeline" -> read the state, show the track summary
    EXPORT = "export"  # "click Export" / "Export button" / "导出" -> run the export workflow
    EDIT = "edit"  # "drag ..." / "click <something else>" -> send that edit through /run_sse


_SENTENCE = re.compile(r"[^\n]+?(?:[.!?]+(?=\s|$)|[。！？]+|(?=\n)|$)")
_CLICK = re.compile(r"(?<![a-z])(?:click|tap|press)(?:ing|s)?(?![a-z])|点击|单击|点一下", re.I)
_OPEN = re.compile(r"(?<![a-z])open(?![a-z])|打开", re.I)
_DRAG = re.compile(r"(?<![a-z])(?:drag|drop)(?:ging|s)?(?![a-z])|拖拽|拖动|拖到", re.I)
_PREVIEW = re.compile(r"(?<![a-z])preview(?![a-z])|预览", re.I)
_WIDGET = re.compile(r"(?<![a-z])(?:button|panel|menu|tab)(?![a-z])|按钮|面板|菜单", re.I)
_EXPORT = re.compile(r"(?<![a-z])export(?![a-z])|导出", re.I)
_TIMELINE = re.compile(r"(?<![a-z])timeline(?![a-z])|时间线|时间轴|轨道", re.I)
_BUTTON_EXPORT = re.compile(r"(?<=[a-z,] )Export(?![a-z])")  # "use Export to save": a capitalised label


@dataclasses.dataclass(frozen=True, slots=True)
class Translation:
    text: str  # what the user reads: the text without the GUI instructions
    actions: tuple[tuple[GuiAction, str], ...]  # each with the sentence it came from


def _actions_of(sentence: str) -> list[GuiAction]:
    gui = any(p.search(sentence) for p in (_CLICK, _OPEN, _DRAG, _PREVIEW, _WIDGET, _BUTTON_EXPORT))
    if not gui:
        return []
    actions = []
    if _EXPORT.search(sentence):
        actions.append(GuiAction.EXPORT)
    if _PREVIEW.search(sentence) or _OPEN.search(sentence) or (_TIMELINE.search(sentence) and not actions):
        actions.append(GuiAction.TIMELINE)
    if _DRAG.search(sentence) or (_CLICK.search(sentence) and not actions):
        actions.append(GuiAction.EDIT)
    return actions


def translate(text: str) -> Translation:
    """Take the backend's GUI instructions out of ``text`` and say what to do instead."""
    keep: list[str] = []
    actions: list[tuple[GuiAction, str]] = []
    cursor = 0
    for match in _SENTENCE.finditer(text):
        found = _actions_of(match.group(0))
        if found:
            keep.append(text[cursor : match.start()])
            cursor = match.end()
            actions += [(action, match.group(0).strip()) for action in found]
    keep.append(text[cursor:])
    remaining = re.sub(r"[ \t]{2,}", " ", "".join(keep))
    remaining = re.sub(r"\n{3,}", "\n\n", remaining).strip()
    return Translation(remaining, tuple(actions))
