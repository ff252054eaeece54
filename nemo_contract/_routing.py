"""Routing the user's words, as the documents' "Matching Input to Actions" table does.

=========================================================  ==========  =========
User says...                                               Action      Skip SSE?
=========================================================  ==========  =========
"export" / "导出" / "download" / "send me the video"          export      yes
"credits" / "积分" / "balance" / "余额"                        credits     yes
"status" / "状态" / "show tracks"                              state       yes
"upload" / "上传" / user sends a file                          upload      yes
everything else (generate, edit, add BGM...)               a turn      no
=========================================================  ==========  =========

The first row that matches wins. Keywords match case-insensitively; English ones as whole words and phrases (so
"exported" is not "export"), Chinese ones anywhere; quoted text never counts (``add a title "Export Ready"`` is an
edit). A keyword used as something else is not that keyword either: "balance the music", "end credits" and "a
status bar" are edits. Files sent with words that ask for something else are uploaded first, then the words are
routed on their own ("here is my clip, make it a promo" uploads, then runs a turn).
"""

from __future__ import annotations

import enum
import os
import re
import typing

from ._core import Core
from ._export import run_export
from ._models import MessageKind
from ._operations import credits, snapshot, upload
from ._ops import Flow, emit
from ._text import mask_quotes
from ._turns import converse
from .protocol import ACCEPTED_FORMATS_TEXT, MAX_UPLOAD_BYTES, SkillSource

__all__ = ["Intent", "classify", "handle"]


class Intent(enum.StrEnum):
    EXPORT = "export"
    CREDITS = "credits"
    STATE = "state"
    UPLOAD = "upload"
    TURN = "turn"


def _words(*english: str, chinese: tuple[str, ...] = (), unless: str = "") -> re.Pattern[str]:
    """Whole English words or phrases (any spacing), Chinese words anywhere; ``unless``: a regex of what may not
    directly follow an English keyword (the words that make it mean something else)."""
    guard = rf"(?!\s+(?:{unless})\b)" if unless else ""
    # Latin letters and digits bound a word; Chinese characters do not ("请export视频" says "export").
    phrases = [re.escape(word).replace(r"\ ", r"\s+") for word in english]
    latin = [rf"(?<![A-Za-z0-9_-]){phrase}(?![A-Za-z0-9_-]){guard}" for phrase in phrases]
    return re.compile("|".join([*latin, *map(re.escape, chinese)]), re.IGNORECASE)


#: Words after which "balance" / "status" / "credits" is an edit of the video, not the account.
_OBJECTS = r"the|a|an|it|them|this|that|these|those|out|between|my\s+(?:audio|music|voice|sound)"
#: "end credits", "opening credits": a part of the video.
_FILM_CREDITS = re.compile(r"\b(?:end|ending|closing|opening|final|rolling|film|movie)\s+credits\b", re.I)

#: The table above, in its order.
ROUTES: typing.Final[tuple[tuple[Intent, re.Pattern[str]], ...]] = (
    (Intent.EXPORT, _words("export", "download", "send me the video", chinese=("导出",))),
    (
        Intent.CREDITS,
        _words("credits", "balance", chinese=("积分", "余额"), unless=_OBJECTS + r"|roll|rolling|sequence|screen"),
    ),
    (Intent.STATE, _words("status", "show tracks", chinese=("状态",), unless=r"bar|line|update|message")),
    (Intent.UPLOAD, _words("upload", chinese=("上传",))),
)

_MAX_MB = MAX_UPLOAD_BYTES // (1024 * 1024)
_URL = re.compile(r"https?://[^\s<>\"'，。]+")

#: Each document's greeting, for a request with neither words nor files.
GREETINGS: dict[SkillSource, str] = {
    SkillSource.VIDEO_TO_GENERATOR: (
        "Share your existing video clips and I'll get started on AI video generation. "
        "Or just tell me what you're thinking."
    ),
    SkillSource.AUTO_GENERATOR: (
        "Send me your raw footage and I'll handle the AI video generation. Or just describe what you're after."
    ),
}


def classify(text: str, files: typing.Sequence[object] = ()) -> Intent:
    """The action for the user's words (and files)."""
    words = _FILM_CREDITS.sub(lambda m: "_" * len(m.group(0)), mask_quotes(text))
    for intent, pattern in ROUTES:
        if pattern.search(words):
            return intent
    return Intent.UPLOAD if files else Intent.TURN


def handle(core: Core, text: str, files: typing.Sequence[str | os.PathLike[str]] = ()) -> Flow[None]:
    """Route the user's words and files, run the action, and emit what the user should read."""
    if text.strip():
        core.language_hint = text
    intent = classify(text, files)
    if files or intent is Intent.UPLOAD:
        sources: list[str | os.PathLike[str]] = list(files)
        if intent is Intent.UPLOAD:
            sources += _URL.findall(text)
        if not sources:
            yield emit(
                MessageKind.NOTICE,
                f"Send the file you want to upload (accepted: {ACCEPTED_FORMATS_TEXT}; up to {_MAX_MB} MB).",
            )
            return
        uploaded = yield from upload(core, sources)
        for item in uploaded:
            yield emit(MessageKind.UPLOAD, item.text)
        intent = classify(text) if text.strip() else Intent.UPLOAD
        if intent is Intent.UPLOAD:
            return
    if intent is Intent.EXPORT:
        yield from run_export(core)
    elif intent is Intent.CREDITS:
        balance = yield from credits(core)
        yield emit(MessageKind.CREDITS, balance.text)
    elif intent is Intent.STATE:
        state = yield from snapshot(core)
        yield emit(MessageKind.TIMELINE, state.text)
    elif text.strip():
        yield from converse(core, text)
    else:
        greeting = GREETINGS.get(core.identity.source, GREETINGS[SkillSource.VIDEO_TO_GENERATOR])
        yield emit(MessageKind.NOTICE, greeting)
