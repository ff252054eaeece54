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

from ._text import mask_quotes

__all__ = [
    "EventKind",
    "GuiAction",
    "StreamReader",
    "Translation",
    "TurnEvent",
    "interpret",
    "says_unchanged",
    "translate",
]


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
#
# The backend talks as if the user sat in front of its web editor. Only an *instruction* to the user is translated:
# an imperative GUI verb with a GUI object ("click the Export button", "open the Timeline panel", "drag the title
# to 2s", "preview in timeline", 点击导出, 打开时间线面板, 拖拽标题). A GUI word anywhere else ("a click track",
# "the beat will drop", a quoted title such as "Drag Race") is just a word, and its sentence reaches the user.


class GuiAction(enum.Enum):
    """What a GUI instruction of the backend becomes."""

    EXPORT = "export"  # "click Export" / "use the Export button" / 点击导出 -> run the export workflow
    TIMELINE = "timeline"  # "open the Timeline panel" / "preview in timeline" -> show the track summary
    EDIT = "edit"  # "drag the title ..." / "click Apply" -> an edit the user was asked to make by hand


#: One unit of a reply: a sentence, or a clause ended by a semicolon (so "3 tracks so far; open the Timeline panel
#: to see them" keeps its news). Found in the masked text, so a quoted "Hi." ends nothing.
_UNIT = re.compile(r"[^\n]+?(?:[.!?;]+(?=\s|$)|[。！？；]+|(?=\n)|$)")

# English: a verb in the imperative (at the start of a clause, or after "then", "and", "you can"...) and its object.
_LEAD = (
    r"(?:^\s*|[,:(—–]\s*|\b(?i:then|and|or|please|just|simply|now|first|also|you\s+can|you\s+could|you\s+may"
    r"|feel\s+free\s+to|remember\s+to|make\s+sure\s+to)\s+)(?:(?i:please|just|simply|now|then|also)\s+)*"
)
_WIDGET = r"(?i:button|panel|tab|menu|icon|window|toolbar|sidebar)\b"
_LABEL = r"(?:\"[^\"\n]*\"|“[^”\n]*”|‘[^’\n]*’|「[^」\n]*」|『[^』\n]*』|[A-Z][\w-]*(?:\s+[A-Z][\w-]*){0,2})"
_ART = r"(?:(?i:the|your|this|that)\s+)?"
_ENGLISH: tuple[tuple[str, str], ...] = (
    # (kind, pattern of the verb and its object); the object decides EXPORT / TIMELINE / EDIT for clicks
    (
        "click",
        rf"(?i:click|tap|hit|select|choose)(?:\s+(?i:on))?\s+{_ART}(?:{_LABEL}(?:\s+{_WIDGET})?(?![\w-])"
        rf"|(?:[\w-]+\s+){{0,2}}{_WIDGET})",
    ),
    ("click", rf"(?i:use|press|push)\s+{_ART}(?:{_LABEL}\s+|(?:[\w-]+\s+){{0,2}}){_WIDGET}"),
    (
        "open",
        rf"(?i:open)(?:\s+(?i:up))?\s+{_ART}(?:(?:{_LABEL}|[\w-]+)\s+){{0,2}}(?:{_WIDGET}|(?i:timeline|editor)\b)",
    ),
    ("timeline", r"(?i:preview)(?:\s+(?i:it|this|that|them|the\s+[\w-]+))?\s+(?i:in|on)\s+(?i:the\s+)?(?i:timeline)\b"),
    (
        "timeline",
        rf"(?i:take\s+a\s+look|look|check(?:\s+(?i:it|this|them))?)\s+(?i:in|at)\s+(?i:the\s+)?"
        rf"(?:{_LABEL}\s+)?(?i:timeline)\b",
    ),
    ("drag", r"(?i:drag)(?:\s+(?i:and\s+drop))?\s+(?i:it|them|this|that|the|your|each|a|an)\b"),
)
_CHINESE: tuple[tuple[str, str], ...] = (
    ("click", r"(?:点击|单击|点一下|轻点)(?![率量数])[^，。！？；,.!?;\n]{1,12}"),  # not 点击率, "click rate"
    ("open", r"打开[^，。！？；,.!?;\n]{0,10}?(?:面板|时间线|时间轴|菜单|编辑器|预览)"),
    ("timeline", r"时间[线轴](?:中|里|上)?(?:预览|查看)"),
    ("drag", r"(?:拖拽|拖动)[^，。！？；,.!?;\n]{1,12}"),
)
_INSTRUCTIONS = tuple(
    [(kind, re.compile(_LEAD + pattern)) for kind, pattern in _ENGLISH]
    + [(kind, re.compile(pattern)) for kind, pattern in _CHINESE]
)
_EXPORT_OBJECT = re.compile(r"(?i:export|download)|导出|下载")
_TIMELINE_OBJECT = re.compile(r"(?i:timeline)|时间线|时间轴")
_ORDER = (GuiAction.EXPORT, GuiAction.TIMELINE, GuiAction.EDIT)

#: The backend saying a request changed nothing ("Nothing on the timeline changed.", "The title already says ...").
_UNCHANGED = re.compile(
    r"(?i:nothing\s+(?:on\s+the\s+timeline\s+|in\s+the\s+timeline\s+)?(?:has\s+|was\s+)?changed|no\s+changes?\b"
    r"|\balready\b|\bunchanged\b)|没有变化|没有改变|未改变|不会有变化|已经是|已经加好"
)


@dataclasses.dataclass(frozen=True, slots=True)
class Translation:
    text: str  # what the user reads: the text without the GUI instructions
    actions: tuple[tuple[GuiAction, str], ...]  # each with the instruction it came from
    unchanged: bool = False  # the text says that nothing changed


def _actions_of(unit: str, masked: str) -> list[GuiAction]:
    """The GUI instructions in one unit (found in its masked form; objects read from the original)."""
    found: set[GuiAction] = set()
    for kind, pattern in _INSTRUCTIONS:
        for match in pattern.finditer(masked):
            said = unit[match.start() : match.end()]
            if kind in ("click", "open") and _EXPORT_OBJECT.search(said):
                found.add(GuiAction.EXPORT)
            elif kind in ("open", "timeline") or (kind == "click" and _TIMELINE_OBJECT.search(said)):
                found.add(GuiAction.TIMELINE)
            else:
                found.add(GuiAction.EDIT)
    return [action for action in _ORDER if action in found]


def says_unchanged(text: str) -> bool:
    """Whether the backend's words say that the request changed nothing (quoted text aside)."""
    return bool(_UNCHANGED.search(mask_quotes(text)))


def translate(text: str) -> Translation:
    """Take the backend's GUI instructions out of ``text`` and say what they ask for."""
    masked = mask_quotes(text)
    units: list[tuple[str, bool]] = []  # (text between the previous unit and the end of this one, removed)
    actions: list[tuple[GuiAction, str]] = []
    cursor = 0
    for match in _UNIT.finditer(masked):
        unit = text[match.start() : match.end()]
        found = _actions_of(unit, match.group(0))
        units.append((text[cursor : match.end()], bool(found)))
        cursor = match.end()
        actions += [(action, unit.strip()) for action in found]
    kept: list[str] = []
    for index, (piece, removed) in enumerate(units):
        if removed:
            continue
        following_removed = index + 1 < len(units) and units[index + 1][1]
        if following_removed and piece.rstrip().endswith((";", "；")):
            stripped = piece.rstrip()
            piece = stripped[:-1] + ("。" if stripped.endswith("；") else ".")
        kept.append(piece)
    kept.append(text[cursor:])
    remaining = re.sub(r"[ \t]{2,}", " ", "".join(kept))
    remaining = re.sub(r"\n{3,}", "\n\n", remaining).strip()
    return Translation(remaining, tuple(actions), says_unchanged(text))
