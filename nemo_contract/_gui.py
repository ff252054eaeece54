"""The backend's GUI words, translated into what the client does instead.

The backend talks as if the user sat in front of its web editor. Only an *instruction* to the user is translated:
an imperative GUI verb with a GUI object ("click the Export button", "open the Timeline panel", "drag the title
to 2s", "preview in timeline", 点击导出, 打开时间线面板, 拖拽标题). A GUI word anywhere else ("a click track",
"the beat will drop", a quoted title such as "Drag Race") is just a word, and its sentence reaches the user.
"""

from __future__ import annotations

import dataclasses
import enum
import re

from ._text import mask_quotes

__all__ = ["GuiAction", "Translation", "says_unchanged", "translate"]


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
