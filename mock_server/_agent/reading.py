"""Reading the user's words: which edits a message asks for, whether it asks for a new video, and in what language.

The rule table is a plain text block, one rule a line, so that a keyword can be read and changed without reading
code. Quoted phrases are blanked before the rules run (titles are read from the message itself), so a title is
never read as a keyword.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing

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

    kind: str  # music | unmusic | title | trim | aspect | transitions | volume
    value: typing.Any
    start: int
    end: int


_I = re.IGNORECASE
# The quotes a request can put a title in. The client's masker (nemo_contract._text) has another table on purpose:
# it reads the backend's replies, this one reads requests the way the backend does (《》 marks a title, at most 80
# characters, blanked with spaces); the emulator never imports client modules.
_PAIRS = (('"', '"'), ("“", "”"), ("「", "」"), ("『", "』"), ("《", "》"), ("‘", "’"))
_QUOTED = "|".join(f"{re.escape(o)}([^{re.escape(c)}\\n]{{1,80}}){re.escape(c)}" for o, c in _PAIRS)
_QUOTED += r"|(?<!\w)'([^'\n]{1,80})'(?!\w)"  # a straight single quote only when it is not an apostrophe
_QUOTED_RE = re.compile(_QUOTED)
_OPENERS = "\"“「『《‘'"
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

# Pieces the rule table below names as {NAME}.
_PIECES = {
    "NUM": r"(\d+(?:\.\d+)?)",
    "NUMCN": r"(\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百]+)",
    "SECS": r"\s*-?\s*(?:s|secs?|seconds?)\b",
    "QUOTED": _QUOTED,
    "PRE": rf"[^{_OPENERS}\n]",
    "NOTEXT": rf"(?![^{_OPENERS}\n]{{0,24}}?[{_OPENERS}])(?!\s*[:：])",
    "UNQUOTED": r"([^\n.;!?,，。；！？\"“”「」]{1,80}?)(?=\s+(?:and|then)\b|[\n.;!?,，。；！？]|$)",
    "GUARD": r"(?!and\b|then\b|titles?\b|captions?\b|text\b|music\b|bgm\b|soundtrack\b|transitions?\b|no\b|without\b)",
    "NOUN": r"(?:videos?|clips?|movies?|films?|reels?|shorts|montages?|trailers?|promos?|vlogs?|slideshows?|mp4s?)",
    "MUSICCN": r"(?:背景音乐|音乐|配乐|BGM)",
}
# "kind reading pattern"; an indented line continues the pattern above. Title rules read the message itself, the
# others the message with quoted phrases blanked, so a title never reads as a keyword.
_RULE_TABLE = r"""
music genre \b(?:add|put|insert|include|throw\s+in|lay|generate|create|compose|make)\b(?:\s+{GUARD}[\w'-]+){0,3}?\s+
  (?:music|bgm|soundtrack|song|tune)s?\b
music genre \b(?:background|backing)\s+(?:music|track|song|tune)s?\b
music genre \b(?:change|switch|swap|replace)\s+(?:the\s+)?(?:background\s+)?(?:music|bgm|song|soundtrack)\b
music genre (?:添加|加上|加入|加点|加个|加一段|加一首|配上|换成|换个|换首|换一首|来点|来一段|
  来首|加)[^，。,.!！?？；;\s]{0,6}?(?:音乐|配乐|BGM|歌曲|歌)
music genre \b(?:and|with|plus)\s+(?:some\s+)?(?:{GUARD}[\w'-]+\s+)?(?:music|bgm|soundtrack)\b(?!\s*(?:'s\s+)?volume)
music genre 背景音乐|配乐
unmusic none \b(?:remove|delete|drop|strip|kill|ditch|lose|take\s+out|get\s+rid\s+of|turn\s+off|switch\s+off)\s+
  (?:the\s+|all\s+(?:the\s+)?|any\s+|that\s+|my\s+)?(?:background\s+)?(?:music|bgm|soundtrack|songs?|audio(?:\s+tracks?)?)\b
unmusic none \b(?:no|without)\s+(?:more\s+|any\s+)?(?:background\s+)?(?:music|bgm|soundtrack)\b
unmusic none \bmute\s+(?:the\s+)?(?:background\s+)?(?:music|bgm|audio|soundtrack)\b
unmusic none (?:删除|删掉|去掉|去除|移除|拿掉|关掉|关闭|取消|不要|不需要|不用|不加)(?:所有的?|全部的?)?{MUSICCN}
unmusic none (?:把|将)?{MUSICCN}给?(?:删除|删掉|去掉|去除|移除|拿掉|关掉|删了|去了|静音)|静音
title text \b(?:title|caption|headline|text(?:\s+overlay)?|titled|call\s+it|name\s+it)s?\b
  (?:{PRE}{0,24}?(?:{QUOTED})|\s*[:：]\s*{UNQUOTED})
title none \b(?:add|put|insert|include|create|make)\s+(?:a\s+|an\s+|the\s+|some\s+)?(?:title|caption|headline)s?\b
  {NOTEXT}
title text (?:标题|字幕|文字|文案|片名)(?:{PRE}{0,8}?(?:{QUOTED})|\s*[:：]\s*([^\n，。；！？,.;!?"“”「」]{1,40}))
title none (?:添加|加上|加个|加一个|加)(?:一个|个)?(?:标题|字幕){NOTEXT}
trim seconds \b(?:trim|cut|shorten|clip|crop|chop|reduce)(?:\s+(?:it|this|that|down|everything|the\s+(?:video|clip|
  whole\s+(?:thing|video))))*\s+(?:to|into)\s+(?:just\s+|only\s+|the\s+first\s+)?{NUM}{SECS}
trim seconds \bmake\s+(?:it|this|the\s+(?:video|clip))\s+(?:just\s+|only\s+)?{NUM}{SECS}(?:\s+long\b)?
trim seconds \bkeep\s+(?:only\s+|just\s+)?the\s+first\s+{NUM}{SECS}
trim seconds (?:剪到|剪成|剪短到|剪短为|剪为|缩短到|缩短为|缩短成|裁剪为|裁剪到|裁剪成|裁到|裁成|
  截到|截成|截取|控制在|只保留|保留|只要|时长改为|时长改成|时长设为)\s*前?\s*{NUMCN}\s*(?:秒|s\b)
aspect ratio (?<![\d.])(\d{1,2})\s*[:：xX×]\s*(\d{1,2})(?![\d.])
aspect word \b(?:(?:for|on)\s+)?(?:vertical|portrait|tik\s?tok|(?:instagram\s+)?reels?|youtube\s+shorts|shorts|
  landscape|horizontal|wide\s?screen|youtube|square)\b
aspect word 竖屏|竖版|竖向|抖音|快手|横屏|横版|横向|宽屏|正方形|方形|方屏
transitions name \b(?:(dissolve|wipe|slide|zoom|fade)\s+)?transitions?\b
transitions name \bcross[- ]?fad(?:e|es|ing)\b
transitions name \bfade\s+(?:in\s+and\s+out\s+)?between\s+(?:the\s+)?(?:clips|shots|scenes)\b
transitions name \b(dissolve|wipe|slide|zoom)s?\s+between\b
transitions name (淡入淡出|淡化|叠化|溶解|擦除|划像|滑动|推移|缩放)?的?(?:转场|过渡)
volume set (?:\b(?:background\s+)?(?:music|bgm|audio|soundtrack)(?:'s)?\s+)?\bvolume\b
  (?:\s+of\s+the\s+(?:background\s+)?(?:music|bgm))?\s*(?:to|at|=|:|of)?\s*{NUM}\s*(%|percent\b)?
volume set \b(?:background\s+)?(?:music|bgm)\s+(?:volume\s+)?(?:to|at)\s+{NUM}\s*(%|percent\b)
volume set {MUSICCN}?的?音量\s*(?:调到|调成|调为|调至|设为|设置为|设成|改为|改成|变成|到|为|是|[:：])?\s*
  (?:百分之\s*{NUMCN}|{NUM}\s*([%％])?)
volume step (?:\bmake\s+)?(?:\bthe\s+)?(?:\b(?:background\s+)?(?:music|bgm|audio|sound)\s+)?(?:\ba\s+(?:bit|little)\s+)?
  \b(louder|quieter|softer)\b
volume step \bturn\s+(?:the\s+)?(?:background\s+)?(?:music|bgm|volume|audio|sound)\s+(up|down)\b
volume step \bturn\s+(up|down)\s+the\s+(?:background\s+)?(?:music|bgm|volume|audio|sound)\b
volume step \b(raise|increase|boost|lower|decrease|reduce)\s+the\s+(?:background\s+)?(?:music\s+|bgm\s+)?volume\b
volume step (?:背景音乐|音乐|配乐|BGM|声音)?的?(?:音量)?再?(大声|响亮|小声|轻声)一?点?
volume step (?:背景音乐|音乐|配乐|声音)的?(?:音量)?再?调?(大|高|小|低|轻)一?点
volume step (调大|调高|提高|增大|加大|调小|调低|降低|减小)(?:一下|一点)?{MUSICCN}?的?音量
"""
# What a generation asks for: "strong" names a new video outright, "weak" only uses a generating verb.
_STRONG = r"""
\b(?:re-?)?(?:generate|create|produce)\b(?:\s+{GUARD}[\w'-]+){0,4}?\s+{NOUN}\b
|\bmake\s+(?:me\s+|us\s+)?(?:a|an|another|one|some|new)\b(?:\s+{GUARD}[\w'-]+){0,3}?\s+{NOUN}\b
|\bturn\s+(?:this|these|that|it|them|my|the|those)\b[^.!?\n]{0,60}?\binto\b
|(?:生成|制作|创建|创作|做一个|做个|做一段|做一条|剪一个|剪个|剪一段|来一个|来个|来一段)
(?:(?!音乐|配乐|标题|字幕|转场|过渡)[^，。,.!！?？；;]){0,12}?(?:视频|短片|影片|片子|vlog|大片|成片)
|(?:把|将)[^，。,.!！?？；;]{0,20}?做成|一键成片|自动剪辑|自动生成|自动成片
"""
_WEAK = r"""
\b(?:re-?)?(?:generate|generating|create|creating|produce|producing)\b|\bmake\s+(?:me\s+|us\s+)?(?:a|an)\b
|\bauto[- ]?(?:generat|edit|creat|mak|cut)\w*|\bautomatic(?:ally)?\b|生成|制作|创建|做一个|做个|自动
"""


def _expand(pattern: str) -> str:
    return re.sub(r"\{([A-Z]+)\}", lambda m: _PIECES[m.group(1)], pattern)


def _compile_block(block: str) -> re.Pattern[str]:
    return re.compile(_expand("".join(line.strip() for line in block.splitlines())), _I)


def _mask_quotes(message: str) -> str:
    """``message`` with the inside of every quoted phrase blanked (same length), so a title is never a keyword."""
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


_RULES = _read_rules(_RULE_TABLE)
_STRONG_RE = _compile_block(_STRONG)
_WEAK_RE = _compile_block(_WEAK)


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
        ops, strength, genre or _genre_in(masked, before_music=True), seconds, quoted, _subject(masked, lang)
    )
