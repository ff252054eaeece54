"""The editing agent's words: what it recognises in a message, and every sentence it answers with.

The sentences talk as if the user sat in front of the web editor (click Export, open the Timeline panel, drag the
title), because that is how the real backend talks and a client must translate it. Each situation has a few
wordings; the caller's seeded ``random.Random`` picks one. Both tables are plain text blocks, one entry a line, so
that a wording or a keyword can be read and changed without reading code.
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
import typing
from collections.abc import Mapping, Sequence

from nemo_contract.protocol import TrackType

__all__ = [
    "MUSIC_PICKS",
    "TITLE_PICKS",
    "Fact",
    "Lang",
    "Op",
    "Reading",
    "edit_closing",
    "generate_first",
    "generation_closing",
    "generation_opening",
    "help_reply",
    "read",
    "readable",
    "unchanged_reply",
]

Lang = typing.Literal["en", "zh"]
#: One thing an operation did (or why it did nothing): a wording key and the fields the wording shows.
Fact = tuple[str, dict[str, typing.Any]]

MUSIC_PICKS = ("Lo-fi", "Upbeat Pop", "Cinematic Strings", "Acoustic Morning")
TITLE_PICKS: Mapping[Lang, tuple[str, ...]] = {
    "en": ("Urban Dreams", "Golden Hour", "Into the Blue", "Small Moments", "Wanderlust", "City Lights"),
    "zh": ("城市之光", "夏日微风", "时光漫步", "追光者", "山海之间", "晨曦"),
}
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
_TRANSITION_ZH = {"fade": "淡入淡出", "dissolve": "叠化", "wipe": "擦除", "slide": "滑动", "zoom": "缩放"}

# -- sentences --------------------------------------------------------------------------------------------------
# "key/lang wording | wording…"; an indented line continues the wording above. Keys: what an edit changed (lower-case
# English, joined into one sentence), why an operation changed nothing (note_*), and each kind of reply.
_WORDINGS = """
music/en added BGM "{label}" at {pct}% ({span}) | put BGM "{label}" under the whole video at {pct}% ({span})
music/zh 添加了BGM“{label}”，音量{pct}%（{span}） | 给整段视频配上了BGM“{label}”，音量{pct}%（{span}）
music_replaced/en swapped the music for BGM "{label}" at {pct}% ({span})
music_replaced/en replaced the BGM with "{label}" at {pct}% ({span})
music_replaced/zh 把背景音乐换成了BGM“{label}”，音量{pct}%（{span}）
music_removed/en removed the background music | took the BGM track off the timeline
music_removed/zh 删除了背景音乐 | 去掉了BGM轨道
title/en set the title to "{text}" ({span}) | added the title "{text}" ({span})
title/zh 把标题设为“{text}”（{span}） | 添加了标题“{text}”（{span}）
trim/en trimmed the video to {secs}s | cut the video down to {secs}s
trim/zh 把视频剪到了{secs}秒 | 把时长缩短为{secs}秒
aspect/en switched the canvas to {ratio} ({width}x{height}) | changed the aspect ratio to {ratio} ({width}x{height})
aspect/zh 把画布改成了{ratio}（{width}x{height}） | 把画幅切换为{ratio}（{width}x{height}）
transitions/en added "{name}" transitions between the {clips} clips
transitions/en put a "{name}" transition between each of the {clips} clips
transitions/zh 在{clips}个片段之间添加了“{name}”转场
transitions_split/en split the clip in two and added a "{name}" transition between the halves
transitions_split/zh 把片段一分为二，并在中间添加了“{name}”转场
volume/en set the BGM volume to {pct}% | changed the BGM volume to {pct}%
volume/zh 把BGM音量调到了{pct}% | BGM音量已改为{pct}%
note_no_music/en There's no background music on the timeline yet, so there was no volume to change.
note_no_music/zh 时间线上还没有背景音乐，所以没有可调的音量。
note_nothing_to_remove/en There's no background music on the timeline to remove.
note_nothing_to_remove/zh 时间线上没有可删除的背景音乐。
note_trim_too_long/en The video is only {current}s long, so trimming it to {secs}s changes nothing.
note_trim_too_long/zh 视频本身只有{current}秒，剪到{secs}秒不会有变化。
note_trim_invalid/en A trim needs a length above 0 seconds.
note_trim_invalid/zh 剪辑时长需要大于0秒。
note_no_video/en There's no video track to put transitions on.
note_no_video/zh 没有视频轨道，无法添加转场。
note_same_aspect/en The canvas is already {ratio}.
note_same_aspect/zh 画布已经是{ratio}了。
note_same_title/en The title already says "{text}".
note_same_title/zh 标题已经是“{text}”了。
note_same_transitions/en Those transitions are already in place.
note_same_transitions/zh 这些转场已经加好了。
note_same_volume/en The BGM is already at {pct}%.
note_same_volume/zh BGM音量已经是{pct}%了。
intro/en Done! | All set! | Updated! | Your timeline is updated.
intro/zh 好的！ | 搞定！ | 已完成！
outro/en Open the Timeline panel to check it. | Preview it in the timeline, then click Export when you're happy.
outro/en Take a look in the Timeline panel and click Export when it looks right.
outro/zh 打开时间线面板即可查看。 | 可以在时间线中预览，满意后点击导出。 | 在时间线中预览一下，没问题就点击导出。
title_hint/en Drag the title to reposition it.
title_hint/zh 可以拖拽标题调整位置。
unchanged/en Open the Timeline panel to see the current tracks. | Nothing on the timeline changed.
unchanged/zh 打开时间线面板可以查看当前轨道。 | 时间线没有变化。
open_uploads/en Got it! Analyzing your {count} and putting the edit together. This takes a couple of minutes.
open_uploads/en On it: I'll look through your {count}, cut them together, then add music and a title.
open_uploads/zh 收到！正在分析你上传的{count}并剪辑成片，大约需要几分钟。
open_uploads/zh 好的，我先理解你的{count}，再配上音乐和标题。
open_prompt/en Sure! Generating a {secs}-second clip, this takes a few minutes.
open_prompt/en On it! Generating a {secs}s video from your description; music and a title come once the footage
  is ready.
open_prompt/en Starting a {secs}-second video now. Hang tight, generation usually takes a few minutes.
open_prompt/zh 好的，正在生成一段{secs}秒的视频，大约需要几分钟。
open_prompt/zh 马上开始！先生成{secs}秒的画面，再自动配乐和加标题。
done/en Your video is ready! {summary} Preview in timeline to check it, or click Export to save it.
done/en All done! {summary} Preview in timeline, then click the Export button to download the MP4.
done/en Finished! {summary} You can preview in timeline and drag the title to reposition it; click Export when
  you're happy.
done/zh 视频已生成！{summary}可以在时间线中预览，满意后点击导出保存。
done/zh 完成啦！{summary}请在时间线中预览效果，然后点击导出下载MP4。
done/zh 搞定！{summary}在时间线中预览时可以拖拽标题调整位置，确认后点击导出。
first/en There's nothing on the timeline yet. Ask me to generate a video first (for example "generate a
  10-second video of ocean waves"), then I can edit it.
first/en Your timeline is still empty, so there's nothing to edit. Tell me what video to generate first and I'll
  take it from there.
first/zh 时间线上还没有内容，请先让我生成一个视频（例如“生成一个10秒的海浪视频”），然后再来编辑。
first/zh 当前时间线是空的，暂时没法编辑。先告诉我要生成什么视频吧。
first_uploads/en You've uploaded {count}. Say "generate a video" and I'll build the timeline from them; then I
  can make this change.
first_uploads/zh 你已上传{count}，说“生成视频”我就先用它们搭好时间线，之后再帮你做这个修改。
help_empty/en I can generate a video from a description or from the files you upload, then add music, a title
  and transitions. Try "generate a 10-second video of a city at night".
help_empty/en Tell me what you'd like to make, for example "make a 15-second vertical video of ocean waves", or
  upload your footage and say "generate a video".
help_empty/zh 我可以根据描述或你上传的素材生成视频，再添加音乐、标题和转场。试试说“生成一个10秒的城市夜景视频”。
help_empty/zh 告诉我你想做什么视频，例如“做一个15秒的竖屏海浪视频”，或者上传素材后说“生成视频”。
help_draft/en Your timeline has {tracks} right now; open the Timeline panel to preview it. I can add background
  music, change the title, add transitions, trim it or switch the aspect ratio. Click Export when you're done.
help_draft/en Happy to help! Ask me to add music, set a title, trim the video or make it vertical. Preview it in
  the timeline, and click Export to save it.
help_draft/zh 当前时间线有{tracks}，打开时间线面板即可预览。我可以帮你加背景音乐、改标题、加转场、剪短时长或切换画幅，
  完成后点击导出。
help_draft/zh 没问题！可以让我加音乐、改标题、剪短视频或改成竖屏。在时间线中预览后，点击导出即可保存。
"""


def _read_wordings(block: str) -> dict[tuple[str, str], tuple[str, ...]]:
    table: dict[tuple[str, str], list[str]] = {}
    last: list[str] = []
    for line in block.splitlines():
        if line[:1].isspace():  # continuation: English words need a space, Chinese ones none
            last[-1] += ("" if last[-1][-1:] > "\u2e7f" else " ") + line.strip()
        elif line:
            head, text = line.split(" ", 1)
            key, lang = head.split("/")
            last = table.setdefault((key, lang), [])
            last.extend(text.split(" | "))
    return {k: tuple(v) for k, v in table.items()}


_SAY = _read_wordings(_WORDINGS)


def _pick(rng: random.Random, key: str, lang: Lang, **fields: typing.Any) -> str:
    return rng.choice(_SAY[key, lang]).format(**fields)


def _seconds(ms: int) -> str:
    """Milliseconds the way the track summary prints seconds: ``10000`` → ``10``, ``7500`` → ``7.5``."""
    value = ms / 1000
    return str(int(value)) if value.is_integer() else str(round(value, 3))


def _join(parts: Sequence[str], lang: Lang) -> str:
    if lang == "zh":
        return "，".join(parts)
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _shown(fields: Mapping[str, typing.Any], lang: Lang) -> dict[str, typing.Any]:
    shown = dict(fields)
    if "span" in shown:
        start, end = shown["span"]
        shown["span"] = f"{_seconds(start)}-{_seconds(end)}" + ("秒" if lang == "zh" else "s")
    for key in ("secs", "current"):  # lengths travel as ms
        if key in shown:
            shown[key] = _seconds(shown[key])
    if lang == "zh" and "name" in shown:
        shown["name"] = _TRANSITION_ZH.get(shown["name"], shown["name"])
    return shown


def _notes(rng: random.Random, lang: Lang, notes: Sequence[Fact]) -> list[str]:
    return [_pick(rng, "note_" + key, lang, **_shown(fields, lang)) for key, fields in notes]


def _sentences(parts: Sequence[str], lang: Lang) -> str:
    return ("" if lang == "zh" else " ").join(parts)


def edit_closing(rng: random.Random, lang: Lang, changes: Sequence[Fact], notes: Sequence[Fact]) -> str:
    """An edit's closing text: what changed, what could not, and where to look (in GUI words)."""
    body = _join([_pick(rng, key, lang, **_shown(fields, lang)) for key, fields in changes], lang)
    parts = [_pick(rng, "intro", lang), body[0].upper() + body[1:] + ("。" if lang == "zh" else ".")]
    parts += _notes(rng, lang, notes)
    if any(key == "title" for key, _ in changes):
        parts.append(_pick(rng, "title_hint", lang))
    return _sentences([*parts, _pick(rng, "outro", lang)], lang)


def unchanged_reply(rng: random.Random, lang: Lang, notes: Sequence[Fact]) -> str:
    """The chat answer to an edit request that would change nothing."""
    return _sentences([*_notes(rng, lang, notes), _pick(rng, "unchanged", lang)], lang)


def _files(n: int, lang: Lang) -> str:
    return f"{n}个文件" if lang == "zh" else "1 file" if n == 1 else f"{n} files"


def generation_opening(rng: random.Random, lang: Lang, *, uploads: int, secs: int) -> str:
    if uploads:
        return _pick(rng, "open_uploads", lang, count=_files(uploads, lang))
    return _pick(rng, "open_prompt", lang, secs=secs)


def _summary(draft: Mapping[str, typing.Any], lang: Lang) -> str:
    """One sentence naming each track of a finished generation, in the track summary's words."""
    zh = lang == "zh"
    parts: list[str] = []
    for track in draft.get("t", []):
        segments = track["sg"]
        first, more = segments[0], len(segments) - 1
        if track["tt"] == TrackType.VIDEO:
            if zh:
                parts.append(f"视频“{first['n']}”" + (f"等{len(segments)}个片段" if more else ""))
            else:
                parts.append(f'video "{first["n"]}"' + (f" plus {more} more clip{'s' * (more > 1)}" if more else ""))
        elif track["tt"] == TrackType.AUDIO:
            pct = round(float(first.get("v", 1.0)) * 100)
            parts.append(f"BGM“{first['n']}”（音量{pct}%）" if zh else f'BGM "{first["n"]}" at {pct}%')
        else:
            parts.append(f"标题“{first.get('x', '')}”" if zh else f'title "{first.get("x", "")}"')
    if zh:
        return f"时间线共有{len(parts)}条轨道：{'、'.join(parts)}。"
    return f"The timeline has {len(parts)} track{'s' * (len(parts) != 1)}: {_join(parts, lang)}."


def generation_closing(rng: random.Random, lang: Lang, draft: Mapping[str, typing.Any]) -> str:
    """Always says "preview in timeline" and "Export" (在时间线中预览, 导出): the phrases a client acts on."""
    return _pick(rng, "done", lang, summary=_summary(draft, lang))


def generate_first(rng: random.Random, lang: Lang, uploads: int) -> str:
    """The chat answer to an edit while the timeline is empty."""
    if uploads:
        return _pick(rng, "first_uploads", lang, count=_files(uploads, lang))
    return _pick(rng, "first", lang)


def help_reply(rng: random.Random, lang: Lang, tracks: int) -> str:
    """The chat answer to anything that is neither a generation nor an edit."""
    if not tracks:
        return _pick(rng, "help_empty", lang)
    counted = f"{tracks}条轨道" if lang == "zh" else f"{tracks} track{'s' * (tracks != 1)}"
    return _pick(rng, "help_draft", lang, tracks=counted)


def readable(filename: typing.Any, fallback: str = "clip") -> str:
    """``"city_timelapse.mp4"`` → ``"city timelapse"``: the label the web editor shows for an upload."""
    stem = str(filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return " ".join(re.sub(r"[_\-.]+", " ", stem).split()) or fallback


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
