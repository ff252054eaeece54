"""The wording of the agent's replies: every sentence it answers with, and how sentences are put together.

The sentences talk as if the user sat in front of the web editor (click Export, open the Timeline panel, drag the
title), because that is how the real backend talks and a client must translate it. Each situation has a few
wordings; the caller's seeded ``random.Random`` picks one. The table is a plain text block, one entry a line, so
that a wording can be read and changed without reading code.
"""

from __future__ import annotations

import random
import typing
from collections.abc import Mapping, Sequence

from nemo_contract.protocol import TrackType
from nemo_contract.protocol import fields as f
from nemo_contract.protocol.shapes import segments_of, tracks_of

from .draft import SFX_SUFFIX, track_kind
from .reading import Lang

__all__ = [
    "MUSIC_PICKS",
    "SFX_PICKS",
    "SUBTITLE_PICKS",
    "TITLE_PICKS",
    "Fact",
    "edit_closing",
    "generate_first",
    "generation_closing",
    "generation_opening",
    "help_reply",
    "unchanged_reply",
    "unsupported_reply",
]

#: One thing an operation did (or why it did nothing): a wording key and the fields the wording shows.
Fact = tuple[str, dict[str, typing.Any]]

MUSIC_PICKS = ("Lo-fi", "Upbeat Pop", "Cinematic Strings", "Acoustic Morning")
TITLE_PICKS: Mapping[Lang, tuple[str, ...]] = {
    "en": ("Urban Dreams", "Golden Hour", "Into the Blue", "Small Moments", "Wanderlust", "City Lights"),
    "zh": ("城市之光", "夏日微风", "时光漫步", "追光者", "山海之间", "晨曦"),
}
#: Sound effect names; like music styles, they stay English in both languages.
SFX_PICKS = ("Whoosh", "Pop", "Ding", "Swoosh")
#: Subtitle lines: the emulator has no speech to transcribe, so lines follow one another from this list.
SUBTITLE_PICKS: Mapping[Lang, tuple[str, ...]] = {
    "en": (
        "Here we go.",
        "Take a look at this.",
        "This is my favourite part.",
        "Let's keep going.",
        "What a view!",
        "Almost there.",
        "And that's a wrap.",
    ),
    "zh": ("出发啦！", "看看这里。", "这是我最喜欢的部分。", "我们继续。", "风景真美！", "快到了。", "今天就到这里。"),
}
_LOOKS = {("grayscale", "en"): "black-and-white", ("sepia", "en"): "sepia", ("grayscale", "zh"): "黑白"}
_LOOKS[("sepia", "zh")] = "复古"
_WHERE_ZH = {"start": "开头", "end": "结尾"}
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
title/en set the title to "{words}" ({span}) | added the title "{words}" ({span})
title/zh 把标题设为“{words}”（{span}） | 添加了标题“{words}”（{span}）
trim/en trimmed the video to {secs}s | cut the video down to {secs}s
trim/zh 把视频剪到了{secs}秒 | 把时长缩短为{secs}秒
aspect/en switched the canvas to {ratio} ({width}x{height}) | changed the aspect ratio to {ratio} ({width}x{height})
aspect/zh 把画布改成了{ratio}（{width}x{height}） | 把画幅切换为{ratio}（{width}x{height}）
transitions/en added "{transition}" transitions between the {clips} clips
transitions/en put a "{transition}" transition between each of the {clips} clips
transitions/zh 在{clips}个片段之间添加了“{transition}”转场
transitions_split/en split the clip in two and added a "{transition}" transition between the halves
transitions_split/zh 把片段一分为二，并在中间添加了“{transition}”转场
volume/en set the BGM volume to {pct}% | changed the BGM volume to {pct}%
volume/zh 把BGM音量调到了{pct}% | BGM音量已改为{pct}%
title_removed/en removed the title "{words}" | took the title "{words}" off the timeline
title_removed/zh 删除了标题“{words}” | 去掉了标题“{words}”
subtitles/en added subtitles: {lines} caption lines across the video ({span})
subtitles/en put {lines} subtitle lines on a new text track ({span})
subtitles/zh 添加了字幕：{lines}行字幕覆盖整段视频（{span}） | 在新的文字轨道上加了{lines}行字幕（{span}）
subtitles_removed/en removed the subtitles | took the subtitle track off the timeline
subtitles_removed/zh 删除了字幕 | 去掉了字幕轨道
sfx/en added a "{label}" sound effect at the {where} ({span}) | put a "{label}" sound effect at the {where} of the
  video ({span})
sfx/zh 在{where}添加了“{label}”音效（{span}） | 给视频{where}配上了“{label}”音效（{span}）
cut_end/en cut the last {cut}s off the video (now {secs}s) | removed the last {cut}s (the video is now {secs}s)
cut_end/zh 剪掉了最后{cut}秒（现在时长{secs}秒） | 去掉了结尾的{cut}秒（现时长{secs}秒）
speed_up/en sped {which} up to {factor}x (the video is now {secs}s) | made {which} play at {factor}x speed (now {secs}s)
speed_up/zh 把{which}加速到了{factor}倍（视频现在{secs}秒） | {which}已改为{factor}倍速播放（现时长{secs}秒）
slow_down/en slowed {which} down to {factor}x (the video is now {secs}s)
slow_down/zh 把{which}放慢到了{factor}倍速（视频现在{secs}秒）
speed_normal/en put {which} back to normal speed (now {secs}s)
speed_normal/zh 把{which}恢复为正常速度（现时长{secs}秒）
filter/en applied a {look} filter to the video | gave the whole video a {look} look
filter/zh 给视频加上了{look}滤镜 | 把整段视频调成了{look}效果
filter_removed/en removed the filter | put the video back in full color
filter_removed/zh 去掉了滤镜 | 把视频恢复成了彩色
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
note_same_title/en The title already says "{words}".
note_same_title/zh 标题已经是“{words}”了。
note_same_transitions/en Those transitions are already in place.
note_same_transitions/zh 这些转场已经加好了。
note_same_volume/en The BGM is already at {pct}%.
note_same_volume/zh BGM音量已经是{pct}%了。
note_no_title/en There's no title on the timeline to remove.
note_no_title/zh 时间线上没有可删除的标题。
note_no_video_subtitles/en There's no video on the timeline to put subtitles on.
note_no_video_subtitles/zh 时间线上没有视频，无法添加字幕。
note_same_subtitles/en The video already has subtitles; you can edit their text in the Timeline panel.
note_same_subtitles/zh 视频已经有字幕了，可以在时间线面板中修改字幕文字。
note_no_subtitles/en There are no subtitles on the timeline to remove.
note_no_subtitles/zh 时间线上没有可删除的字幕。
note_cut_too_long/en The video is only {current}s long, so cutting {cut}s would leave nothing.
note_cut_too_long/zh 视频只有{current}秒，剪掉{cut}秒就什么都不剩了。
note_no_clip/en There's no such clip on the video track; open the Timeline panel to see the clips.
note_no_clip/zh 视频轨道上没有这个片段，打开时间线面板可以查看所有片段。
note_same_speed/en That already plays at {factor}x.
note_same_speed/zh 已经是{factor}倍速了。
note_speed_too_long/en Slowing it down that much would make the video longer than 30 minutes.
note_speed_too_long/zh 放慢后视频会超过30分钟，无法这样调整。
note_no_video_filter/en There's no video on the timeline to put a filter on.
note_no_video_filter/zh 时间线上没有视频，无法添加滤镜。
note_same_filter/en The video already has the {look} filter.
note_same_filter/zh 视频已经是{look}滤镜了。
note_no_filter/en There's no filter on the video to remove.
note_no_filter/zh 视频上没有可去掉的滤镜。
note_unsupported_effect/en I can't add 3D, hologram or other special effects like that to the video.
note_unsupported_effect/zh 我暂时无法给视频添加3D、全息之类的特效。
note_unsupported_face/en I can't change what the people in your footage do or how they look.
note_unsupported_face/zh 我无法改变视频里人物的动作或样貌。
note_unsupported_voice/en I can't change voices or add a voiceover.
note_unsupported_voice/zh 我暂时无法变声或添加配音。
cannot/en You can still rearrange or replace clips yourself in the Timeline panel, or ask me for music, subtitles,
  a sound effect, transitions or a black-and-white look, then click Export.
cannot/en Open the Timeline panel to edit that part by hand; I can add music, a title, subtitles or a sound
  effect, change a clip's speed, trim the video or switch the aspect ratio.
cannot/zh 你可以在时间线面板中自己调整或替换片段，也可以让我加音乐、字幕、音效、转场或黑白滤镜，完成后点击导出。
cannot/zh 可以打开时间线面板手动编辑这一部分；我能帮你加音乐、标题、字幕或音效，调整片段速度，剪短视频或切换画幅。
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
  music, subtitles or a sound effect, change the title, add transitions, trim it or switch the aspect ratio. Click
  Export when you're done.
help_draft/en Happy to help! Ask me to add music, set a title, trim the video or make it vertical. Preview it in
  the timeline, and click Export to save it.
help_draft/zh 当前时间线有{tracks}，打开时间线面板即可预览。我可以帮你加背景音乐、字幕或音效、改标题、加转场、剪短时长或
  切换画幅，完成后点击导出。
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
    """Milliseconds the way the track summary prints seconds: ``10000`` → ``10``, ``7500`` → ``7.5``.

    The client's summary has its own (``nemo_contract._summary.seconds``); the emulator imports no client module.
    """
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
    for key in ("secs", "current", "cut"):  # lengths travel as ms
        if key in shown:
            shown[key] = _seconds(shown[key])
    if "which" in shown:
        shown["which"] = _which(shown["which"], lang)
    if "factor" in shown:
        shown["factor"] = f"{shown['factor']:g}"
    if "look" in shown:
        shown["look"] = _LOOKS.get((shown["look"], lang), shown["look"])
    if lang == "zh" and "where" in shown:
        shown["where"] = _WHERE_ZH.get(shown["where"], shown["where"])
    if lang == "zh" and "transition" in shown:
        shown["transition"] = _TRANSITION_ZH.get(shown["transition"], shown["transition"])
    return shown


def _which(index: int | None, lang: Lang) -> str:
    """The clip an operation was about, in words: "the first clip", "clip 3", "the last clip", "the video"."""
    if index is None:
        return "整段视频" if lang == "zh" else "the video"
    if index < 0:
        return "最后一个片段" if lang == "zh" else "the last clip"
    if lang == "zh":
        return f"第{index + 1}个片段"
    return "the first clip" if index == 0 else f"clip {index + 1}"


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


def unsupported_reply(rng: random.Random, lang: Lang, kinds: Sequence[str]) -> str:
    """The chat answer to edits the agent cannot do: says so, then what the user can do instead (in GUI words)."""
    return _sentences(
        [*_notes(rng, lang, [("unsupported_" + kind, {}) for kind in kinds]), _pick(rng, "cannot", lang)], lang
    )


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
    for track in tracks_of(draft):
        segments = segments_of(track)
        first, more = segments[0], len(segments) - 1
        if track[f.TRACK_TYPE] == TrackType.VIDEO:
            if zh:
                parts.append(f"视频“{first[f.LABEL]}”" + (f"等{len(segments)}个片段" if more else ""))
            else:
                clips = f" plus {more} more clip{'s' * (more > 1)}" if more else ""
                parts.append(f'video "{first[f.LABEL]}"' + clips)
        elif track_kind(track) == "effects":
            name = first[f.LABEL].removesuffix(SFX_SUFFIX)
            parts.append(f"音效“{name}”" if zh else f'sound effect "{name}"')
        elif track_kind(track) == "subtitles":
            parts.append(f"{len(segments)}行字幕" if zh else f"{len(segments)} subtitle line{'s' * bool(more)}")
        elif track[f.TRACK_TYPE] == TrackType.AUDIO:
            pct = round(float(first.get(f.VOLUME, 1.0)) * 100)
            parts.append(f"BGM“{first[f.LABEL]}”（音量{pct}%）" if zh else f'BGM "{first[f.LABEL]}" at {pct}%')
        else:
            caption = first.get(f.CAPTION, "")
            parts.append(f"标题“{caption}”" if zh else f'title "{caption}"')
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
