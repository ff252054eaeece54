"""Reading the user's words: which edits a message asks for, whether it asks for a new video, and in what language.

The rule tables live in ``rules`` (plain text, one rule a line); this module compiles them and reads each match's
value (a music style, a length, a clip, a speed factor, ...). Quoted phrases are blanked before the rules run
(titles are read from the message itself), so a title is never read as a keyword. Edits the agent cannot do are
read too, so that it can say so.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing

from .rules import GENERATION_STRONG, GENERATION_WEAK, PIECES, QUOTED, RULE_TABLE, UNSUPPORTED_TABLE

__all__ = ["Lang", "Op", "Reading", "language_of", "read"]

Lang = typing.Literal["en", "zh"]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def language_of(message: str, language: str | None) -> Lang:
    """The language to answer in: the session's when it has one, else Chinese for a message with Chinese in it."""
    if language and language.strip():
        return "zh" if language.strip().lower().startswith("zh") else "en"
    return "zh" if _CJK.search(message) else "en"


# Style labels stay English in both languages, so a client sees one spelling in the track summary.
_GENRES = (
    (r"\blo-?\s?fi\b|低保真", "Lo-fi"),
    (r"\bjazzy?\b|爵士", "Jazz"),
    (r"\bpiano\b|钢琴", "Piano"),
    (r"\bcinematic\b|\bepic\b|电影感|史诗", "Cinematic"),
    (r"\bupbeat\b|欢快|轻快|动感", "Upbeat"),
    (r"\bhip[- ]?hop\b|嘻哈|说唱", "Hip-hop"),
    (r"\bclassical\b|古典", "Classical"),
    (r"\belectronic\b|\bedm\b|电子乐|电音", "Electronic"),
    (r"\bacoustic\b|\bfolk\b|民谣", "Acoustic"),
    (r"\bambient\b|\bchill\b|舒缓|氛围", "Ambient"),
    (r"\brock\b|摇滚", "Rock"),
    (r"\bpop\b|流行", "Pop"),
)
_TRANSITIONS = {"淡入淡出": "fade", "淡化": "fade", "叠化": "dissolve", "溶解": "dissolve", "擦除": "wipe"}
_TRANSITIONS |= {"划像": "wipe", "滑动": "slide", "推移": "slide", "缩放": "zoom"}

_CN_FILLER = re.compile(
    r"^(?:请|帮我|给我|帮忙|生成|制作|创建|创作|做|来|一个|一段|一条|个|段|条|[\d.]+秒的?|[零〇一二两三四五六七八九十百]+秒的?)+"
)


def _subject(masked: str, lang: Lang) -> str:
    """A short label for a generated clip: what the message asks to show."""
    fallback = "AI 片段" if lang == "zh" else "AI clip"
    if re.search(r"[\u4e00-\u9fff]", masked):
        found = re.search(r"([^，。,.!！?？；;\s“”「」]{1,20}?)的?(?:视频|短片|影片|片子)", masked)
        return _CN_FILLER.sub("", found.group(1) if found else "").strip("的 ") or fallback
    found = re.search(
        r"\b(?:of|about|showing|featuring)\s+(?:(?:a|an|the|some)\s+)?([^.,;:!?\n\"“”「」]+)", masked, re.I
    )
    label = found.group(1) if found else ""
    label = re.split(r"\s+(?:with|and|in|for|set|using|then|that|at|from|into|but)\b", label, maxsplit=1)[0]
    return " ".join(label.split()[:4]) or fallback


# -- recognising ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Op:
    """One edit a message asks for: its kind, its value, and where in the message it was said."""

    kind: str  # music | unmusic | title | untitle | subtitles | unsubtitles | sfx | trim | cut_end | aspect
    # | transitions | volume | speed | filter
    value: typing.Any
    start: int
    end: int


_I = re.IGNORECASE
_QUOTED_RE = re.compile(QUOTED)
_CN_DIGITS = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_UP = {"louder", "up", "raise", "increase", "boost", "大声", "响亮", "大", "高", "调大", "调高", "提高", "增大", "加大"}
_SENTENCE_END = re.compile(r"[.;!?\n。；！？]")
_GENRE_RES = tuple((re.compile(pattern, _I), label) for pattern, label in _GENRES)
_MUSIC_AFTER = re.compile(
    r"\s*(?:-?\s*style\s+)?(?:music|bgm|soundtrack|track|song|beats?|tunes?)\b|风?格?的?(?:音乐|配乐|乐|歌)", _I
)
_NAME_RE = re.compile(r"\b(dissolve|wipe|slide|zoom)\b|(淡入淡出|淡化|叠化|溶解|擦除|划像|滑动|推移|缩放)", _I)
_RATIOS = {"16:9", "9:16", "1:1", "4:5", "4:3"}
_SECONDS_RE = re.compile(
    r"(?<![\d.])(\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百]+)\s*-?\s*(?:秒|s\b|secs?\b|seconds?\b)", _I
)


def _expand(pattern: str) -> str:
    return re.sub(r"\{([A-Z]+)\}", lambda m: PIECES[m.group(1)], pattern)


def _compile_block(block: str) -> re.Pattern[str]:
    return re.compile(_expand("".join(line.strip() for line in block.splitlines())), _I)


def _mask_quotes(message: str) -> str:
    """``message`` with the inside of every quoted phrase blanked (same length), so a title is never a keyword.

    The client has another masker (``nemo_contract._text``) with another quote table, on purpose: it reads the
    backend's replies, this one reads requests the way the backend does (see ``rules.QUOTE_PAIRS``).
    """
    return _QUOTED_RE.sub(lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1], message)


def _first(match: re.Match[str] | None) -> str | None:
    return next((g for g in match.groups() if g), None) if match else None


def _number(text: str) -> float | None:
    """A number as written with digits or in Chinese, capped so that no later arithmetic can overflow."""
    if not text or len(text) > 12:
        return None
    if text[0] in _CN_DIGITS or text[0] in "十百":
        total = digit = 0
        for ch in text:  # enough for the small numbers people say: 八, 十五, 二十, 一百二十
            if ch in "十百":
                total, digit = total + (digit or 1) * (10 if ch == "十" else 100), 0
            else:
                digit = digit * 10 + _CN_DIGITS[ch]
        return float(total + digit)
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _sentence(masked: str, start: int, end: int) -> str:
    """The words around a match, up to its sentence's ends: where a music style or transition name belongs to it."""
    left = max((m.end() for m in _SENTENCE_END.finditer(masked, max(0, start - 60), start)), default=max(0, start - 60))
    right = _SENTENCE_END.search(masked, end, end + 60)
    return masked[left : right.start() if right else end + 60]


def _genre_in(text: str, *, before_music: bool = False) -> str | None:
    """The music style named first in ``text`` (or the first one directly followed by a music word)."""
    best: tuple[int, str] | None = None
    for regex, label in _GENRE_RES:
        for found in regex.finditer(text):
            if before_music and not _MUSIC_AFTER.match(text, found.end()):
                continue
            if best is None or found.start() < best[0]:
                best = (found.start(), label)
            break
    return best[1] if best else None


_ORDINALS = {"first": 0, "opening": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "last": -1, "final": -1}
_SFX_NAMES = {
    "嗖": "Whoosh",
    "叮": "Ding",
    "砰": "Boom",
    "咚": "Boom",
    "掌声": "Applause",
    "铃声": "Bell",
    "哨声": "Whistle",
}
_AT_END = {"end", "ending", "outro", "结尾", "末尾", "片尾"}
_AT_START = {"start", "beginning", "opening", "intro", "开头", "开始", "片头"}


def _ordinal(which: str | None) -> int | None:
    """Which clip: 0 the first, -1 the last, None every clip (nothing said)."""
    if not which:
        return None
    word = which.lower().strip("个")
    if word in _ORDINALS or word in ("最后一", "最后", "首"):
        return _ORDINALS.get(word, -1 if word.startswith("最后") else 0)
    number = _number(word.removeprefix("第").rstrip("stndrh"))
    return max(0, int(number) - 1) if number else 0


def _speed(match: re.Match[str]) -> tuple[int | None, float] | None:
    """(which clip, speed factor): "speed up" doubles, "slow down" halves, unless a factor is said."""
    said = match.groupdict()
    slow = any(k in match.group(0).lower() for k in ("slow", "减速", "慢"))
    times = _number(said.get("times") or "")
    if times is not None and times <= 0:
        return None
    factor = times or (0.5 if slow else 2.0)
    if slow and factor > 1:  # "slow it down by 2x"
        factor = 1 / factor
    return _ordinal(said.get("which")), min(4.0, max(0.25, round(factor, 2)))


def _effect(match: re.Match[str]) -> tuple[str | None, str]:
    """(the sound effect's name when said, where it goes: "start" or "end")."""
    name, where = None, "start"
    for group in match.groups():
        if group in _AT_END or group in _AT_START:
            where = "end" if group in _AT_END else "start"
        elif group:
            name = _SFX_NAMES.get(group, group.capitalize())
    return name, where


def _read(reading: str, match: re.Match[str], masked: str) -> tuple[typing.Any] | None:
    """The value of a rule's match, as a 1-tuple, or None when the match is not one after all."""
    if reading == "none":
        return (None,)
    if reading == "genre":
        return (_genre_in(_sentence(masked, match.start(), match.end())),)
    if reading == "text":
        text = (_first(match) or "").strip()
        return (text[:80],) if text else None
    if reading == "seconds":
        value = _number(match.group(1))
        return None if value is None else (value,)
    if reading == "ratio":
        ratio = f"{int(match.group(1))}:{int(match.group(2))}"
        return (ratio,) if ratio in _RATIOS else None
    if reading == "word":
        word = match.group(0).lower()
        if any(k in word for k in ("vert", "portrait", "tik", "reel", "short", "竖", "抖音", "快手")):
            return ("9:16",)
        return ("1:1",) if "square" in word or "方" in word else ("16:9",)
    if reading == "name":  # a name said in the match, else elsewhere in the sentence, else a plain fade
        said = "fade" if "fad" in match.group(0).lower() else None
        found = _first(match) or said or _first(_NAME_RE.search(_sentence(masked, match.start(), match.end())))
        name = (found or "fade").lower()
        return (_TRANSITIONS.get(name, name),)
    if reading == "step":
        return (("step", 1.0 if (_first(match) or "").lower() in _UP else -1.0),)
    if reading == "speed":
        speed = _speed(match)
        return None if speed is None else (speed,)
    if reading == "effect":
        return (_effect(match),)
    if reading == "look":
        said = match.group(0).lower()
        return ("sepia" if any(k in said for k in ("sepia", "vintage", "复古", "怀旧", "棕褐")) else "grayscale",)
    *_, chinese, number, percent = (None, None, *match.groups())  # reading "set"; 百分之 is a percentage too
    value = _number(chinese or number or "")
    if value is None:
        return None
    return (("set", value / 100 if chinese or percent or value > 1 else value),)


def _read_rules(block: str) -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    rows: list[list[str]] = []
    for line in block.splitlines():
        if line[:1].isspace():
            rows[-1][2] += line.strip()
        elif line:
            rows.append(line.split(" ", 2))
    return tuple((kind, reading, re.compile(_expand(pattern), _I)) for kind, reading, pattern in rows)


_RULES = _read_rules(RULE_TABLE)
_UNSUPPORTED = _read_rules(UNSUPPORTED_TABLE)
_STRONG_RE = _compile_block(GENERATION_STRONG)
_WEAK_RE = _compile_block(GENERATION_WEAK)


def _ops(message: str, masked: str) -> tuple[Op, ...]:
    """The edits a message asks for, in the order it says them; where two readings overlap, the longer one wins."""
    found: list[Op] = []
    for kind, reading, regex in _RULES:
        for match in regex.finditer(message if kind == "title" else masked):
            if match.end() > match.start() and (value := _read(reading, match, masked)) is not None:
                found.append(Op(kind, value[0], match.start(), match.end()))
    found.sort(key=lambda op: (op.start, op.start - op.end))
    taken: list[Op] = []
    for op in found:
        if not taken or op.start >= taken[-1].end:
            taken.append(op)
    return tuple(taken)


@dataclasses.dataclass(frozen=True, slots=True)
class Reading:
    """What one message asks for."""

    ops: tuple[Op, ...]
    strength: int  # 2: names a new video outright; 1: only uses a generating verb; 0: neither
    genre: str | None  # the music style a generation gets: from an add-music request, else "<style> music"
    seconds: float | None  # the length asked for ("a 15-second video", "15秒")
    quoted: str | None  # the first quoted phrase
    subject: str  # a label for a clip generated from the message
    unsupported: tuple[str, ...] = ()  # edits asked for that the agent cannot do: effect | face | voice


def _unsupported(masked: str, ops: tuple[Op, ...]) -> tuple[str, ...]:
    """The kinds of unsupported edit the message asks for, in the order it says them (not inside an edit read)."""
    found: list[tuple[int, str]] = []
    for _, what, regex in _UNSUPPORTED:
        for match in regex.finditer(masked):
            if not any(op.start <= match.start() and match.end() <= op.end for op in ops):
                found.append((match.start(), what))
    return tuple(dict.fromkeys(what for _, what in sorted(found)))


def read(message: str, lang: Lang) -> Reading:
    """What ``message`` asks for; ``lang`` is the language a generated clip's label falls back to."""
    masked = _mask_quotes(message)
    ops = _ops(message, masked)
    strength = 2 if _STRONG_RE.search(masked) else 1 if _WEAK_RE.search(masked) else 0
    genre = next((op.value for op in ops if op.kind == "music" and op.value), None)
    length = _SECONDS_RE.search(masked)
    seconds = (_number(length.group(1)) or None) if length else None
    quoted = next((t for m in _QUOTED_RE.finditer(message) if (t := (_first(m) or "").strip())), None)
    return Reading(
        ops,
        strength,
        genre or _genre_in(masked, before_music=True),
        seconds,
        quoted,
        _subject(masked, lang),
        _unsupported(masked, ops),
    )
